package qconnect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxParamProblems bounds Error.Details of one invalidParams error; further
// problems are counted in a last entry.
const maxParamProblems = 20

// BindParams converts the msg of a method call (PROTOCOL 4.1: [] or
// [ {name: value, ...} ]) into typed values for every declared parameter of m
// (which must not be nil): the caller's value, else the declared Default,
// else nil. The result has exactly one entry per declared parameter.
//
// JSON null for an optional parameter means "not given" (the default
// applies); null for a required one is an error. Values are converted and
// checked as ConvertValue does. Default values are returned as declared, not
// copied: callers must not modify a returned list or dict.
//
// Every problem becomes one entry of Error.Details (at most 20, then a count
// of the rest), in parameter declaration order followed by unknown names in
// sorted order, each starting with the parameter name:
//
//	syms: expected a list of symbol, got a number
//	start: "yesterday" is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)
//	limit: 0 is below the minimum 1
//	colour: unknown parameter; this method takes start, end, syms
//	sym: unknown parameter; did you mean syms? this method takes start, end, syms
//	end: required
//
// The returned *Error has Code CodeInvalidParams and a Message summarising
// the problems. A msg with more than one element, or whose element is not a
// JSON object, is an invalidParams error too. Duplicate keys are rejected
// earlier, by protocol.ParseRequest; here the last one would win.
func BindParams(m *Method, msg []json.RawMessage) (map[string]any, error) {
	var args map[string]any
	switch len(msg) {
	case 0:
	case 1:
		v, err := decodeJSON(msg[0])
		if err != nil {
			return nil, paramsError(m, []string{"msg[0] is not valid JSON; send [] or [{\"name\": value, ...}]"}, 0)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, paramsError(m, []string{fmt.Sprintf("msg[0] must be an object of parameters, like [{\"name\": value}]; got %s", kindOf(v))}, 0)
		}
		args = obj
	default:
		return nil, paramsError(m, []string{fmt.Sprintf("msg must be [] or hold one object of parameters, like [{\"name\": value}]; got %d elements", len(msg))}, 0)
	}

	out := make(map[string]any, len(m.Params))
	var problems []string
	dropped := 0
	report := func(s string) {
		if len(problems) < maxParamProblems {
			problems = append(problems, s)
		} else {
			dropped++
		}
	}
	for _, p := range m.Params {
		v, given := args[p.Name]
		if v == nil {
			switch {
			case p.Required && given:
				report(p.Name + ": required; null is not a value")
			case p.Required:
				report(p.Name + ": required")
			default:
				out[p.Name] = p.Default
			}
			continue
		}
		x, prob := convert(p, v)
		if prob != "" {
			report(prob)
			continue
		}
		out[p.Name] = x
	}
	var unknown []string
	for k := range args {
		if _, ok := m.Param(k); !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		report(displayName(k) + ": unknown parameter; " + didYouMean(m, k) + takes(m))
	}
	if len(problems) > 0 {
		return nil, paramsError(m, problems, dropped)
	}
	return out, nil
}

