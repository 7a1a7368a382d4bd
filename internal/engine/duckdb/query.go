package duckdb

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
)

// NowParam is the query parameter bound to Call.Now in every method query.
const NowParam = "now"

// Query runs call.Method's SQL with the call's parameters and returns its
// rows (it implements qconnect.Backend).
//
// The query is run as SELECT * FROM (<query>) LIMIT <call.Limit> (no LIMIT
// when call.Limit is not positive), and Rows.Next never returns more than
// call.Limit rows either. Parameters are bound by name, never spliced into
// the text: only the names the query references are bound (DuckDB rejects
// unused ones), each from call.Params, converted by its declaration (see
// bindValue: lists → LIST, timespan → INTERVAL, timestamp → TIMESTAMP or
// TIMESTAMP_NS, date → DATE, nil → NULL), and $now is call.Now (time.Now()
// when zero). A $name that is neither declared nor now is a
// CodeAnalyticError naming it.
//
// The result streams: DuckDB computes it chunk by chunk as Rows.Next asks
// for rows, so the memory a call holds is bounded by the batch size, not
// by the result size. When ctx ends, the running query is interrupted and
// Query or Rows.Next return a CodeTimeout error promptly.
//
// The result columns are matched to the declared ones by name (the first
// exact match, else one that differs only in case), in declared order; a
// missing, undeclared or incompatible column is a CodeAnalyticError
// (CheckCatalog finds these at startup). A method without declared columns
// returns the query's columns with their natural types.
//
// The connection is held until the Rows is closed, has returned io.EOF or
// an error. The server always closes its Rows; one dropped without Close
// is closed by the garbage collector (runtime.AddCleanup), so it holds its
// connection until the next collection rather than forever. Errors are
// *qconnect.Error (see translate for the codes).
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
	var fill *fillingRows
	if e.cache != nil {
		if key, deps, ok := e.cache.plan(call); ok {
			if r, hit := e.cache.get(key); hit {
				return r, nil
			}
			mine, wait := e.cache.lead(key, deps)
			if wait != nil {
				// The same call is running: wait for it rather than run the
				// query again, then take its result if it is still current.
				select {
				case <-wait:
				case <-ctx.Done():
					return nil, e.translate(ctx, m, ctx.Err())
				}
				if r, hit := e.cache.get(key); hit {
					return r, nil
				}
			}
			// The generations before the query starts: an Append that
			// completes from here on makes this result stale.
			fill = &fillingRows{c: e.cache, key: key, flight: mine, entry: &cacheEntry{deps: deps, snap: e.cache.snapshot(deps)}}
			if mine != nil {
				// Joiners never wait past the leader's call: its end (or a
				// Rows dropped without Close) lands the flight too.
				context.AfterFunc(ctx, func() { e.cache.land(key, mine) })
				defer func() {
					if fill.Rows == nil { // the query failed to start
						e.cache.land(key, mine)
					}
				}()
			}
		}
	}
	conn, err := e.pool.get(ctx)
	if err != nil {
		return nil, e.translate(ctx, m, err)
	}
	c := &cursor{conn: conn, engine: e, method: m, qctx: ctx, size: e.batchSize, left: -1}
	if call.Limit > 0 {
		c.left = call.Limit
		c.size = int(min(int64(c.size), call.Limit))
	}
	c.st, err = startCall(ctx, conn, call, func() {
		// From here on a cancelled ctx interrupts the query, until release.
		c.intr.arm(conn.h)
		c.stopWatch = context.AfterFunc(ctx, func() { c.intr.interrupt() })
	})
	if err == nil {
		err = ctx.Err() // an interrupted execution may look like a success
	}
	if err != nil {
		c.release()
		return nil, e.translate(ctx, m, err)
	}
	if !c.st.streaming {
		e.log.Warn("duckdb: the result is not streamed; it is held in memory whole", "method", m.FullName())
	}
	plan, problems := planColumns(m.Columns, c.st.cols)
	if len(problems) > 0 {
		c.release()
		return nil, &qconnect.Error{Code: qconnect.CodeAnalyticError,
			Message: "method " + m.FullName() + " does not match its declared columns: " + strings.Join(problems, "; "),
			Details: problems}
	}
	c.plan = plan
	c.vecs = make([]vec, len(plan.src))
	r := &rows{cursor: c}
	runtime.AddCleanup(r, func(c *cursor) { _ = c.Close() }, c)
	if fill != nil {
		fill.Rows = r
		return fill, nil
	}
	return r, nil
}

