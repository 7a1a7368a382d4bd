package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/qconnect/qconnect"
)

// NowParam is the query parameter bound to Call.Now in every method query.
const NowParam = "now"

// Query runs call.Method's SQL with the call's parameters and returns its
// rows (it implements qconnect.Backend).
//
// The query is run as SELECT * FROM (<query>) LIMIT <call.Limit> (no LIMIT
// when call.Limit is not positive). Parameters are bound by name, never
// spliced into the text: only the names the query references are bound
// (DuckDB rejects unused ones), each from call.Params, converted by its
// declaration (lists → LIST, timespan → INTERVAL, timestamp → TIMESTAMP,
// date → DATE, nil → NULL), and $now is call.Now (time.Now() when zero).
// A $name that is neither declared nor now is a CodeAnalyticError naming it.
//
// The result columns are matched to the declared ones by name (the first
// exact match, else one that differs only in case), in declared order; a
// missing, undeclared or incompatible column is a CodeAnalyticError
// (CheckCatalog finds these at startup). A method without declared columns
// returns the query's columns with their natural types.
//
// The connection is held until the Rows is closed or has returned io.EOF.
// Errors are *qconnect.Error (see translate for the codes).
func (e *Engine) Query(ctx context.Context, call qconnect.Call) (qconnect.Rows, error) {
	m := call.Method
	if m == nil {
		return nil, internalError("duckdb: Query called without a method")
	}
	if m.Backend != "" && m.Backend != Backend {
		return nil, internalError("duckdb: method %s is bound to backend %q, not %q", m.FullName(), m.Backend, Backend)
	}
	if strings.TrimSpace(m.Query) == "" {
		return nil, qconnect.Errorf(qconnect.CodeAnalyticError, "method %s has no query: give it one in the catalog", m.FullName())
	}
	now := call.Now
	if now.IsZero() {
		now = time.Now()
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, e.translate(ctx, m, err)
	}
	r := &rows{conn: conn, engine: e, method: m, size: e.batchSize}
	if call.Limit > 0 && call.Limit < int64(r.size) {
		r.size = int(call.Limit)
	}
	var names, dbTypes []string
	err = conn.Raw(func(dc any) error {
		dconn, ok := dc.(*duck.Conn)
		if !ok {
			return internalError("duckdb: unexpected driver connection %T", dc)
		}
		st, err := dconn.PrepareContext(ctx, wrapQuery(m.Query, call.Limit))
		if err != nil {
			return err
		}
		stmt, ok := st.(*duck.Stmt)
		if !ok {
			_ = st.Close()
			return internalError("duckdb: unexpected driver statement %T", st)
		}
		args, err := bindArgs(stmt, m, call.Params, now)
		if err != nil {
			_ = stmt.Close()
			return err
		}
		drows, err := stmt.QueryContext(ctx, args)
		if err != nil {
			_ = stmt.Close()
			return err
		}
		r.stmt, r.drows = stmt, drows
		names = drows.Columns()
		dbTypes = make([]string, len(names))
		if typed, ok := drows.(driver.RowsColumnTypeDatabaseTypeName); ok {
			for i := range names {
				dbTypes[i] = typed.ColumnTypeDatabaseTypeName(i)
			}
		}
		return nil
	})
	if err != nil {
		r.release()
		return nil, e.translate(ctx, m, err)
	}
	plan, problems := planColumns(m.Columns, names, dbTypes)
	if len(problems) > 0 {
		r.release()
		return nil, &qconnect.Error{Code: qconnect.CodeAnalyticError,
			Message: "method " + m.FullName() + " does not match its declared columns: " + strings.Join(problems, "; "),
			Details: problems}
	}
	r.plan = plan
	r.dest = make([]driver.Value, len(names))
	return r, nil
}

