package apidoc

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// TestParamJSONRoundTrip checks that the JSON form written for a default is
// read back by the domain's parameter conversion as the same value.
func TestParamJSONRoundTrip(t *testing.T) {
	ts := time.Date(2019, 7, 26, 9, 0, 0, 500_000_000, time.UTC)
	cases := []struct {
		p    qconnect.Param
		v    any
		want string
	}{
		{qconnect.Param{Type: qconnect.Boolean}, false, `false`},
		{qconnect.Param{Type: qconnect.Long}, int64(-42), `-42`},
		{qconnect.Param{Type: qconnect.Float}, 0.1, `0.1`},
		{qconnect.Param{Type: qconnect.Float}, 1e21, `1e+21`},
		{qconnect.Param{Type: qconnect.String}, `a "quoted" <b>`, `"a \"quoted\" <b>"`},
		{qconnect.Param{Type: qconnect.Symbol}, "server_A", `"server_A"`},
		{qconnect.Param{Type: qconnect.Timestamp}, ts, `"2019-07-26T09:00:00.5Z"`},
		{qconnect.Param{Type: qconnect.Date}, time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC), `"2019-07-26"`},
		{qconnect.Param{Type: qconnect.Timespan}, 5 * time.Minute, `"5m"`},
		{qconnect.Param{Type: qconnect.Timespan}, time.Hour, `"1h"`},
		{qconnect.Param{Type: qconnect.Timespan}, 90 * time.Minute, `"1h30m"`},
		{qconnect.Param{Type: qconnect.Timespan}, -1500 * time.Millisecond, `"-1.5s"`},
		{qconnect.Param{Type: qconnect.Timespan}, time.Duration(0), `"0s"`},
		{qconnect.Param{Type: qconnect.Symbol, List: true}, []any{"a", "b"}, `["a","b"]`},
		{qconnect.Param{Type: qconnect.Long, List: true}, []any{int64(1), int64(2)}, `[1,2]`},
		{qconnect.Param{Type: qconnect.Timestamp, List: true}, []any{ts}, `["2019-07-26T09:00:00.5Z"]`},
		{qconnect.Param{Type: qconnect.Dict}, map[string]any{"b": json.Number("1"), "a": "x"}, `{"a":"x","b":1}`},
	}
	for _, c := range cases {
		c.p.Name = "p"
		j, err := paramJSON(c.p, c.v)
		if err != nil {
			t.Errorf("%s %v: %v", c.p.TypeName(), c.v, err)
			continue
		}
		b, err := marshal(j, false)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%s %v: JSON %s, want %s", c.p.TypeName(), c.v, b, c.want)
		}
		back, err := qconnect.ConvertValue(c.p, b)
		if err != nil {
			t.Errorf("%s: the server rejects %s: %v", c.p.TypeName(), b, err)
			continue
		}
		if !reflect.DeepEqual(back, c.v) {
			t.Errorf("%s: %s reads back as %#v, want %#v", c.p.TypeName(), b, back, c.v)
		}
	}
}

func TestParamJSONMismatch(t *testing.T) {
	for _, c := range []struct {
		p qconnect.Param
		v any
	}{
		{qconnect.Param{Type: qconnect.Long}, "10"},
		{qconnect.Param{Type: qconnect.Timestamp}, "2019-07-26"},
		{qconnect.Param{Type: qconnect.Timespan}, int64(5)},
		{qconnect.Param{Type: qconnect.Float}, nanValue()},
		{qconnect.Param{Type: qconnect.Symbol, List: true}, []any{1}},
	} {
		if j, err := paramJSON(c.p, c.v); err == nil {
			t.Errorf("%s default %#v: got %v, want an error", c.p.TypeName(), c.v, j)
		}
	}
}

func nanValue() float64 { var z float64; return z / z }

// TestNewRejectsBadDeclaration: a default that is not of its declared type
// fails New with the method, its position and what to do.
func TestNewRejectsBadDeclaration(t *testing.T) {
	m := &qconnect.Method{Group: "g", Name: "m", Pos: qconnect.Position{File: "cat.yaml", Line: 12},
		Params: []qconnect.Param{{Name: "n", Type: qconnect.Long, Default: "ten"}}}
	cat, err := qconnect.NewCatalog([]*qconnect.Method{m})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cat, Options{})
	if err == nil {
		t.Fatal("New accepted a long parameter whose default is a string")
	}
	for _, want := range []string{"cat.yaml:12", "g/m", `"n"`, "fix the catalog"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	m.Params[0] = qconnect.Param{Name: "x", Type: "money"}
	if _, err = New(cat, Options{}); err == nil || !strings.Contains(err.Error(), "money") {
		t.Errorf("unknown type: err = %v", err)
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New accepted a nil catalog")
	}
}

