package fakeq

import (
	"fmt"
	"net"
	"reflect"

	"github.com/qconnect/qconnect/kdb/ipc"
)

// tableLen returns the row count of t.
func tableLen(t ipc.Table) (int, error) {
	if len(t.Data) == 0 {
		return 0, nil
	}
	n := reflect.ValueOf(t.Data[0]).Len()
	for i, col := range t.Data {
		if reflect.ValueOf(col).Len() != n {
			return 0, &ipc.Error{Msg: "length"}
		}
		_ = i
	}
	return n, nil
}

// appendTable returns t with rows appended; the column types must match.
func appendTable(t, rows ipc.Table) (ipc.Table, error) {
	if len(rows.Columns) != len(t.Columns) {
		return t, &ipc.Error{Msg: "length"}
	}
	if _, err := tableLen(rows); err != nil {
		return t, err
	}
	out := ipc.Table{Columns: t.Columns, Data: make([]any, len(t.Data))}
	for i := range t.Data {
		a, b := reflect.ValueOf(t.Data[i]), reflect.ValueOf(rows.Data[i])
		if a.Type() != b.Type() {
			return t, &ipc.Error{Msg: "type"}
		}
		if a.Kind() == reflect.String { // a char column
			out.Data[i] = a.String() + b.String()
			continue
		}
		out.Data[i] = reflect.AppendSlice(a, b).Interface()
	}
	return out, nil
}

// filterSyms returns the rows of t whose sym is in syms (all rows for nil).
func filterSyms(t ipc.Table, syms map[string]bool) ipc.Table {
	if syms == nil {
		return t
	}
	var symCol []string
	for i, c := range t.Columns {
		if c == "sym" {
			symCol, _ = t.Data[i].([]string)
		}
	}
	var keep []int
	for i, s := range symCol {
		if syms[s] {
			keep = append(keep, i)
		}
	}
	return take(t, keep)
}

// take returns rows idx of t.
func take(t ipc.Table, idx []int) ipc.Table {
	out := ipc.Table{Columns: t.Columns, Data: make([]any, len(t.Data))}
	for j, col := range t.Data {
		v := reflect.ValueOf(col)
		if v.Kind() == reflect.String {
			b := make([]byte, len(idx))
			for k, i := range idx {
				b[k] = v.String()[i]
			}
			out.Data[j] = string(b)
			continue
		}
		s := reflect.MakeSlice(v.Type(), len(idx), len(idx))
		for k, i := range idx {
			s.Index(k).Set(v.Index(i))
		}
		out.Data[j] = s.Interface()
	}
	return out
}

// where returns the indexes of the rows of t for which keep is true.
func where(n int, keep func(i int) bool) []int {
	var idx []int
	for i := 0; i < n; i++ {
		if keep(i) {
			idx = append(idx, i)
		}
	}
	return idx
}

// column returns column name of t.
func column[T any](t ipc.Table, name string) T {
	for i, c := range t.Columns {
		if c == name {
			if v, ok := t.Data[i].(T); ok {
				return v
			}
			panic(fmt.Sprintf("fakeq: column %s is %T", name, t.Data[i]))
		}
	}
	panic("fakeq: no column " + name)
}

func splitHostPort(addr string) (string, string, error) { return net.SplitHostPort(addr) }
