package kdb

import (
	"context"
	"fmt"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// Append publishes rows to a tickerplant with a synchronous
// .u.upd[`table; columns], so that the reply acknowledges them: columns is
// a list of one typed vector per declared column, in declaration order (the
// form tick.q's .u.upd takes). The gateway has validated the rows against
// the columns already. A q error is an analyticError carrying q's text.
func (e *Engine) Append(ctx context.Context, table string, cols []qconnect.Column, rows [][]any) error {
	data := make([]any, len(cols))
	for j, c := range cols {
		v, err := qColumn(c, rows, j)
		if err != nil {
			return qconnect.Errorf(qconnect.CodeInvalidParams, "column %s: %v", c.Name, err)
		}
		data[j] = v
	}
	_, err := e.call(ctx, ".u.upd", []any{ipc.Symbol(".u.upd"), ipc.Symbol(table), data})
	return err
}

// qColumn builds the q vector of column j of rows (values of the package
// convention; nil is the type's null).
func qColumn(c qconnect.Column, rows [][]any, j int) (any, error) {
	n := len(rows)
	get := func(i int) any { return rows[i][j] }
	bad := func(i int) error { return fmt.Errorf("row %d: %T is not a %s value", i, get(i), c.Type) }
	switch c.Type {
	case qconnect.Timestamp, qconnect.Date:
		ts, ds := make([]ipc.Timestamp, n), make([]ipc.Date, n)
		for i := range rows {
			switch x := get(i).(type) {
			case nil:
				ts[i], ds[i] = ipc.Timestamp(ipc.NullLong), ipc.Date(ipc.NullInt)
			case time.Time:
				ts[i], ds[i] = ipc.TimestampOf(x), ipc.DateOf(x)
			default:
				return nil, bad(i)
			}
		}
		if c.Type == qconnect.Date {
			return ds, nil
		}
		return ts, nil
	case qconnect.Timespan, qconnect.Time:
		ns, ms := make([]ipc.Timespan, n), make([]ipc.Time, n)
		for i := range rows {
			switch x := get(i).(type) {
			case nil:
				ns[i], ms[i] = ipc.Timespan(ipc.NullLong), ipc.Time(ipc.NullInt)
			case time.Duration:
				ns[i], ms[i] = ipc.Timespan(x), ipc.Time(x/time.Millisecond)
			default:
				return nil, bad(i)
			}
		}
		if c.Type == qconnect.Time {
			return ms, nil
		}
		return ns, nil
	case qconnect.Symbol, qconnect.String, qconnect.Char:
		syms, strs, chars := make([]string, n), make([]any, n), make([]byte, n)
		for i := range rows {
			switch x := get(i).(type) {
			case nil:
				strs[i], chars[i] = "", ' '
			case string:
				syms[i], strs[i] = x, x
				if len(x) > 0 {
					chars[i] = x[0]
				} else {
					chars[i] = ' '
				}
			default:
				return nil, bad(i)
			}
		}
		switch c.Type {
		case qconnect.Symbol:
			return syms, nil
		case qconnect.Char:
			return string(chars), nil
		}
		return strs, nil
	case qconnect.Long, qconnect.Int, qconnect.Short:
		out := make([]int64, n)
		for i := range rows {
			switch x := get(i).(type) {
			case nil:
				out[i] = ipc.NullLong
			case int64:
				out[i] = x
			default:
				return nil, bad(i)
			}
		}
		switch c.Type {
		case qconnect.Int:
			return narrowed(out, ipc.NullInt), nil
		case qconnect.Short:
			return narrowed(out, ipc.NullShort), nil
		}
		return out, nil
	case qconnect.Float, qconnect.Real:
		out, o32 := make([]float64, n), make([]float32, n)
		for i := range rows {
			switch x := get(i).(type) {
			case nil:
				out[i], o32[i] = ipc.NullFloat(), ipc.NullReal()
			case float64:
				out[i], o32[i] = x, float32(x)
			default:
				return nil, bad(i)
			}
		}
		if c.Type == qconnect.Real {
			return o32, nil
		}
		return out, nil
	case qconnect.Boolean:
		out := make([]bool, n)
		for i := range rows {
			switch x := get(i).(type) {
			case nil:
			case bool:
				out[i] = x
			default:
				return nil, bad(i)
			}
		}
		return out, nil
	case qconnect.GUID:
		out := make([]ipc.GUID, n)
		for i := range rows {
			switch x := get(i).(type) {
			case nil:
			case [16]byte:
				out[i] = x
			default:
				return nil, bad(i)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("type %s cannot be published to kdb+", c.Type)
}

// narrowed converts a column of longs to a narrower integer column, long
// nulls to its null.
func narrowed[T int16 | int32](longs []int64, null T) []T {
	o := make([]T, len(longs))
	for i, x := range longs {
		o[i] = T(x)
		if x == ipc.NullLong {
			o[i] = null
		}
	}
	return o
}
