package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

func f64(v float64) *float64 { return &v }

var memColumns = []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol}, {Name: "mem", Type: qconnect.Long}}

// TestParseValid checks every field of every method of a catalog that uses
// the whole documented format.
func TestParseValid(t *testing.T) {
	const file = "testdata/valid/monitor.yaml"
	c, err := Load(file, Defaults{Backend: "flagBackend", Timeout: time.Minute, RowCap: 5})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	pos := func(decl string) qconnect.Position { // the line declaring a method
		i := strings.Index(string(data), "\n      "+decl+":\n")
		return qconnect.Position{File: file, Line: strings.Count(string(data[:i]), "\n") + 2}
	}
	query := func(from string) string { // the literal block as YAML yields it
		i := strings.Index(string(data), from)
		block := string(data)[i:strings.Index(string(data), "        timeout: 10s")]
		return strings.ReplaceAll(block, "\n          ", "\n")
	}
	want := []*qconnect.Method{
		{Group: "monPublic", Name: "getMem", Pos: pos("getMem"),
			Description: "Raw memory samples with start <= time < end, ordered by time then sym.",
			Params: []qconnect.Param{
				{Name: "start", Type: qconnect.Timestamp, DefaultDoc: "one hour before end", Description: "Start of the window (inclusive)."},
				{Name: "end", Type: qconnect.Timestamp, DefaultDoc: "now"},
				{Name: "syms", Type: qconnect.Symbol, List: true, MaxLen: 100, Enum: []string{"server_A", "server_B"}},
				{Name: "bucket", Type: qconnect.Timespan, Default: 5 * time.Minute, Min: f64(1), Max: f64(3600)},
			},
			Columns: memColumns,
			Backend: "duckdb", Query: query("SELECT time, sym, mem"), Timeout: 10 * time.Second, RowCap: 100000},
		{Group: "monPublic", Name: "kinds", Pos: pos("kinds"),
			Description: "One parameter of every type, with literal defaults.",
			Params: []qconnect.Param{
				{Name: "flag", Type: qconnect.Boolean, Default: true},
				{Name: "limit", Type: qconnect.Long, Default: int64(1000), Min: f64(1), Max: f64(100000)},
				{Name: "ratio", Type: qconnect.Float, Default: 0.5, Min: f64(0), Max: f64(1)},
				{Name: "label", Type: qconnect.String, Default: "10", MaxLen: 20},
				{Name: "sym", Type: qconnect.Symbol, Required: true, Enum: []string{"a", "b"}},
				{Name: "at", Type: qconnect.Timestamp, Default: time.Date(2019, 7, 26, 9, 0, 0, 0, time.UTC)},
				{Name: "day", Type: qconnect.Date, Default: time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC)},
				{Name: "span", Type: qconnect.Timespan, Default: 90 * time.Minute},
				{Name: "opts", Type: qconnect.Dict, Default: map[string]any{"depth": json.Number("2"), "tags": []any{"x"}}},
				{Name: "ids", Type: qconnect.Long, List: true, Default: []any{int64(1), int64(2), int64(3)}},
				{Name: "one", Type: qconnect.Symbol, List: true, Default: []any{"a"}},
				{Name: "none", Type: qconnect.Long}, // default: null is no default
			},
			Columns: memColumns,
			Backend: "other", Query: "SELECT $flag, $limit, $ratio, $label, $sym, $at, $day, $span, $opts, $ids, $one, $none",
			Timeout: 30 * time.Second, RowCap: 1000000},
		{Group: "monStream", Name: "sub", Pos: pos("sub"), Description: "Live memory samples.",
			Params:  []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}},
			Columns: memColumns, Backend: "duckdb", Timeout: 30 * time.Second, RowCap: 1000000,
			Streaming: true, Stream: &qconnect.StreamSpec{Table: "monMem", Key: "sym", Filters: map[string]string{"syms": "sym"},
				Snapshot: "SELECT * FROM monMem WHERE ($syms IS NULL OR list_contains($syms, sym))", Conflate: 250 * time.Millisecond}},
		{Group: "monStream", Name: "pubMem", Pos: pos("pubMem"),
			Columns: memColumns, Backend: "duckdb", Timeout: 30 * time.Second, RowCap: 1000000,
			Publish: true, Stream: &qconnect.StreamSpec{Table: "monMem"}},
	}
	if len(c.Methods) != len(want) {
		t.Fatalf("%d methods, want %d", len(c.Methods), len(want))
	}
	for i, m := range c.Methods {
		if !reflect.DeepEqual(m, want[i]) {
			t.Errorf("method %d:\n got %#v\nwant %#v", i, m, want[i])
		}
	}
	if m, ok := c.Lookup("monStream", "sub"); !ok || m != c.Methods[2] {
		t.Errorf("Lookup(monStream, sub) = %v, %v", m, ok)
	}
	// The default of a list parameter is what a caller gets without sending it.
	got, err := qconnect.BindParams(c.Methods[1], []json.RawMessage{json.RawMessage(`{"sym":"a"}`)})
	if err != nil || !reflect.DeepEqual(got["ids"], []any{int64(1), int64(2), int64(3)}) {
		t.Errorf("BindParams with catalog defaults = %v, %v", got, err)
	}
}