// startCall prepares call's query on conn (wrapped for its limit), binds
// its parameters with call.Now (the time now when zero) as $now, calls
// armed (from when the statement may be interrupted) and starts a
// streaming result. Errors are DuckDB's or the binding's, untranslated.
func startCall(ctx context.Context, conn *conn, call qconnect.Call, armed func()) (*stream, error) {
	now := call.Now
	if now.IsZero() {
		now = time.Now()
	}
	stmt, err := conn.prepare(wrapQuery(call.Method.Query, call.Limit))
	if err != nil {
		return nil, err
	}
	args, err := bindArgs(stmt, call.Method, call.Params, now)
	if err != nil {
		_ = stmt.Close()
		return nil, err
	}
	armed()
	return startStream(ctx, stmt, args)
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
func bindArgs(stmt *stmt, m *qconnect.Method, params map[string]any, now time.Time) ([]arg, error) {
	n := stmt.NumInput()
	args := make([]arg, 0, n)
	for i := 1; i <= n; i++ {
		name, err := stmt.ParamName(i)
		if err != nil {
			return nil, err
		}
		want, err := stmt.ParamType(i)
		if err != nil {
			return nil, err
		}
		var v any
		if name == NowParam {
			v = bindTime(now.Truncate(time.Microsecond), want) // µs: keeps TIMESTAMP pruning (bindValue)
		} else {
			p, ok := m.Param(name)
			if !ok {
				return nil, qconnect.Errorf(qconnect.CodeAnalyticError,
					"method %s: the query uses $%s, which is not a declared parameter: declare it in the catalog or remove it from the query", m.FullName(), name)
			}
			v, err = bindValue(p, params[name], want)
			if err != nil {
				return nil, qconnect.Errorf(qconnect.CodeAnalyticError, "method %s: parameter %s: %v", m.FullName(), name, err)
			}
		}
		args = append(args, arg{Name: name, Ordinal: i, Value: v})
	}
	return args, nil
}

// columnPlan maps result columns to declared ones.
type columnPlan struct {
	cols []qconnect.Column
	src  []int     // result column index of each declared column
	dec  []decoder // per declared column
}

// planColumns matches the result columns against the declared ones. Each
// problem is one sentence naming the column.
func planColumns(declared []qconnect.Column, result []colType) (columnPlan, []string) {
	var plan columnPlan
	var problems []string
	add := func(c qconnect.Column, i int) {
		plan.cols = append(plan.cols, c)
		plan.src = append(plan.src, i)
		plan.dec = append(plan.dec, newDecoder(result[i], c.Type))
	}
	if len(declared) == 0 {
		for i, r := range result {
			t, ok := naturalType(r)
			if !ok {
				problems = append(problems, fmt.Sprintf("column %q has DuckDB type %s, which qconnect cannot return; cast it in the query (e.g. %s::VARCHAR)", r.name, r.dbType, sqlIdent(r.name)))
				continue
			}
			add(qconnect.Column{Name: r.name, Type: t}, i)
		}
		return plan, problems
	}
	names := make([]string, len(result))
	for i, r := range result {
		names[i] = r.name
	}
	used := make([]bool, len(result))
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
		r := result[idx]
		if !compatible(r.src, c.Type) {
			if r.src == srcUnsupported {
				problems = append(problems, fmt.Sprintf("column %q has DuckDB type %s, which qconnect cannot return; cast it in the query (e.g. %s::VARCHAR)", c.Name, r.dbType, sqlIdent(r.name)))
			} else {
				problems = append(problems, fmt.Sprintf("column %q is declared %s but the query returns %s: cast it in the query or change the declared type", c.Name, c.Type, r.dbType))
			}
			continue
		}
		add(c, idx)
	}
	for i, n := range names {
		if !used[i] {
			problems = append(problems, fmt.Sprintf("the query returns column %q, which is not declared: declare it or drop it from the query", n))
		}
	}
	return plan, problems
}

// sqlIdent quotes a column name for a suggested cast when it is not a
// plain identifier.
func sqlIdent(name string) string {
	if qconnect.ValidName(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
