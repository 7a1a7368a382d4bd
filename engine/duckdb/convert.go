package duckdb

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/qconnect/qconnect"
)

// source is the family of a DuckDB result type, as far as conversion to a
// qconnect value is concerned.
type source int

const (
	srcUnsupported source = iota
	srcNull               // SQLNULL: every value is nil
	srcBool
	srcInt     // TINYINT … BIGINT, UTINYINT … UBIGINT
	srcHuge    // HUGEINT, UHUGEINT (*big.Int)
	srcFloat   // FLOAT, DOUBLE
	srcDecimal // DECIMAL(w,s)
	srcString  // VARCHAR, ENUM
	srcBlob
	srcTimestamp // TIMESTAMP, _S, _MS, _NS, TIMESTAMPTZ
	srcDate
	srcTime
	srcInterval
	srcUUID
)

// sourceOf classifies a DuckDB type name as reported by the driver
// (ColumnTypeDatabaseTypeName).
func sourceOf(dbType string) source {
	switch dbType {
	case "SQLNULL", "NULL":
		return srcNull
	case "BOOLEAN":
		return srcBool
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT":
		return srcInt
	case "HUGEINT", "UHUGEINT":
		return srcHuge
	case "FLOAT", "DOUBLE":
		return srcFloat
	case "VARCHAR", "ENUM":
		return srcString
	case "BLOB":
		return srcBlob
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMPTZ":
		return srcTimestamp
	case "DATE":
		return srcDate
	case "TIME":
		return srcTime
	case "INTERVAL":
		return srcInterval
	case "UUID":
		return srcUUID
	}
	if strings.HasPrefix(dbType, "DECIMAL") {
		return srcDecimal
	}
	return srcUnsupported
}

// naturalType is the qconnect column type a DuckDB type is reported as when
// a method declares no columns.
func naturalType(dbType string) (qconnect.Type, bool) {
	switch dbType {
	case "BIGINT", "UINTEGER", "UBIGINT", "HUGEINT", "UHUGEINT":
		return qconnect.Long, true
	case "INTEGER", "USMALLINT":
		return qconnect.Int, true
	case "SMALLINT", "TINYINT", "UTINYINT":
		return qconnect.Short, true
	case "FLOAT":
		return qconnect.Real, true
	}
	switch sourceOf(dbType) {
	case srcBool:
		return qconnect.Boolean, true
	case srcFloat, srcDecimal:
		return qconnect.Float, true
	case srcString, srcBlob, srcNull:
		return qconnect.String, true
	case srcTimestamp:
		return qconnect.Timestamp, true
	case srcDate:
		return qconnect.Date, true
	case srcTime:
		return qconnect.Time, true
	case srcInterval:
		return qconnect.Timespan, true
	case srcUUID:
		return qconnect.GUID, true
	}
	return "", false
}

// compatible reports whether a result of DuckDB type family s can be
// delivered as a column declared t. Numbers widen (an integer column may be
// declared float), never narrow; a TIMESTAMP may be declared date (it is
// cut to its UTC day) and a DATE timestamp (midnight UTC).
func compatible(s source, t qconnect.Type) bool {
	if s == srcNull {
		return qconnect.ValidColumnType(t)
	}
	switch t {
	case qconnect.Boolean:
		return s == srcBool
	case qconnect.Long, qconnect.Int, qconnect.Short:
		return s == srcInt || s == srcHuge
	case qconnect.Float, qconnect.Real:
		return s == srcFloat || s == srcDecimal || s == srcInt || s == srcHuge
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		return s == srcString || s == srcBlob
	case qconnect.Timestamp, qconnect.Date:
		return s == srcTimestamp || s == srcDate
	case qconnect.Time:
		return s == srcTime
	case qconnect.Timespan:
		return s == srcInterval
	case qconnect.GUID:
		return s == srcUUID
	}
	return false
}

// converter turns one driver value into the qconnect convention of the
// declared type (see the qconnect package doc). nil stays nil.
type converter func(v driver.Value) (any, error)

// passthrough reports whether the driver's values of a DuckDB type already
// follow the qconnect convention of t, so they need no converter: BIGINT
// arrives as int64, DOUBLE as float64, VARCHAR as string, BOOLEAN as bool
// and every TIMESTAMP kind as a time.Time in UTC.
func passthrough(dbType string, t qconnect.Type) bool {
	switch dbType {
	case "BOOLEAN":
		return t == qconnect.Boolean
	case "BIGINT":
		return t == qconnect.Long || t == qconnect.Int || t == qconnect.Short
	case "DOUBLE":
		return t == qconnect.Float || t == qconnect.Real
	case "VARCHAR":
		return t == qconnect.String || t == qconnect.Symbol || t == qconnect.Char
	case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMPTZ":
		return t == qconnect.Timestamp
	}
	return false
}