// wrapQuery makes the method query a subquery, which also guarantees it is
// a single statement. The LIMIT is an integer formatted here.
func wrapQuery(query string, limit int64) string {
	q := strings.TrimSpace(query)
	for strings.HasSuffix(q, ";") {
		q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
	}
	// The newline ends a trailing -- comment before the closing parenthesis.
	w := "SELECT * FROM (\n" + q + "\n)"
	if limit > 0 {
		w += " LIMIT " + strconv.FormatInt(limit, 10)
	}
	return w
}

// bindArgs binds every parameter the prepared statement references, by
// name.
func bindArgs(stmt *duck.Stmt, m *qconnect.Method, params map[string]any, now time.Time) ([]driver.NamedValue, error) {
	n := stmt.NumInput()
	args := make([]driver.NamedValue, 0, n)
	for i := 1; i <= n; i++ {
		name, err := stmt.ParamName(i)
		if err != nil {
			return nil, err
		}
		var v any
		if name == NowParam {
			v = duck.Typed(now.UTC(), duck.TYPE_TIMESTAMP)
		} else {
			p, ok := m.Param(name)
			if !ok {
				return nil, qconnect.Errorf(qconnect.CodeAnalyticError,
					"method %s: the query uses $%s, which is not a declared parameter: declare it in the catalog or remove it from the query", m.FullName(), name)
			}
			v, err = bindValue(p, params[name])
			if err != nil {
				return nil, qconnect.Errorf(qconnect.CodeAnalyticError, "method %s: parameter %s: %v", m.FullName(), name, err)
			}
		}
		args = append(args, driver.NamedValue{Name: name, Ordinal: i, Value: v})
	}
	return args, nil
}

// columnPlan maps result columns to declared ones.
type columnPlan struct {
	cols []qconnect.Column
	src  []int       // result column index of each declared column
	conv []converter // per declared column; nil: the driver value as is
}

// planColumns matches the result (names and DuckDB types) against the
// declared columns. Each problem is one sentence naming the column.
func planColumns(declared []qconnect.Column, names, dbTypes []string) (columnPlan, []string) {
	var plan columnPlan
	var problems []string
	if len(declared) == 0 {
		for i, n := range names {
			t, ok := naturalType(dbTypes[i])
			if !ok {
				problems = append(problems, fmt.Sprintf("column %q has DuckDB type %s, which no qconnect column type carries: cast it in the query (e.g. ::VARCHAR)", n, dbTypes[i]))
				continue
			}
			plan.cols = append(plan.cols, qconnect.Column{Name: n, Type: t})
			plan.src = append(plan.src, i)
			plan.conv = append(plan.conv, newConverter(dbTypes[i], t))
		}
		return plan, problems
	}
	used := make([]bool, len(names))
	for _, c := range declared {
		idx := -1
		for i, n := range names {
			if !used[i] && n == c.Name {
				idx = i
				break
			}
		}
		if idx < 0 {
			for i, n := range names {
				if !used[i] && strings.EqualFold(n, c.Name) {
					idx = i
					break
				}
			}
		}
		if idx < 0 {
			problems = append(problems, fmt.Sprintf("column %q is declared but the query returns no such column (it returns %s)", c.Name, strings.Join(names, ", ")))
			continue
		}
		used[idx] = true
		s := sourceOf(dbTypes[idx])
		if !compatible(s, c.Type) {
			problems = append(problems, fmt.Sprintf("column %q is declared %s but the query returns %s: cast it in the query or change the declared type", c.Name, c.Type, dbTypes[idx]))
			continue
		}
		plan.cols = append(plan.cols, c)
		plan.src = append(plan.src, idx)
		plan.conv = append(plan.conv, newConverter(dbTypes[idx], c.Type))
	}
	for i, n := range names {
		if !used[i] {
			problems = append(problems, fmt.Sprintf("the query returns column %q, which is not declared: declare it or drop it from the query", n))
		}
	}
	return plan, problems
}

// newConverter is nil when the driver's values need no conversion.
func newConverter(dbType string, t qconnect.Type) converter {
	if passthrough(dbType, t) {
		return nil
	}
	return converterFor(sourceOf(dbType), t)
}
