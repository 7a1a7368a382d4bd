package qconnect

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func f64(v float64) *float64 { return &v }

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestConvertValue covers every declared type: accepted JSON and the Go value
// it becomes (the package doc's convention), and rejected JSON with the exact
// message a caller sees.
func TestConvertValue(t *testing.T) {
	long := Param{Name: "n", Type: Long}
	str := Param{Name: "s", Type: String}
	ts := Param{Name: "t", Type: Timestamp}
	span := Param{Name: "d", Type: Timespan}
	tests := []struct {
		p    Param
		raw  string
		want any
		err  string
	}{
		{Param{Name: "b", Type: Boolean}, `true`, true, ""},
		{Param{Name: "b", Type: Boolean}, `false`, false, ""},
		{Param{Name: "b", Type: Boolean}, `"true"`, nil, `b: expected true or false, got a string`},
		{Param{Name: "b", Type: Boolean}, `1`, nil, `b: expected true or false, got a number`},

		{long, `42`, int64(42), ""},
		{long, `-7`, int64(-7), ""},
		{long, `9223372036854775807`, int64(9223372036854775807), ""},
		{long, `-9223372036854775808`, int64(-9223372036854775808), ""},
		{long, `9007199254740993`, int64(9007199254740993), ""}, // not representable as float64
		{long, `1.0`, int64(1), ""},
		{long, `1e3`, int64(1000), ""},
		{long, `1.5E1`, int64(15), ""},
		{long, `2500e-2`, int64(25), ""},
		{long, `0e99999999999`, int64(0), ""},
		{long, `-0.0`, int64(0), ""},
		{long, `1.5`, nil, `n: 1.5 is not an integer; send a whole number`},
		{long, `1e-3`, nil, `n: 1e-3 is not an integer; send a whole number`},
		{long, `9223372036854775808`, nil, `n: 9223372036854775808 is out of range for a long (-9223372036854775808 to 9223372036854775807)`},
		{long, `1e19`, nil, `n: 1e19 is out of range for a long (-9223372036854775808 to 9223372036854775807)`},
		{long, `1e999999999999`, nil, `n: 1e999999999999 is out of range for a long (-9223372036854775808 to 9223372036854775807)`},
		{long, `"42"`, nil, `n: expected an integer, got a string`},
		{Param{Name: "limit", Type: Long, Min: f64(1), Max: f64(1000)}, `0`, nil, `limit: 0 is below the minimum 1`},
		{Param{Name: "limit", Type: Long, Min: f64(1), Max: f64(1000)}, `1001`, nil, `limit: 1001 is above the maximum 1000`},
		{Param{Name: "limit", Type: Long, Min: f64(1), Max: f64(1000)}, `1000`, int64(1000), ""}, // bounds are inclusive
		{Param{Name: "limit", Type: Long, Min: f64(1), Max: f64(1000)}, `1`, int64(1), ""},

		{Param{Name: "x", Type: Float}, `1`, 1.0, ""},
		{Param{Name: "x", Type: Float}, `-2.5e-3`, -0.0025, ""},
		{Param{Name: "x", Type: Float}, `1e-400`, 0.0, ""},
		{Param{Name: "x", Type: Float}, `1e400`, nil, `x: 1e400 is out of range for a float`},
		{Param{Name: "x", Type: Float}, `"NaN"`, nil, `x: expected a number, got a string`},
		{Param{Name: "x", Type: Float, Min: f64(0.5)}, `0.25`, nil, `x: 0.25 is below the minimum 0.5`},
		{Param{Name: "x", Type: Float, Min: f64(0.5)}, `0.5`, 0.5, ""},

		{str, `"héllo"`, "héllo", ""},
		{str, `""`, "", ""},
		{str, `5`, nil, `s: expected a string, got a number`},
		{Param{Name: "s", Type: String, MaxLen: 3}, `"héé"`, "héé", ""}, // characters, not bytes
		{Param{Name: "s", Type: String, MaxLen: 3}, `"abcd"`, nil, `s: 4 characters exceed the maximum of 3`},
		{Param{Name: "sym", Type: Symbol, Enum: []string{"server_A", "server_B"}}, `"server_B"`, "server_B", ""},
		{Param{Name: "sym", Type: Symbol, Enum: []string{"server_A", "server_B"}}, `"server_X"`, nil, `sym: "server_X" is not allowed; use one of server_A, server_B`},
		{Param{Name: "sym", Type: Symbol}, `{}`, nil, `sym: expected a symbol, got an object`},

		{ts, `"2019-07-26T09:00:00Z"`, utc("2019-07-26T09:00:00Z"), ""},
		{ts, `"2019-07-26T09:00:00.5Z"`, utc("2019-07-26T09:00:00.5Z"), ""},
		{ts, `"2019-07-26T09:00:00.123456789Z"`, utc("2019-07-26T09:00:00.123456789Z"), ""},
		{ts, `"2019-07-26T09:00:00"`, utc("2019-07-26T09:00:00Z"), ""},
		{ts, `"2019-07-26t09:00:00z"`, utc("2019-07-26T09:00:00Z"), ""},
		{ts, `"2019-07-26 09:00:00.25"`, utc("2019-07-26T09:00:00.25Z"), ""},
		{ts, `"2019-07-26T11:30:00+02:30"`, utc("2019-07-26T09:00:00Z"), ""},
		{ts, `"yesterday"`, nil, `t: "yesterday" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`},
		{ts, `"2019-07-26"`, nil, `t: "2019-07-26" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`},
		{ts, `"2019-07-26T9:00:00Z"`, nil, `t: "2019-07-26T9:00:00Z" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`},
		{ts, `"2019-02-30T09:00:00Z"`, nil, `t: "2019-02-30T09:00:00Z" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`},
		{ts, `"2019-07-26T09:00:00+24:00"`, nil, `t: "2019-07-26T09:00:00+24:00" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`},
		{ts, `"2019-07-26T09:00:00.1234567891Z"`, nil, `t: "2019-07-26T09:00:00.1234567891Z" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z); use at most 9 fraction digits`},
		{ts, `"0001-01-01T00:00:00Z"`, nil, `t: "0001-01-01T00:00:00Z" is outside the supported range 1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z`},
		{ts, `"2019-07-26T09:00:00.Z"`, nil, `t: "2019-07-26T09:00:00.Z" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`},
		{ts, `"2019-07-26T09:00:00+0200"`, nil, `t: "2019-07-26T09:00:00+0200" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`},
		{ts, `"2019-07-26 11:30:00-02:30"`, utc("2019-07-26T14:00:00Z"), ""},
		{ts, `1564131600`, nil, `t: expected a timestamp string like "2019-07-26T09:00:00Z", got a number`},
		{ts, `"` + strings.Repeat("x", 100) + `"`, nil, `t: "` + strings.Repeat("x", 40) + `"… is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`},

		{Param{Name: "day", Type: Date}, `"2019-07-26"`, utc("2019-07-26T00:00:00Z"), ""},
		{Param{Name: "day", Type: Date}, `"2019-7-26"`, nil, `day: "2019-7-26" is not a date of the form YYYY-MM-DD (e.g. 2019-07-26)`},
		{Param{Name: "day", Type: Date}, `"2019-07-26T00:00:00Z"`, nil, `day: "2019-07-26T00:00:00Z" is not a date of the form YYYY-MM-DD (e.g. 2019-07-26)`},

		{span, `"90s"`, 90 * time.Second, ""},
		{span, `"1h30m"`, 90 * time.Minute, ""},
		{span, `"-5m"`, -5 * time.Minute, ""},
		{span, `"PT1H30M"`, 90 * time.Minute, ""},
		{span, `"P1DT2H"`, 26 * time.Hour, ""},
		{span, `"P2W"`, 14 * 24 * time.Hour, ""},
		{span, `"PT0.5S"`, 500 * time.Millisecond, ""},
		{span, `"PT1.000000001S"`, time.Second + 1, ""},
		{span, `"-PT1M"`, -time.Minute, ""},
		{span, `"pt10s"`, 10 * time.Second, ""},
		{span, `"5 minutes"`, nil, `d: "5 minutes" is not a duration; use Go form (90s, 1h30m) or ISO 8601 (PT1H30M)`},
		{span, `"300"`, nil, `d: "300" is not a duration; use Go form (90s, 1h30m) or ISO 8601 (PT1H30M)`},
		{span, `"P"`, nil, `d: "P" is not a duration; use Go form (90s, 1h30m) or ISO 8601 (PT1H30M)`},
		{span, `"PT"`, nil, `d: "PT" is not a duration; use Go form (90s, 1h30m) or ISO 8601 (PT1H30M)`},
		{span, `"PT1S1M"`, nil, `d: "PT1S1M" is not a duration; use Go form (90s, 1h30m) or ISO 8601 (PT1H30M)`},
		{span, `"P1M"`, nil, `d: "P1M" uses years or months, which have no fixed length; use weeks or days (P30D)`},
		{span, `"PT1.5M"`, nil, `d: "PT1.5M" is not a duration; use Go form (90s, 1h30m) or ISO 8601 (PT1H30M); only seconds may have a fraction, of at most 9 digits`},
		{span, `"P999999999D"`, nil, `d: "P999999999D" is too long; the longest timespan is about 292 years`},
		{span, `90`, nil, `d: expected a duration string like "90s" or "PT1M30S", got a number`},
		{Param{Name: "bucket", Type: Timespan, Min: f64(1)}, `"500ms"`, nil, `bucket: 500ms is below the minimum 1s`},
		{Param{Name: "bucket", Type: Timespan, Max: f64(3600)}, `"PT2H"`, nil, `bucket: 2h0m0s is above the maximum 1h0m0s`},

		{Param{Name: "o", Type: Dict}, `{"a":1,"b":[true]}`, map[string]any{"a": json.Number("1"), "b": []any{true}}, ""},
		{Param{Name: "o", Type: Dict}, `[]`, nil, `o: expected an object, got a list`},

		{Param{Name: "syms", Type: Symbol, List: true}, `["a","b"]`, []any{"a", "b"}, ""},
		{Param{Name: "syms", Type: Symbol, List: true}, `"a"`, []any{"a"}, ""},
		{Param{Name: "syms", Type: Symbol, List: true}, `[]`, []any{}, ""},
		{Param{Name: "syms", Type: Symbol, List: true}, `5`, nil, `syms: expected a list of symbol, got a number`},
		{Param{Name: "syms", Type: Symbol, List: true}, `["a",5]`, nil, `syms[1]: expected a symbol, got a number`},
		{Param{Name: "syms", Type: Symbol, List: true}, `["a",null]`, nil, `syms[1]: expected a symbol, got null`},
		{Param{Name: "syms", Type: Symbol, List: true}, `[["a"]]`, nil, `syms[0]: expected a symbol, got a list`},
		{Param{Name: "syms", Type: Symbol, List: true, MaxLen: 2}, `["a","b","c"]`, nil, `syms: 3 elements exceed the maximum of 2; send fewer`},
		{Param{Name: "syms", Type: Symbol, List: true, MaxLen: 2}, `["abc","defgh"]`, []any{"abc", "defgh"}, ""}, // MaxLen bounds the list, not its strings
		{Param{Name: "syms", Type: Symbol, List: true, Enum: []string{"a"}}, `["a","z"]`, nil, `syms[1]: "z" is not allowed; use one of a`},
		{Param{Name: "syms", Type: Symbol, List: true, Enum: []string{"a"}}, `"z"`, nil, `syms: "z" is not allowed; use one of a`},
		{Param{Name: "ns", Type: Long, List: true, Min: f64(0)}, `[1,-1]`, nil, `ns[1]: -1 is below the minimum 0`},
		{Param{Name: "ts", Type: Timestamp, List: true}, `["2019-07-26T09:00:00Z"]`, []any{utc("2019-07-26T09:00:00Z")}, ""},

		{long, `null`, nil, ""},
		{long, `1 2`, nil, `n: not a JSON value`},
		{Param{Name: "q", Type: "blob"}, `1`, nil, `q: the declared type "blob" is not a parameter type (a catalog error)`},
	}
	for _, tc := range tests {
		t.Run(tc.p.TypeName()+"/"+tc.raw, func(t *testing.T) {
			got, err := ConvertValue(tc.p, json.RawMessage(tc.raw))
			if tc.err != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeInvalidParams || e.Message != tc.err {
					t.Fatalf("ConvertValue(%s) error = %v\n                  want message %s", tc.raw, err, tc.err)
				}
				if got != nil {
					t.Errorf("value %v returned with the error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ConvertValue(%s): %v", tc.raw, err)
			}
			if tt, ok := got.(time.Time); ok && tt.Location() != time.UTC {
				t.Errorf("time %v is not in UTC", tt)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ConvertValue(%s) = %#v, want %#v", tc.raw, got, tc.want)
			}
		})
	}
}

