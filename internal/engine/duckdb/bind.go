package duckdb

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// bindValue converts a parameter value of the qconnect convention (declared
// p) into a value bindArg binds with the intended DuckDB type: dates as
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
func bindValue(p qconnect.Param, v any, want bindings.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	if list, ok := v.([]any); ok {
		return bindList(p, list)
	}
	return bindScalar(p.Type, v, want)
}

// typedTime is a time bound as DuckDB type typ: TIMESTAMP (µs),
// TIMESTAMP_NS, TIMESTAMP_TZ (µs) or DATE.
type typedTime struct {
	t   time.Time
	typ bindings.Type
}

// intervalParam is an INTERVAL of micros microseconds.
type intervalParam struct{ micros int64 }

// uuid is a UUID.
type uuid [16]byte

// listOf is a LIST of elem (a scalar DuckDB type) holding the values
// (nil = NULL) as bindArg takes them.
type listOf struct {
	elem bindings.Type
	vals []any
}

// bindTime binds a timestamp (see bindValue).
func bindTime(t time.Time, want bindings.Type) any {
	if want == bindings.TypeTimestampNS || t.Nanosecond()%1000 != 0 && (want == bindings.TypeTimestamp || want == bindings.TypeInvalid) {
		return typedTime{t.UTC(), bindings.TypeTimestampNS}
	}
	return typedTime{t.UTC(), bindings.TypeTimestamp}
}

func bindScalar(t qconnect.Type, v any, want bindings.Type) (any, error) {
	switch x := v.(type) {
	case bool, int64, float64, string:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case time.Time:
		if t == qconnect.Date {
			return typedTime{x.UTC(), bindings.TypeDate}, nil
		}
		return bindTime(x, want), nil
	case time.Duration:
		return intervalParam{x.Microseconds()}, nil
	case [16]byte:
		return uuid(x), nil
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	}
	return nil, fmt.Errorf("unsupported parameter value of type %T", v)
}

// bindList builds a LIST of the element type (VARCHAR[], BIGINT[], ...),
// the nils as NULL. A list holding nils, or of a type without a typed
// rule, takes its element type from its first element: a time is a
// TIMESTAMPTZ read in UTC (a list element cannot carry a type hint), a
// duration an INTERVAL.
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
			return typedList[string](list, bindings.TypeVarchar)
		case qconnect.Long, qconnect.Int, qconnect.Short:
			return typedList[int64](list, bindings.TypeBigInt)
		case qconnect.Float, qconnect.Real:
			return typedList[float64](list, bindings.TypeDouble)
		case qconnect.Boolean:
			return typedList[bool](list, bindings.TypeBoolean)
		}
	}
	out := listOf{elem: bindings.TypeSQLNull, vals: make([]any, len(list))}
	for i, v := range list {
		if v == nil {
			continue
		}
		var b any
		switch x := v.(type) {
		case time.Time:
			b = typedTime{x.UTC(), bindings.TypeTimestampTZ}
		case time.Duration:
			b = intervalParam{x.Microseconds()}
		default:
			var err error
			if b, err = bindScalar(p.Type, v, bindings.TypeInvalid); err != nil {
				return nil, err
			}
		}
		t := scalarType(b)
		if out.elem == bindings.TypeSQLNull {
			out.elem = t
		} else if t != out.elem {
			return nil, fmt.Errorf("list element %d is a %T, unlike the elements before it", i, v)
		}
		out.vals[i] = b
	}
	if out.elem == bindings.TypeSQLNull {
		out.elem = bindings.TypeVarchar // all NULL
	}
	return out, nil
}

func typedList[T any](list []any, elem bindings.Type) (listOf, error) {
	for i, v := range list {
		if _, ok := v.(T); !ok {
			var zero T
			return listOf{}, fmt.Errorf("list element %d is a %T, not a %T", i, v, zero)
		}
	}
	return listOf{elem: elem, vals: list}, nil
}

// scalarType is the DuckDB type a bound scalar has.
func scalarType(v any) bindings.Type {
	switch x := v.(type) {
	case bool:
		return bindings.TypeBoolean
	case int64:
		return bindings.TypeBigInt
	case float64:
		return bindings.TypeDouble
	case string:
		return bindings.TypeVarchar
	case typedTime:
		return x.typ
	case intervalParam:
		return bindings.TypeInterval
	case uuid:
		return bindings.TypeUUID
	}
	return bindings.TypeInvalid
}