// converterFor returns the converter of a column, which compatible must
// have accepted.
func converterFor(s source, t qconnect.Type) converter {
	toFloat := t == qconnect.Float || t == qconnect.Real
	switch s {
	case srcInt:
		if toFloat {
			return func(v driver.Value) (any, error) {
				i, err := intValue(v)
				if err != nil || v == nil {
					return nil, err
				}
				return float64(i), nil
			}
		}
		return func(v driver.Value) (any, error) {
			switch v.(type) {
			case int64, nil:
				return v, nil // no new interface value: no allocation
			}
			return intValue(v)
		}
	case srcHuge:
		return func(v driver.Value) (any, error) {
			b, ok := v.(*big.Int)
			if !ok {
				return nil, unexpected(v)
			}
			if toFloat {
				f, _ := new(big.Float).SetInt(b).Float64()
				return f, nil
			}
			if !b.IsInt64() {
				return nil, fmt.Errorf("%s does not fit a long: cast the column to DOUBLE in the query and declare it float", b)
			}
			return b.Int64(), nil
		}
	case srcFloat:
		return func(v driver.Value) (any, error) {
			switch x := v.(type) {
			case float64, nil:
				return v, nil
			case float32:
				return float64(x), nil
			}
			return nil, unexpected(v)
		}
	case srcDecimal:
		return func(v driver.Value) (any, error) {
			switch x := v.(type) {
			case duck.Decimal:
				if x.Value.IsInt64() && x.Scale < 19 {
					return float64(x.Value.Int64()) / math.Pow10(int(x.Scale)), nil
				}
				return x.Float64(), nil
			case nil:
				return nil, nil
			}
			return nil, unexpected(v)
		}
	case srcBlob:
		return func(v driver.Value) (any, error) {
			switch x := v.(type) {
			case []byte:
				return string(x), nil
			case string:
				return x, nil
			case nil:
				return nil, nil
			}
			return nil, unexpected(v)
		}
	case srcTimestamp, srcDate:
		toDate := t == qconnect.Date
		return func(v driver.Value) (any, error) {
			switch x := v.(type) {
			case time.Time:
				if toDate && s == srcTimestamp {
					y, m, d := x.UTC().Date()
					return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
				}
				if x.Location() == time.UTC {
					return v, nil // the driver's values are UTC already
				}
				return x.UTC(), nil
			case nil:
				return nil, nil
			}
			return nil, unexpected(v)
		}
	case srcTime:
		return func(v driver.Value) (any, error) {
			switch x := v.(type) {
			case time.Time:
				return time.Duration(x.Hour())*time.Hour + time.Duration(x.Minute())*time.Minute +
					time.Duration(x.Second())*time.Second + time.Duration(x.Nanosecond()), nil
			case nil:
				return nil, nil
			}
			return nil, unexpected(v)
		}
	case srcInterval:
		return func(v driver.Value) (any, error) {
			switch x := v.(type) {
			case duck.Interval:
				return intervalDuration(x)
			case nil:
				return nil, nil
			}
			return nil, unexpected(v)
		}
	case srcUUID:
		return func(v driver.Value) (any, error) {
			switch x := v.(type) {
			case []byte:
				var g [16]byte
				if len(x) != len(g) {
					return nil, fmt.Errorf("a UUID of %d bytes", len(x))
				}
				copy(g[:], x)
				return g, nil
			case nil:
				return nil, nil
			}
			return nil, unexpected(v)
		}
	case srcNull:
		return func(driver.Value) (any, error) { return nil, nil }
	}
	// srcBool, srcString: the driver value is already the convention.
	return func(v driver.Value) (any, error) { return v, nil }
}

func intValue(v driver.Value) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d does not fit a long: cast the column to DOUBLE in the query and declare it float", x)
		}
		return int64(x), nil
	case nil:
		return 0, nil
	}
	return 0, unexpected(v)
}

// intervalDuration converts a DuckDB interval; a month counts 30 days (the
// convention of DuckDB's epoch() of an interval).
func intervalDuration(iv duck.Interval) (time.Duration, error) {
	const maxUS = math.MaxInt64 / int64(time.Microsecond)
	const usPerDay = int64(24 * time.Hour / time.Microsecond)
	days := int64(iv.Months)*30 + int64(iv.Days)
	if days > maxUS/usPerDay || days < -maxUS/usPerDay || iv.Micros > maxUS || iv.Micros < -maxUS {
		return 0, errIntervalRange
	}
	us := days*usPerDay + iv.Micros // both terms are within ±maxUS: no overflow
	if us > maxUS || us < -maxUS {
		return 0, errIntervalRange
	}
	return time.Duration(us) * time.Microsecond, nil
}

var errIntervalRange = errors.New("interval does not fit a timespan (about ±292 years)")

func unexpected(v driver.Value) error {
	return fmt.Errorf("unexpected driver value of type %T", v)
}

// bindValue converts a parameter value of the qconnect convention (declared
// p) into a value the driver binds with the intended DuckDB type:
// timestamps as TIMESTAMP (µs; a finer fraction is cut), dates as DATE,
// timespans as INTERVAL, lists as DuckDB LISTs, dicts as a JSON VARCHAR
// (use $d::JSON), nil as NULL.
func bindValue(p qconnect.Param, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if list, ok := v.([]any); ok {
		return bindList(p, list)
	}
	return bindScalar(p.Type, v)
}

func bindScalar(t qconnect.Type, v any) (any, error) {
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
		return duck.Typed(x.UTC(), duck.TYPE_TIMESTAMP), nil
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
			b, err := bindScalar(p.Type, v)
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