// getMem is the method of the PROTOCOL 3.2 example.
func getMem() *Method {
	return &Method{Group: "monPublic", Name: "getMem", Params: []Param{
		{Name: "start", Type: Timestamp},
		{Name: "end", Type: Timestamp, Required: true},
		{Name: "syms", Type: Symbol, List: true, MaxLen: 100, Enum: []string{"server_A", "server_B", "server_C"}},
		{Name: "limit", Type: Long, Default: int64(100), Min: f64(1)},
	}}
}

func msgOf(s string) []json.RawMessage {
	var msg []json.RawMessage
	if err := json.Unmarshal([]byte(s), &msg); err != nil {
		panic(err)
	}
	return msg
}

func TestBindParams(t *testing.T) {
	got, err := BindParams(getMem(), msgOf(`[{"start":"2019-07-26T09:00:00Z","end":"2019-07-26T16:00:00Z","syms":["server_A","server_B"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"start": utc("2019-07-26T09:00:00Z"),
		"end":   utc("2019-07-26T16:00:00Z"),
		"syms":  []any{"server_A", "server_B"},
		"limit": int64(100), // the default
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BindParams = %#v\nwant %#v", got, want)
	}

	// null means "not given": the default applies, or nil without one.
	got, err = BindParams(getMem(), msgOf(`[{"end":"2019-07-26T16:00:00","start":null,"limit":null,"syms":"server_C"}]`))
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]any{"start": nil, "end": utc("2019-07-26T16:00:00Z"), "syms": []any{"server_C"}, "limit": int64(100)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BindParams with nulls = %#v\nwant %#v", got, want)
	}

	noParams := &Method{Group: "g", Name: "m"}
	for _, msg := range []string{`[]`, `[{}]`} {
		got, err := BindParams(noParams, msgOf(msg))
		if err != nil || len(got) != 0 {
			t.Errorf("BindParams(no params, %s) = %v, %v; want an empty map", msg, got, err)
		}
	}
}

func TestBindParamsErrors(t *testing.T) {
	tests := []struct {
		name    string
		m       *Method
		msg     string
		details []string
		message string
	}{
		{"every problem, declaration order then unknown names sorted", getMem(),
			`[{"zeta":1,"start":"yesterday","colour":"red","syms":5,"limit":0}]`,
			[]string{
				`start: "yesterday" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)`,
				`end: required`,
				`syms: expected a list of symbol, got a number`,
				`limit: 0 is below the minimum 1`,
				`colour: unknown parameter; this method takes start, end, syms, limit`,
				`zeta: unknown parameter; this method takes start, end, syms, limit`,
			},
			`invalid parameters for monPublic/getMem: start: "yesterday" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z); end: required; syms: expected a list of symbol, got a number; and 3 more (see details)`},
		{"null for a required parameter", getMem(), `[{"end":null}]`,
			[]string{`end: required; null is not a value`},
			`invalid parameters for monPublic/getMem: end: required; null is not a value`},
		{"missing required with empty msg", getMem(), `[]`,
			[]string{`end: required`}, `invalid parameters for monPublic/getMem: end: required`},
		{"enum checked per element", getMem(), `[{"end":"2019-07-26T16:00:00Z","syms":["server_A","server_Z"]}]`,
			[]string{`syms[1]: "server_Z" is not allowed; use one of server_A, server_B, server_C`}, ""},
		{"unknown name that is not an identifier is quoted", getMem(), `[{"end":"2019-07-26T16:00:00Z","a b\n":1}]`,
			[]string{`"a b\n": unknown parameter; this method takes start, end, syms, limit`}, ""},
		{"method without parameters", &Method{Group: "g", Name: "m"}, `[{"x":1}]`,
			[]string{`x: unknown parameter; this method takes no parameters; send msg as []`}, ""},
		{"two elements", getMem(), `[{},{}]`,
			[]string{`msg must be [] or hold one object of parameters, like [{"name": value}]; got 2 elements`}, ""},
		{"element not an object", getMem(), `[["2019-07-26T09:00:00Z"]]`,
			[]string{`msg[0] must be an object of parameters, like [{"name": value}]; got a list`}, ""},
		{"null element", getMem(), `[null]`,
			[]string{`msg[0] must be an object of parameters, like [{"name": value}]; got null`}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BindParams(tc.m, msgOf(tc.msg))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("BindParams(%s) = %v, %v; want an *Error", tc.msg, got, err)
			}
			if e.Code != CodeInvalidParams {
				t.Errorf("code = %s, want invalidParams", e.Code)
			}
			if !reflect.DeepEqual(e.Details, tc.details) {
				t.Errorf("details:\n got %q\nwant %q", e.Details, tc.details)
			}
			if tc.message != "" && e.Message != tc.message {
				t.Errorf("message:\n got %s\nwant %s", e.Message, tc.message)
			}
			if got != nil {
				t.Errorf("values returned with the error: %v", got)
			}
		})
	}
}

// TestBindParamsBounded checks that a hostile call cannot make the error grow
// with its input.
func TestBindParamsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`[{`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%04d":1`, i)
	}
	b.WriteString(`}]`)
	_, err := BindParams(getMem(), msgOf(b.String()))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if len(e.Details) != maxParamProblems+1 {
		t.Fatalf("%d details, want %d", len(e.Details), maxParamProblems+1)
	}
	if got, want := e.Details[0], "end: required"; got != want {
		t.Errorf("first detail %q, want %q", got, want)
	}
	if got, want := e.Details[1], "k0000: unknown parameter; this method takes start, end, syms, limit"; got != want {
		t.Errorf("second detail %q, want %q", got, want)
	}
	if got, want := e.Details[maxParamProblems], "... and 981 more problems"; got != want {
		t.Errorf("last detail %q, want %q", got, want)
	}
	if !strings.HasSuffix(e.Message, "; and 998 more (see details)") {
		t.Errorf("message %q does not count the rest", e.Message)
	}
}