// bindArg binds a value made by bindValue or bindTime (or a plain bool,
// int, int64, float64, string, time.Time or nil) to parameter i of ps with
// the bindings' typed bind functions.
func bindArg(ps bindings.PreparedStatement, i bindings.IdxT, v any) error {
	var st bindings.State
	switch x := v.(type) {
	case nil:
		st = bindings.BindNull(ps, i)
	case bool:
		st = bindings.BindBoolean(ps, i, x)
	case int:
		st = bindings.BindInt64(ps, i, int64(x))
	case int64:
		st = bindings.BindInt64(ps, i, x)
	case float64:
		st = bindings.BindDouble(ps, i, x)
	case string:
		st = bindings.BindVarchar(ps, i, x)
	case time.Time:
		st = bindings.BindTimestampTZ(ps, i, bindings.NewTimestamp(x.UnixMicro()))
	case typedTime:
		switch x.typ {
		case bindings.TypeDate:
			st = bindings.BindDate(ps, i, bindings.NewDate(int32(x.t.Unix()/86400-boolInt(x.t.Unix()%86400 < 0))))
		case bindings.TypeTimestampTZ:
			st = bindings.BindTimestampTZ(ps, i, bindings.NewTimestamp(x.t.UnixMicro()))
		case bindings.TypeTimestamp:
			st = bindings.BindTimestamp(ps, i, bindings.NewTimestamp(x.t.UnixMicro()))
		default:
			return bindValueOf(ps, i, v)
		}
	case intervalParam:
		st = bindings.BindInterval(ps, i, bindings.NewInterval(0, 0, x.micros))
	default:
		return bindValueOf(ps, i, v)
	}
	if st == bindings.StateError {
		return fmt.Errorf("DuckDB refused the value %v", v)
	}
	return nil
}

// bindValueOf binds a value that has no typed bind function (TIMESTAMP_NS,
// UUID, LIST) as a duckdb_value.
func bindValueOf(ps bindings.PreparedStatement, i bindings.IdxT, v any) error {
	val, err := valueOf(v)
	if err != nil {
		return err
	}
	defer bindings.DestroyValue(&val)
	if bindings.BindValue(ps, i, val) == bindings.StateError {
		return fmt.Errorf("DuckDB refused the value %v", v)
	}
	return nil
}

// valueOf makes a duckdb_value, which the caller destroys.
func valueOf(v any) (bindings.Value, error) {
	switch x := v.(type) {
	case nil:
		return bindings.CreateNullValue(), nil
	case bool:
		return bindings.CreateBool(x), nil
	case int64:
		return bindings.CreateInt64(x), nil
	case float64:
		return bindings.CreateDouble(x), nil
	case string:
		return bindings.CreateVarchar(x), nil
	case intervalParam:
		return bindings.CreateInterval(bindings.NewInterval(0, 0, x.micros)), nil
	case uuid:
		return bindings.CreateUUID(bindings.NewUHugeInt(binary.BigEndian.Uint64(x[8:]), binary.BigEndian.Uint64(x[:8]))), nil
	case typedTime:
		switch x.typ {
		case bindings.TypeTimestampNS:
			return bindings.CreateTimestampNS(bindings.NewTimestampNS(x.t.UnixNano())), nil
		case bindings.TypeTimestampTZ:
			return bindings.CreateTimestampTZ(bindings.NewTimestamp(x.t.UnixMicro())), nil
		case bindings.TypeDate:
			return bindings.CreateDate(bindings.NewDate(int32(x.t.Unix()/86400 - boolInt(x.t.Unix()%86400 < 0)))), nil
		}
		return bindings.CreateTimestamp(bindings.NewTimestamp(x.t.UnixMicro())), nil
	case listOf:
		elems := make([]bindings.Value, len(x.vals))
		defer func() {
			for i := range elems {
				bindings.DestroyValue(&elems[i])
			}
		}()
		for j, e := range x.vals {
			var err error
			if elems[j], err = valueOf(e); err != nil {
				return bindings.Value{}, err
			}
		}
		lt := bindings.CreateLogicalType(x.elem)
		defer bindings.DestroyLogicalType(&lt)
		return bindings.CreateListValue(lt, elems), nil
	}
	return bindings.Value{}, fmt.Errorf("unsupported parameter value of type %T", v)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
