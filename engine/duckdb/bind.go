package duckdb

import (
	"encoding/json"
	"fmt"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/qconnect/qconnect"
)

// bindValue converts a parameter value of the qconnect convention (declared
// p) into a value the driver binds with the intended DuckDB type: dates as
// DATE, timespans as INTERVAL (µs), lists as DuckDB LISTs, dicts as a JSON
// VARCHAR (use $d::JSON), nil as NULL.
//
// A timestamp is bound as TIMESTAMP_NS, keeping its nanoseconds, where the
// statement expects one (want is the type DuckDB inferred for the
// parameter: a $ts::TIMESTAMP_NS cast, a comparison with a TIMESTAMP_NS
// column) and, where DuckDB inferred TIMESTAMP or nothing, wherever it has
// a fraction finer than a microsecond, so that
// it compares exactly with TIMESTAMP (µs) columns too (DuckDB then re-plans
// the statement for the value's type). A whole-microsecond timestamp is
// bound as TIMESTAMP (exact there): a TIMESTAMP_NS value compared with a
// TIMESTAMP column makes DuckDB cast the column rather than the value,
// which disables its min/max (zone map) pruning, so only sub-microsecond
// bounds pay that. A TIMESTAMPTZ (µs) parameter stays TIMESTAMPTZ: DuckDB
// has no nanosecond TIMESTAMPTZ and refuses to mix one with TIMESTAMP_NS.
func bindValue(p qconnect.Param, v any, want duck.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	if list, ok := v.([]any); ok {
		return bindList(p, list)
	}
	return bindScalar(p.Type, v, want)
}

// bindTime binds a timestamp (see bindValue).
func bindTime(t time.Time, want duck.Type) any {
	if want == duck.TYPE_TIMESTAMP_NS || t.Nanosecond()%1000 != 0 && (want == duck.TYPE_TIMESTAMP || want == duck.TYPE_INVALID) {
		return duck.Typed(t.UTC(), duck.TYPE_TIMESTAMP_NS)
	}
	return duck.Typed(t.UTC(), duck.TYPE_TIMESTAMP)
}

func bindScalar(t qconnect.Type, v any, want duck.Type) (any, error) {
	switch x := v.(type) {
	case bool, int64, float64, string:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case time.Time:
		if t == qconnect.Date {
			return duck.Typed(x.UTC(), duck.TYPE_DATE), nil
		}
		return bindTime(x, want), nil
	case time.Duration:
		return duck.Interval{Micros: x.Microseconds()}, nil
	case [16]byte:
		return duck.UUID(x), nil
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	}
	return nil, fmt.Errorf("unsupported parameter value of type %T", v)
}

// bindList builds a typed Go slice, which the driver binds as a LIST of the
// element type (VARCHAR[], BIGINT[], ...). A list holding nil elements is
// bound element by element ([]any), the nils as NULL.
func bindList(p qconnect.Param, list []any) (any, error) {
	hasNil := false
	for _, v := range list {
		if v == nil {
			hasNil = true
			break
		}
	}
	if !hasNil {
		switch p.Type {
		case qconnect.String, qconnect.Symbol, qconnect.Char:
			return typedSlice[string](list)
		case qconnect.Long, qconnect.Int, qconnect.Short:
			return typedSlice[int64](list)
		case qconnect.Float, qconnect.Real:
			return typedSlice[float64](list)
		case qconnect.Boolean:
			return typedSlice[bool](list)
		}
	}
	out := make([]any, len(list))
	for i, v := range list {
		if v == nil {
			continue
		}
		switch x := v.(type) {
		case time.Time:
			out[i] = x.UTC() // a list element cannot carry a type hint: TIMESTAMPTZ, read in UTC
		case time.Duration:
			out[i] = duck.Interval{Micros: x.Microseconds()}
		default:
			b, err := bindScalar(p.Type, v, duck.TYPE_INVALID)
			if err != nil {
				return nil, err
			}
			out[i] = b
		}
	}
	return out, nil
}

func typedSlice[T any](list []any) ([]T, error) {
	out := make([]T, len(list))
	for i, v := range list {
		x, ok := v.(T)
		if !ok {
			var zero T
			return nil, fmt.Errorf("list element %d is a %T, not a %T", i, v, zero)
		}
		out[i] = x
	}
	return out, nil
}
