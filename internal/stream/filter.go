package stream

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// ConflateParam is the name of the optional timespan parameter that sets a
// subscription's conflation interval (see the package doc).
const ConflateParam = "conflate"

// filter keeps rows whose column value is one of the parameter's values.
type filter struct {
	column string
	typ    qconnect.Type
	set    map[string]struct{}
}

// valueText is the comparison form of a value: a string as it is, other
// values in their PROTOCOL 4.3 text form under the column's type, and a
// form no text can take for null.
func valueText(t qconnect.Type, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "\x00null"
	}
	b, ok := protocol.AppendText(nil, t, v)
	if !ok {
		return "\x00null"
	}
	return string(b)
}

// columnType is the declared type of the method's column name, or "" when
// it has none.
func columnType(m *qconnect.Method, name string) qconnect.Type {
	for _, c := range m.Columns {
		if c.Name == name {
			return c.Type
		}
	}
	return ""
}

// buildFilters turns the spec's filters and the bound parameters into
// filters, in parameter name order. Parameters without a value do not
// filter.
func buildFilters(m *qconnect.Method, params map[string]any) []filter {
	var names []string
	for p := range m.Stream.Filters {
		names = append(names, p)
	}
	sort.Strings(names)
	var out []filter
	for _, p := range names {
		v := params[p]
		if v == nil {
			continue
		}
		col := m.Stream.Filters[p]
		f := filter{column: col, typ: columnType(m, col), set: map[string]struct{}{}}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				f.set[valueText(f.typ, e)] = struct{}{}
			}
		} else {
			f.set[valueText(f.typ, v)] = struct{}{}
		}
		out = append(out, f)
	}
	return out
}

// columnIndex finds name among cols: an exact match first, else one that
// differs only in case (SQL identifiers are case-insensitive). It returns
// -1 when there is none.
func columnIndex(cols []qconnect.Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	for i, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// conflateOf returns the conflation interval of a subscription: the
// "conflate" parameter's value when the method declares one and the caller
// gave it, else the declared default.
func conflateOf(m *qconnect.Method, params map[string]any, minimum time.Duration) (time.Duration, error) {
	d := m.Stream.Conflate
	if p, ok := m.Param(ConflateParam); ok && p.Type == qconnect.Timespan && !p.List {
		if v, ok := params[ConflateParam].(time.Duration); ok {
			d = v
		}
	}
	if d < 0 || d > 0 && d < minimum {
		msg := fmt.Sprintf("%s: %s is too short; use 0s for every update or at least %s", ConflateParam, d, minimum)
		return 0, &qconnect.Error{Code: qconnect.CodeInvalidParams, Message: "invalid parameters for " + m.FullName() + ": " + msg, Details: []string{msg}}
	}
	return d, nil
}

// canonicalKey identifies an upstream: the method, every declared
// parameter's bound value in declaration order, and the user. Values are
// written in a form that tells types and list boundaries apart.
func canonicalKey(m *qconnect.Method, params map[string]any, user string) string {
	var b []byte
	b = strconv.AppendQuote(b, m.FullName())
	for _, p := range m.Params {
		b = append(b, ' ')
		b = append(b, p.Name...)
		b = append(b, '=')
		b = appendCanonical(b, p.Type, params[p.Name])
	}
	b = append(b, " user="...)
	b = strconv.AppendQuote(b, user)
	return string(b)
}

func appendCanonical(b []byte, t qconnect.Type, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, t, e)
		}
		return append(b, ']')
	case map[string]any:
		j, err := json.Marshal(x) // map keys are sorted by encoding/json
		if err != nil {
			return append(b, "?"...)
		}
		return append(b, j...)
	}
	txt, _ := protocol.AppendText(nil, t, v)
	b = append(b, fmt.Sprintf("%T:", v)...)
	return strconv.AppendQuote(b, string(txt))
}