// ConvertValue converts one JSON value to the declared type of p and checks
// p's constraints; the catalog uses it for defaults as well. JSON null
// converts to nil without error (whether null is allowed is the caller's
// decision). Accepted values, by declared type (PROTOCOL 4.2):
//
//	boolean    true or false
//	long       a number whose value is an integer within int64: 1, -7, 1.0
//	           and 1e3 are accepted (as 1, -7, 1, 1000); 1.5, 1e-3 and
//	           9223372036854775808 are not
//	float      any number
//	string,    a string; symbol is the same on input
//	symbol
//	timestamp  RFC 3339 with an optional fraction of up to 9 digits; T, t or
//	           a space between date and time; an offset (Z, z, +01:00) is
//	           optional and UTC when missing. The result is in UTC and must
//	           lie within int64 nanoseconds of the Unix epoch (1677-09-21 to
//	           2262-04-11), so that engines can hold it as UnixNano.
//	date       YYYY-MM-DD, the result is midnight UTC of that day
//	timespan   a Go duration (90s, 1h30m, -5m, 1.5h) or ISO 8601
//	           [-]P[nW][nD][T[nH][nM][n[.f]S]] (PT1H30M, P1DT2H, PT0.5S);
//	           ISO years and months have no fixed length and are rejected
//	dict       an object, returned as map[string]any with numbers as
//	           json.Number (exact)
//	T[]        an array of T, returned as []any; a single T is accepted as a
//	           one-element list
//
// Constraints: Enum (string and symbol values; every list element), Min and
// Max (long and float values; timespan values compared in seconds; every
// list element), MaxLen (the number of characters of a string or symbol,
// or the number of elements of a list).
//
// A failure is an *Error with CodeInvalidParams whose Message starts with
// the parameter name, like "syms[1]: expected a symbol, got a number".
func ConvertValue(p Param, raw json.RawMessage) (any, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		msg := p.Name + ": not a JSON value"
		return nil, &Error{Code: CodeInvalidParams, Message: msg, Details: []string{msg}}
	}
	if v == nil {
		return nil, nil
	}
	x, prob := convert(p, v)
	if prob != "" {
		return nil, &Error{Code: CodeInvalidParams, Message: prob, Details: []string{prob}}
	}
	return x, nil
}

// decodeJSON decodes exactly one JSON value with numbers kept as json.Number.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

func paramsError(m *Method, problems []string, dropped int) *Error {
	const shown = 3
	summary := strings.Join(problems[:min(len(problems), shown)], "; ")
	if total := len(problems) + dropped; total > shown {
		summary += fmt.Sprintf("; and %d more (see details)", total-shown)
	}
	if dropped > 0 {
		problems = append(problems, fmt.Sprintf("... and %d more problems", dropped))
	}
	return &Error{Code: CodeInvalidParams,
		Message: "invalid parameters for " + m.FullName() + ": " + summary,
		Details: problems}
}

// didYouMean is "did you mean <param>? " when a declared parameter of m is
// close to the unknown name k (Closest), else "" (PROTOCOL appendix, "Did you mean").
func didYouMean(m *Method, k string) string {
	names := make([]string, len(m.Params))
	for i, p := range m.Params {
		names[i] = p.Name
	}
	if best, ok := Closest(k, names); ok {
		return "did you mean " + best + "? "
	}
	return ""
}

// takes lists the declared parameter names, for unknown-name messages.
func takes(m *Method) string {
	if len(m.Params) == 0 {
		return "this method takes no parameters; send msg as []"
	}
	names := make([]string, len(m.Params))
	for i, p := range m.Params {
		names[i] = p.Name
	}
	return "this method takes " + strings.Join(names, ", ")
}

// displayName shows a caller-supplied name safely: bare when it is a valid
// name, otherwise quoted and shortened.
func displayName(s string) string {
	if ValidName(s) {
		return s
	}
	return quoteValue(s)
}

// quoteValue quotes a caller-supplied string for a message, shortened to 40
// characters so that an error never echoes a large input.
func quoteValue(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		return strconv.Quote(string(r[:40])) + "…"
	}
	return strconv.Quote(s)
}

