package qconnect

import (
	"encoding/json"
	"testing"
)

func TestClosest(t *testing.T) {
	names := []string{"monPublic/getMem", "monPublic/getMemBucketed", "marketData/getVwap", "marketData/getTrades"}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"monPublic/getMemBuckted", "monPublic/getMemBucketed", true},
		{"marketData/getvwap", "marketData/getVwap", true},     // case only
		{"marketData/getTrdaes", "marketData/getTrades", true}, // transposition
		{"monPublic/getMem", "", false},                        // equal is no suggestion
		{"other/thing", "", false},                             // nothing close
		{"", "", false},
	} {
		got, ok := Closest(c.in, names)
		if got != c.want || ok != c.ok {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if got, ok := Closest("sym", []string{"start", "end", "syms"}); !ok || got != "syms" {
		t.Errorf("Closest(sym) = %q, %v; want syms", got, ok)
	}
	if _, ok := Closest("x", []string{"start", "end"}); ok {
		t.Error("a one-letter name was matched to an unrelated parameter")
	}
}

func TestBindParamsSuggestsParameter(t *testing.T) {
	m := &Method{Group: "g", Name: "m", Params: []Param{{Name: "start", Type: Timestamp}, {Name: "syms", Type: Symbol, List: true}}}
	_, err := BindParams(m, []json.RawMessage{[]byte(`{"sym":["a"],"zzz":1}`)})
	e, ok := err.(*Error)
	if !ok || len(e.Details) != 2 {
		t.Fatalf("err = %v", err)
	}
	if want := "sym: unknown parameter; did you mean syms? this method takes start, syms"; e.Details[0] != want {
		t.Errorf("details[0] = %q, want %q", e.Details[0], want)
	}
	if e.Details[1] != "zzz: unknown parameter; this method takes start, syms" {
		t.Errorf("details[1] = %q: no suggestion expected", e.Details[1])
	}
}
