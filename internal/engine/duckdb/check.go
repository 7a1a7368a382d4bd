package duckdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// checkTimeout bounds the check of one method.
const checkTimeout = 10 * time.Second

var (
	missingTableRE  = regexp.MustCompile(`Table with name "?([^"\s!]+)"? does not exist`)
	missingColumnRE = regexp.MustCompile(`(?:Referenced column|Column) "?([^"\s]+)"? not found`)
)

// CheckCatalog verifies every method of c bound to this engine (Backend
// "duckdb" or "") against the schema, without running any query to
// completion:
//
//   - the query prepares as one SELECT: tables and columns exist;
//   - every $name it uses is a declared parameter or $now, and every
//     declared parameter is used (an unused one would silently drop a
//     caller's filter);
//   - run with LIMIT 0 (parameters at their defaults, else a sample value
//     of their type), its result columns match the declared ones by name
//     and compatible type (see Query);
//   - a streaming or publishing method's table exists, with its key and
//     filter columns; its snapshot query is checked like a method query,
//     except that parameters used only as filters need not appear in it.
//
// Each problem is one line "file:line: method g/m: ..." (Method.Pos), for
// example `catalog.yaml:12: method monPublic/getMem: table "monMem2" does
// not exist (tables: monMem, quote, trade)`; the error holds them all.
func (e *Engine) CheckCatalog(c *qconnect.Catalog) error {
	var problems []string
	for _, m := range c.Methods {
		if m.Backend != "" && m.Backend != Backend {
			continue
		}
		for _, p := range e.checkMethod(m) {
			problems = append(problems, fmt.Sprintf("%s: method %s: %s", m.Pos, m.FullName(), p))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

func (e *Engine) checkMethod(m *qconnect.Method) []string {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	conn, err := e.pool.get(ctx)
	if err != nil {
		return []string{"cannot check: " + e.safeMessage(err)}
	}
	defer conn.Close()
	var problems []string
	if m.Stream != nil {
		problems = append(problems, e.checkStream(ctx, conn, m.Stream)...)
	}
	for _, p := range m.Params {
		if p.Name == NowParam {
			problems = append(problems, "parameter now clashes with $now, which is always the server clock: rename the parameter")
		}
	}
	switch {
	case strings.TrimSpace(m.Query) != "":
		problems = append(problems, e.checkQuery(ctx, conn, m, m.Query, true)...)
	case m.Stream == nil:
		return append(problems, "has no query: give it one")
	}
	if m.Stream != nil && strings.TrimSpace(m.Stream.Snapshot) != "" {
		for _, p := range e.checkQuery(ctx, conn, m, m.Stream.Snapshot, false) {
			problems = append(problems, "snapshot: "+p)
		}
	}
	return problems
}

// checkQuery prepares a query (the method's, or its stream's snapshot) and
// checks it with checkRun. allParams asks that every declared parameter be
// used.
func (e *Engine) checkQuery(ctx context.Context, conn *conn, m *qconnect.Method, query string, allParams bool) []string {
	var problems []string
	stmt, prepErr := conn.prepare(wrapQuery(query, 0) + " LIMIT 0")
	if prepErr == nil {
		stop := conn.watch(ctx)
		problems = append(problems, e.checkRun(ctx, stmt, m, allParams)...)
		stop()
	}
	if prepErr != nil {
		problems = append(problems, e.describePrepareError(ctx, conn, query, prepErr))
	}
	return problems
}

// checkRun checks parameter use and runs the statement (LIMIT 0) the way
// Query does; it closes stmt.
func (e *Engine) checkRun(ctx context.Context, stmt *stmt, m *qconnect.Method, allParams bool) []string {
	var problems []string
	used := map[string]bool{}
	args := make([]arg, 0, stmt.NumInput())
	for i := 1; i <= stmt.NumInput(); i++ {
		name, err := stmt.ParamName(i)
		if err == nil {
			var want bindings.Type
			if want, err = stmt.ParamType(i); err == nil {
				var v any
				if v, err = e.sampleArg(m, name, want); err == nil {
					args = append(args, arg{Name: name, Ordinal: i, Value: v})
				}
			}
		}
		if err != nil {
			problems = append(problems, err.Error())
		}
		used[name] = true
	}
	for _, p := range m.Params {
		if allParams && !used[p.Name] {
			problems = append(problems, fmt.Sprintf("parameter %s is declared but the query never uses $%s", p.Name, p.Name))
		}
	}
	if len(problems) > 0 {
		_ = stmt.Close()
		return problems
	}
	st, err := startStream(ctx, stmt, args)
	if err != nil {
		return append(problems, "running the query (LIMIT 0) with sample parameters: "+e.safeMessage(err))
	}
	defer st.close()
	if len(m.Columns) == 0 {
		return append(problems, "declares no columns: declare "+describeColumns(st.cols))
	}
	_, colProblems := planColumns(m.Columns, st.cols)
	return append(problems, colProblems...)
}

// sampleArg is the value parameter name is checked with (see sampleValue);
// an error is the problem to report.
func (e *Engine) sampleArg(m *qconnect.Method, name string, want bindings.Type) (any, error) {
	if name == NowParam {
		return bindTime(time.Now(), want), nil
	}
	p, ok := m.Param(name)
	if !ok {
		return nil, fmt.Errorf("the query uses $%s, which is not a declared parameter: declare it or remove it from the query", name)
	}
	v, err := bindValue(p, sampleValue(p), want)
	if err != nil {
		return nil, fmt.Errorf("parameter %s: %v", name, err)
	}
	return v, nil
}

// sampleValue is the value a parameter is checked with: its default, else a
// value of its type (a one-element list for a list).
func sampleValue(p qconnect.Param) any {
	if p.Default != nil {
		return p.Default
	}
	var v any
	switch p.Type {
	case qconnect.Boolean:
		v = false
	case qconnect.Long, qconnect.Int, qconnect.Short:
		v = int64(1)
		if p.Min != nil {
			v = int64(*p.Min)
		}
	case qconnect.Float, qconnect.Real:
		v = 1.0
		if p.Min != nil {
			v = *p.Min
		}
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		v = "x"
		if len(p.Enum) > 0 {
			v = p.Enum[0]
		}
	case qconnect.Timestamp:
		v = time.Now().UTC()
	case qconnect.Date:
		y, mo, d := time.Now().UTC().Date()
		v = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case qconnect.Timespan:
		v = time.Minute
	case qconnect.Dict:
		v = map[string]any{}
	}
	if p.List && v != nil {
		return []any{v}
	}
	return v
}

// describePrepareError rewrites DuckDB's missing table / column errors into
// a line that lists what does exist.
func (e *Engine) describePrepareError(ctx context.Context, conn *conn, query string, err error) string {
	msg := e.safeMessage(err)
	if sm := missingTableRE.FindStringSubmatch(msg); sm != nil {
		return fmt.Sprintf("table %q does not exist (tables: %s)", sm[1], strings.Join(e.tables, ", "))
	}
	if sm := missingColumnRE.FindStringSubmatch(msg); sm != nil {
		tables := tableNames(conn, query)
		sort.Strings(tables)
		var have []string
		for _, t := range tables {
			if cols := e.tableColumns(ctx, conn, t); len(cols) > 0 {
				have = append(have, t+": "+strings.Join(cols, ", "))
			}
		}
		if len(have) == 0 {
			return fmt.Sprintf("column %q does not exist (%s)", sm[1], msg)
		}
		return fmt.Sprintf("column %q does not exist (columns of %s)", sm[1], strings.Join(have, "; "))
	}
	if strings.Contains(msg, `at or near ";"`) {
		return "the query does not prepare: " + msg + " (a method query is one SELECT statement, without ;)"
	}
	return "the query does not prepare: " + msg
}

// tableColumns lists the columns of a table or view on the search path, in
// order; none if there is none of that name.
func (e *Engine) tableColumns(ctx context.Context, conn *conn, table string) []string {
	cols, err := conn.queryNames(ctx, `SELECT column_name FROM duckdb_columns()
WHERE lower(table_name) = lower($t) AND schema_name = 'main' AND database_name = (
  SELECT database_name FROM duckdb_columns() WHERE lower(table_name) = lower($t) AND schema_name = 'main'
  ORDER BY database_name = 'memory' DESC LIMIT 1)
ORDER BY column_index`, named("t", table))
	if err != nil {
		return nil
	}
	return cols
}

// tableNames lists the tables a query names (duckdb_get_table_names).
func tableNames(conn *conn, query string) []string {
	v := bindings.GetTableNames(conn.h, query, false)
	defer bindings.DestroyValue(&v)
	if v.Ptr == nil || bindings.IsNullValue(v) {
		return nil
	}
	n := bindings.GetListSize(v)
	names := make([]string, 0, n)
	for i := range n {
		c := bindings.GetListChild(v, i)
		names = append(names, bindings.GetVarchar(c))
		bindings.DestroyValue(&c)
	}
	return names
}

// checkStream checks a streaming or publishing method's source table.
func (e *Engine) checkStream(ctx context.Context, conn *conn, s *qconnect.StreamSpec) []string {
	if s.Table == "" {
		return []string{"streaming declaration has no table: name the source table"}
	}
	cols := e.tableColumns(ctx, conn, s.Table)
	if len(cols) == 0 {
		return []string{fmt.Sprintf("table %q does not exist (tables: %s)", s.Table, strings.Join(e.tables, ", "))}
	}
	has := func(c string) bool {
		for _, x := range cols {
			if strings.EqualFold(x, c) {
				return true
			}
		}
		return false
	}
	var problems []string
	want := []string{}
	if s.Key != "" {
		want = append(want, s.Key)
	}
	filters := make([]string, 0, len(s.Filters))
	for _, c := range s.Filters {
		filters = append(filters, c)
	}
	sort.Strings(filters)
	for _, c := range append(want, filters...) {
		if !has(c) {
			problems = append(problems, fmt.Sprintf("column %q does not exist in table %s (columns: %s)", c, s.Table, strings.Join(cols, ", ")))
		}
	}
	return problems
}

// describeColumns renders result columns as a catalog would declare them.
func describeColumns(cols []colType) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		t, ok := naturalType(c)
		if !ok {
			t = qconnect.Type("? (" + c.dbType + ")")
		}
		parts[i] = fmt.Sprintf("{name: %s, type: %s}", c.name, t)
	}
	return strings.Join(parts, ", ")
}