// shortNumber shortens a number's text for a message.
func shortNumber(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// convert converts a decoded, non-null JSON value to p's type. It returns a
// problem message that starts with the parameter name, or "".
func convert(p Param, v any) (any, string) {
	if !p.List {
		x, prob, _ := convertElem(p, v)
		if prob != "" {
			return nil, p.Name + ": " + prob
		}
		return x, ""
	}
	arr, ok := v.([]any)
	if !ok {
		x, prob, wrongKind := convertElem(p, v)
		if wrongKind {
			return nil, fmt.Sprintf("%s: expected a list of %s, got %s", p.Name, p.Type, kindOf(v))
		}
		if prob != "" {
			return nil, p.Name + ": " + prob
		}
		return []any{x}, ""
	}
	if p.MaxLen > 0 && len(arr) > p.MaxLen {
		return nil, fmt.Sprintf("%s: %d elements exceed the maximum of %d; send fewer", p.Name, len(arr), p.MaxLen)
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		x, prob, _ := convertElem(p, e)
		if prob != "" {
			return nil, fmt.Sprintf("%s[%d]: %s", p.Name, i, prob)
		}
		out[i] = x
	}
	return out, ""
}

// convertElem converts one value of p's element type and checks the
// element constraints. wrongKind reports a JSON value of the wrong kind
// (a number for a string, ...), as opposed to a value of the right kind
// that is malformed or out of bounds.
func convertElem(p Param, v any) (x any, prob string, wrongKind bool) {
	expected := func(what string) (any, string, bool) {
		return nil, "expected " + what + ", got " + kindOf(v), true
	}
	switch p.Type {
	case Boolean:
		b, ok := v.(bool)
		if !ok {
			return expected("true or false")
		}
		return b, "", false
	case Long:
		n, ok := v.(json.Number)
		if !ok {
			return expected("an integer")
		}
		i, prob := parseLong(string(n))
		if prob == "" {
			prob = checkRange(p, float64(i), string(n))
		}
		if prob != "" {
			return nil, prob, false
		}
		return i, "", false
	case Float:
		n, ok := v.(json.Number)
		if !ok {
			return expected("a number")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return nil, shortNumber(string(n)) + " is out of range for a float", false
		}
		if prob := checkRange(p, f, string(n)); prob != "" {
			return nil, prob, false
		}
		return f, "", false
	case String, Symbol:
		s, ok := v.(string)
		if !ok {
			return expected("a " + string(p.Type))
		}
		if !p.List && p.MaxLen > 0 {
			if n := utf8.RuneCountInString(s); n > p.MaxLen {
				return nil, fmt.Sprintf("%d characters exceed the maximum of %d", n, p.MaxLen), false
			}
		}
		if len(p.Enum) > 0 && !contains(p.Enum, s) {
			return nil, quoteValue(s) + " is not allowed; use one of " + listEnum(p.Enum), false
		}
		return s, "", false
	case Timestamp:
		s, ok := v.(string)
		if !ok {
			return expected(`a timestamp string like "2019-07-26T09:00:00Z"`)
		}
		t, prob := parseTimestamp(s)
		if prob != "" {
			return nil, prob, false
		}
		return t, "", false
	case Date:
		s, ok := v.(string)
		if !ok {
			return expected(`a date string like "2019-07-26"`)
		}
		t, err := time.Parse("2006-01-02", s)
		if err != nil || len(s) != 10 {
			return nil, quoteValue(s) + " is not a date of the form YYYY-MM-DD (e.g. 2019-07-26)", false
		}
		return t, "", false
	case Timespan:
		s, ok := v.(string)
		if !ok {
			return expected(`a duration string like "90s" or "PT1M30S"`)
		}
		d, prob := parseTimespan(s)
		if prob == "" {
			prob = checkRange(p, d.Seconds(), d.String())
		}
		if prob != "" {
			return nil, prob, false
		}
		return d, "", false
	case Dict:
		m, ok := v.(map[string]any)
		if !ok {
			return expected("an object")
		}
		return m, "", false
	}
	return nil, fmt.Sprintf("the declared type %q is not a parameter type (a catalog error)", p.Type), false
}

// checkRange checks Min and Max; text is the value as the caller wrote it.
func checkRange(p Param, f float64, text string) string {
	if p.Min != nil && f < *p.Min {
		return shortNumber(text) + " is below the minimum " + boundText(p, *p.Min)
	}
	if p.Max != nil && f > *p.Max {
		return shortNumber(text) + " is above the maximum " + boundText(p, *p.Max)
	}
	return ""
}

// boundText formats a bound: a duration for timespans (bounds are seconds).
func boundText(p Param, b float64) string {
	if p.Type == Timespan && b > -9e9 && b < 9e9 {
		return time.Duration(b * float64(time.Second)).String()
	}
	return strconv.FormatFloat(b, 'g', -1, 64)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// listEnum lists allowed values for a message, at most 10 of them.
func listEnum(enum []string) string {
	const shown = 10
	if len(enum) <= shown {
		return strings.Join(enum, ", ")
	}
	return strings.Join(enum[:shown], ", ") + fmt.Sprintf(" (and %d more)", len(enum)-shown)
}