func BenchmarkBindParams(b *testing.B) {
	m := getMem()
	msg := msgOf(`[{"start":"2019-07-26T09:00:00Z","end":"2019-07-26T16:00:00Z","syms":["server_A","server_B"]}]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BindParams(m, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzConvertValue checks that no input panics and that every failure is an
// invalidParams *Error naming the parameter.
func FuzzConvertValue(f *testing.F) {
	for _, s := range []string{`1`, `1.5e3`, `-0e-5`, `"2019-07-26T09:00:00.5+01:00"`, `"P1DT2H3M4.5S"`, `"-1h2m"`, `["a",1]`, `{"a":[1]}`, `1e99999`} {
		f.Add(s)
	}
	types := []Type{Boolean, Long, Float, String, Symbol, Timestamp, Date, Timespan, Dict}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, typ := range types {
			for _, list := range []bool{false, true} {
				p := Param{Name: "p", Type: typ, List: list, Min: f64(-5), Max: f64(1e6), MaxLen: 3}
				if _, err := ConvertValue(p, json.RawMessage(raw)); err != nil {
					var e *Error
					if !errors.As(err, &e) || e.Code != CodeInvalidParams || !strings.HasPrefix(e.Message, "p") {
						t.Fatalf("ConvertValue(%s, %q) error %v", p.TypeName(), raw, err)
					}
				}
			}
		}
	})
}
