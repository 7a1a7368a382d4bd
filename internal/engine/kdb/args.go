package kdb

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// argument returns the one dictionary argument of a call: parameter names
// to typed q values, in declaration order (see the package doc).
func argument(m *qconnect.Method, params map[string]any) (ipc.Dict, error) {
	keys := make([]string, len(m.Params))
	vals := make([]any, len(m.Params))
	for i, p := range m.Params {
		keys[i] = p.Name
		v, err := qValue(p, params[p.Name])
		if err != nil {
			return ipc.Dict{}, &qconnect.Error{Code: qconnect.CodeInvalidParams, Message: p.Name + ": " + err.Error()}
		}
		vals[i] = v
	}
	return ipc.Dict{Key: keys, Value: vals}, nil
}

func qValue(p qconnect.Param, v any) (any, error) {
	if !p.List {
		return qAtom(p.Type, v)
	}
	var l []any
	switch x := v.(type) {
	case nil:
	case []any:
		l = x
	case []string:
		for _, s := range x {
			l = append(l, s)
		}
	default:
		return nil, fmt.Errorf("expected a list, got %T", v)
	}
	switch p.Type {
	case qconnect.Symbol:
		out := make([]string, len(l))
		for i, e := range l {
			a, err := qAtom(p.Type, e)
			if err != nil {
				return nil, err
			}
			out[i] = string(a.(ipc.Symbol))
		}
		return out, nil
	case qconnect.String, qconnect.Dict:
		out := make([]any, len(l))
		for i, e := range l {
			a, err := qAtom(p.Type, e)
			if err != nil {
				return nil, err
			}
			out[i] = a
		}
		return out, nil
	}
	return typedList(p.Type, l)
}

func typedList(t qconnect.Type, l []any) (any, error) {
	switch t {
	case qconnect.Long:
		return conv[int64](t, l)
	case qconnect.Float:
		return conv[float64](t, l)
	case qconnect.Boolean:
		return conv[bool](t, l)
	case qconnect.Timestamp:
		return conv[ipc.Timestamp](t, l)
	case qconnect.Date:
		return conv[ipc.Date](t, l)
	case qconnect.Timespan:
		return conv[ipc.Timespan](t, l)
	}
	return nil, fmt.Errorf("lists of %s are not supported by the kdb+ backend", t)
}

func conv[T any](t qconnect.Type, l []any) ([]T, error) {
	out := make([]T, len(l))
	for i, e := range l {
		a, err := qAtom(t, e)
		if err != nil {
			return nil, err
		}
		out[i] = a.(T)
	}
	return out, nil
}

// qAtom converts one value of the package convention to its q atom; nil
// becomes the type's null.
func qAtom(t qconnect.Type, v any) (any, error) {
	bad := func() (any, error) { return nil, fmt.Errorf("expected a %s value, got %T", t, v) }
	switch t {
	case qconnect.Timestamp:
		if v == nil {
			return ipc.Timestamp(ipc.NullLong), nil
		}
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return ipc.TimestampOf(x), nil
	case qconnect.Date:
		if v == nil {
			return ipc.Date(ipc.NullInt), nil
		}
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return ipc.DateOf(x), nil
	case qconnect.Timespan:
		if v == nil {
			return ipc.Timespan(ipc.NullLong), nil
		}
		x, ok := v.(time.Duration)
		if !ok {
			return bad()
		}
		return ipc.Timespan(x), nil
	case qconnect.Symbol:
		if v == nil {
			return ipc.Symbol(""), nil
		}
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		return ipc.Symbol(x), nil
	case qconnect.String:
		if v == nil {
			return "", nil
		}
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		return x, nil
	case qconnect.Long:
		if v == nil {
			return ipc.NullLong, nil
		}
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		return x, nil
	case qconnect.Float:
		if v == nil {
			return ipc.NullFloat(), nil
		}
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		return x, nil
	case qconnect.Boolean:
		if v == nil {
			return false, nil
		}
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		return x, nil
	case qconnect.Dict:
		if v == nil {
			return ipc.Dict{Key: []string{}, Value: []any{}}, nil
		}
		return jsonQ(v, 0)
	}
	return nil, fmt.Errorf("parameter type %s is not supported by the kdb+ backend", t)
}

// jsonQ converts a decoded JSON value (a dict parameter) to q.
func jsonQ(v any, depth int) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("dict nested deeper than 32 levels")
	}
	switch x := v.(type) {
	case nil:
		return ipc.Identity{}, nil
	case bool, string:
		return x, nil
	case float64:
		if math.IsNaN(x) {
			return ipc.NullFloat(), nil
		}
		return x, nil
	case int64:
		return x, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]any, len(keys))
		for i, k := range keys {
			q, err := jsonQ(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			vals[i] = q
		}
		return ipc.Dict{Key: keys, Value: vals}, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			q, err := jsonQ(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = q
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported dict value %T", v)
}
