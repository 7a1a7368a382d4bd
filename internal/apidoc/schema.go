package apidoc

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
)

// timespanParamPattern accepts the timespan forms of PROTOCOL 4.2 as
// qconnect.ConvertValue reads them: a Go duration ("90s", "1h30m", "-1.5h")
// or an ISO 8601 duration without years and months ("PT1H30M", "P1DT2H",
// "PT0.5S"). The syntax is valid in both RE2 and ECMAScript. It admits a
// few strings the server still rejects ("P", "PT").
const timespanParamPattern = `^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+|[Pp]([0-9]+[Ww])?([0-9]+[Dd])?([Tt]([0-9]+[Hh])?([0-9]+[Mm])?([0-9]+(\.[0-9]{1,9})?[Ss])?)?)$`

// The result forms of PROTOCOL 4.3 that JSON Schema has no format for.
const (
	timespanColumnPattern = `^-?[0-9]+D[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}$`
	timeColumnPattern     = `^-?[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}$`
	// guidColumnPattern is the canonical UUID form; "format": "uuid" says
	// the same, but many validators do not check formats.
	guidColumnPattern = `^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`
)

// paramSchema is the JSON Schema of a declared parameter (PROTOCOL 4.2). A
// list is an array of its element schema (the single-value shorthand of 4.2
// is mentioned in the description, not modelled, to keep generated clients
// simple).
func paramSchema(m *qconnect.Method, p qconnect.Param) (*object, error) {
	elem, err := paramElemSchema(p)
	if err != nil {
		return nil, err
	}
	s := elem
	if p.List {
		s = obj("type", "array", "items", elem)
		if p.MaxLen > 0 {
			s.set("maxItems", p.MaxLen)
		}
	}
	if d := paramDescription(p); d != "" {
		s.set("description", d)
	}
	if p.Default != nil {
		v, err := paramJSON(p, p.Default)
		if err != nil {
			return nil, fmt.Errorf("%s: parameter %q of %s: default %w; fix the catalog declaration", m.Pos, p.Name, m.FullName(), err)
		}
		s.set("default", v)
	}
	return s, nil
}

// paramElemSchema is the schema of one element of p's type.
func paramElemSchema(p qconnect.Param) (*object, error) {
	var s *object
	switch p.Type {
	case qconnect.Boolean:
		s = obj("type", "boolean")
	case qconnect.Long:
		s = obj("type", "integer", "format", "int64")
	case qconnect.Float:
		s = obj("type", "number", "format", "double")
	case qconnect.String, qconnect.Symbol:
		s = obj("type", "string")
		if !p.List && p.MaxLen > 0 {
			s.set("maxLength", p.MaxLen)
		}
	case qconnect.Timestamp:
		s = obj("type", "string", "format", "date-time")
	case qconnect.Date:
		s = obj("type", "string", "format", "date")
	case qconnect.Timespan:
		s = obj("type", "string", "pattern", timespanParamPattern)
	case qconnect.Dict:
		s = obj("type", "object")
	default:
		return nil, fmt.Errorf("parameter %q has type %q, which is not a parameter type of PROTOCOL 4.2", p.Name, p.Type)
	}
	if len(p.Enum) > 0 {
		enum := make([]any, len(p.Enum))
		for i, e := range p.Enum {
			enum[i] = e
		}
		s.set("enum", enum)
	}
	if p.Type == qconnect.Long || p.Type == qconnect.Float {
		if p.Min != nil {
			s.set("minimum", number(*p.Min))
		}
		if p.Max != nil {
			s.set("maximum", number(*p.Max))
		}
	}
	return s, nil
}

// number writes integral bounds as integers (1, not 1.0 or 1e+00).
func number(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// paramDescription is the description of p plus what the schema cannot say.
func paramDescription(p qconnect.Param) string {
	var parts []string
	if p.Description != "" {
		parts = append(parts, strings.TrimSpace(p.Description))
	}
	if p.DefaultDoc != "" {
		parts = append(parts, "Default: "+p.DefaultDoc+".")
	}
	if p.List {
		parts = append(parts, "A single value is accepted as a one-element list.")
	}
	switch p.Type {
	case qconnect.Timestamp:
		parts = append(parts, "RFC 3339, fraction up to nanoseconds; a missing offset means UTC.")
	case qconnect.Timespan:
		parts = append(parts, `A Go or ISO 8601 duration: "90s", "1h30m", "PT1H30M".`)
		if b := spanBounds(p); b != "" {
			parts = append(parts, "Bounds: "+b+".")
		}
	}
	return strings.Join(parts, " ")
}

// columnSchema is the JSON Schema of a result column value (PROTOCOL 4.3);
// every column may be null.
func columnSchema(c qconnect.Column) (*object, error) {
	nullable := func(t string) []any { return []any{t, "null"} }
	switch c.Type {
	case qconnect.Boolean:
		return obj("type", nullable("boolean")), nil
	case qconnect.Long:
		return obj("type", nullable("integer"), "format", "int64"), nil
	case qconnect.Int:
		return obj("type", nullable("integer"), "format", "int32"), nil
	case qconnect.Short:
		return obj("type", nullable("integer"), "minimum", -32768, "maximum", 32767), nil
	case qconnect.Float:
		return obj("type", nullable("number"), "format", "double"), nil
	case qconnect.Real:
		return obj("type", nullable("number"), "format", "float"), nil
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		return obj("type", nullable("string")), nil
	case qconnect.Timestamp:
		return obj("type", nullable("string"), "format", "date-time"), nil
	case qconnect.Date:
		return obj("type", nullable("string"), "format", "date"), nil
	case qconnect.Time:
		return obj("type", nullable("string"), "pattern", timeColumnPattern), nil
	case qconnect.Timespan:
		return obj("type", nullable("string"), "pattern", timespanColumnPattern), nil
	case qconnect.GUID:
		return obj("type", nullable("string"), "format", "uuid", "pattern", guidColumnPattern), nil
	}
	return nil, fmt.Errorf("column %q has type %q, which is not a column type of PROTOCOL 4.3", c.Name, c.Type)
}

// spanBounds describes the Min and Max of a timespan parameter, which are
// seconds (qconnect.ConvertValue) and cannot be said in JSON Schema.
func spanBounds(p qconnect.Param) string {
	var parts []string
	if p.Min != nil {
		parts = append(parts, "at least "+ShortDuration(seconds(*p.Min)))
	}
	if p.Max != nil {
		parts = append(parts, "at most "+ShortDuration(seconds(*p.Max)))
	}
	return strings.Join(parts, ", ")
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