// TestDefaultsPrecedence: the method's own setting, then the file's
// defaults: block, then Defaults, then the documented zero values.
func TestDefaultsPrecedence(t *testing.T) {
	const base = "groups:\n  g:\n    methods:\n      m:\n        columns: [{name: x, type: long}]\n        query: SELECT 1 AS x\n"
	tests := []struct {
		name string
		yaml string
		def  Defaults
		want [3]any // backend, timeout, rowCap
	}{
		{"zero values", base, Defaults{}, [3]any{"duckdb", time.Duration(0), int64(0)}},
		{"caller defaults", base, Defaults{Backend: "kdb", Timeout: time.Second, RowCap: 9}, [3]any{"kdb", time.Second, int64(9)}},
		{"file over caller", "defaults: {backend: file, timeout: 2s, rowCap: 8}\n" + base,
			Defaults{Backend: "kdb", Timeout: time.Second, RowCap: 9}, [3]any{"file", 2 * time.Second, int64(8)}},
		{"file sets only one", "defaults: {rowCap: 8}\n" + base,
			Defaults{Backend: "kdb", Timeout: time.Second, RowCap: 9}, [3]any{"kdb", time.Second, int64(8)}},
		{"method over file", "defaults: {backend: file, timeout: 2s, rowCap: 8}\n" + base + "        backend: own\n        timeout: 3s\n        rowCap: 7\n",
			Defaults{}, [3]any{"own", 3 * time.Second, int64(7)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), "t.yaml", tc.def)
			if err != nil {
				t.Fatal(err)
			}
			m := c.Methods[0]
			if got := [3]any{m.Backend, m.Timeout, m.RowCap}; got != tc.want {
				t.Errorf("backend, timeout, rowCap = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := Parse([]byte(base), "t.yaml", Defaults{Timeout: -1}); err == nil {
		t.Error("a negative Defaults.Timeout was accepted")
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), Defaults{})
	if err == nil || !strings.Contains(err.Error(), "cannot read the catalog") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big, Defaults{}); err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") {
		t.Errorf("Load(big) = %v", err)
	}
}

// TestManyProblemsBounded: the error of a hopeless file stays bounded.
func TestManyProblemsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("groups:\n  g:\n    methods:\n")
	for i := range 150 {
		fmt.Fprintf(&b, "      m%d: {}\n", i)
	}
	_, err := Parse([]byte(b.String()), "many.yaml", Defaults{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	// Each method lacks columns and a query: 300 problems.
	if len(e.Problems) != maxProblems || e.Omitted != 200 {
		t.Errorf("%d problems listed and %d omitted, want %d and 200", len(e.Problems), e.Omitted, maxProblems)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != maxProblems+1 {
		t.Errorf("error has %d lines, want %d", lines, maxProblems+1)
	}
}

func TestSQLRefs(t *testing.T) {
	q := "SELECT $a, $b_2, $1, '$no', 'it''s $no', \"$no\", $$ $no $$ -- $no\n/* $no */ $c+$a"
	var got []string
	for _, r := range sqlRefs(q) {
		got = append(got, r.name)
		if q[r.offset:r.offset+1+len(r.name)] != "$"+r.name {
			t.Errorf("offset %d of %s is wrong", r.offset, r.name)
		}
	}
	if want := []string{"a", "b_2", "c", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sqlRefs = %v, want %v", got, want)
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"rowcap", "rowCap"}, {"qeury", "query"}, {"colums", "columns"}, {"sting", "string"}, {"zzzzzz", ""}, {"x", ""},
	} {
		if got := suggest(tc.in, append(methodKeys, paramTypeNames...)); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