// TestTimespanPattern compares the OpenAPI pattern with the server's own
// conversion on the forms of PROTOCOL 4.2.
func TestTimespanPattern(t *testing.T) {
	re := regexp.MustCompile(timespanParamPattern)
	p := qconnect.Param{Name: "span", Type: qconnect.Timespan}
	for _, s := range []string{"0", "90s", "1h30m", "-5m", "+5m", "1.5h", ".5s", "300ms", "1us", "2µs", "10ns",
		"PT1H30M", "P1DT2H", "PT0.5S", "P2W", "-PT1M", "pt1m", "P1D",
		"", "five", "5", "1d", "P1Y", "P1M", "PT1.5M", "1h 30m", "--5m", "5m ", "PT1H30M5"} {
		_, err := qconnect.ConvertValue(p, []byte(`"`+s+`"`))
		if got, want := re.MatchString(s), err == nil; got != want {
			t.Errorf("%q: pattern matches = %v, server accepts = %v", s, got, want)
		}
	}
}

func TestExampleValues(t *testing.T) {
	cat := handCatalog(t)
	m, _ := cat.Lookup("monPublic", "allTypes")
	ex, err := exampleParams(m)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := marshal(ex, false)
	want := `{"flag":true,"count":3,"ratio":0.25,"label":"exam","side":"buy","day":"2019-07-26",` +
		`"days":["2019-07-26","2019-07-27"],"window":"1h","ids":[10],"tags":["a'b","c"],"until":"2019-07-26T16:00:00Z"}`
	if string(js) != want {
		t.Errorf("allTypes example\n got %s\nwant %s", js, want)
	}
	m, _ = cat.Lookup("monPublic", "getMem")
	ex, _ = exampleParams(m)
	js, _ = marshal(ex, false)
	// start and end have server-computed defaults (defaultDoc): left out.
	if want := `{"syms":["server_A"],"bucket":"5m"}`; string(js) != want {
		t.Errorf("getMem example\n got %s\nwant %s", js, want)
	}
	// With a clock, times without a default fall in the last full hour
	// (and the day) before it, where a live gateway has data.
	m, _ = cat.Lookup("monPublic", "allTypes")
	now := time.Date(2026, 11, 30, 10, 17, 5, 0, time.UTC)
	ex, _ = exampleParamsIn(m, windowAt(now))
	js, _ = marshal(ex, false)
	for _, want := range []string{`"day":"2026-11-29"`, `"until":"2026-11-30T10:00:00Z"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("allTypes example at %s lacks %s: %s", now, want, js)
		}
	}
}

// TestCommandLineQuoting runs the generated --params argument through a
// real POSIX shell: it must arrive as the exact JSON, quotes included.
func TestCommandLineQuoting(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH; the quoting test needs a POSIX shell")
	}
	m, _ := handCatalog(t).Lookup("monPublic", "allTypes")
	ex, _ := exampleParams(m)
	line, err := commandLine(m, ex, defaultLogin)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "qconnect call localhost:8080 <user> <password> monPublic/allTypes --params "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("command line %q does not start with %q", line, prefix)
	}
	out, err := exec.Command(sh, "-c", "printf %s "+strings.TrimPrefix(line, prefix)).Output()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := marshal(ex, false)
	if string(out) != string(want) {
		t.Errorf("the shell passes %s, want %s", out, want)
	}
	if !strings.Contains(line, `'\''`) {
		t.Error("the example's single quote was not escaped for the shell")
	}
	m, _ = handCatalog(t).Lookup("marketData", "listSyms")
	ex, _ = exampleParams(m)
	if line, _ := commandLine(m, ex, defaultLogin); line != "qconnect call localhost:8080 <user> <password> marketData/listSyms" {
		t.Errorf("no-parameter command line = %q", line)
	}
}

// TestPrettyEnvelope: the shown examples are valid JSON equal to the compact form.
func TestPrettyEnvelope(t *testing.T) {
	for _, m := range handCatalog(t).Methods {
		ex, _ := exampleParams(m)
		for _, env := range []*object{exampleEnvelope(m, ex), subscribeFrame(m, ex)} {
			pretty, err := prettyEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			compact, _ := marshal(env, false)
			var a, b any
			if err := json.Unmarshal([]byte(pretty), &a); err != nil {
				t.Fatalf("%s: not JSON: %v\n%s", m.FullName(), err, pretty)
			}
			json.Unmarshal(compact, &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s: pretty and compact differ:\n%s\n%s", m.FullName(), pretty, compact)
			}
		}
	}
	m, _ := handCatalog(t).Lookup("monPublic", "getMem")
	ex, _ := exampleParams(m)
	got, _ := prettyEnvelope(exampleEnvelope(m, ex))
	want := `{
  "type": "getMemReq",
  "id": "e133598e-7b9e-429a-b3e5-bda881c47024",
  "date": "Fri, 26 Jul 2019 16:59:00 GMT",
  "msg": [{
    "syms": ["server_A"],
    "bucket": "5m"
  }]
}`
	if got != want {
		t.Errorf("getMem example:\n%s\nwant\n%s", got, want)
	}
}
