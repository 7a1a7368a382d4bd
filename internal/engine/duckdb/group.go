package duckdb

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/qconnect/qconnect"
)

// maxGroupRows bounds the rows one group transaction takes; more wait for
// the next one.
const maxGroupRows = 100_000

// appendGroups is the group commit of concurrent Appends: per table, the
// first Append to find no transaction running becomes the committer; the
// Appends that arrive while it commits queue up, and the committer then
// stores all of them (same columns, in arrival order) in one transaction,
// and so on until the queue is empty. Each Append returns when the
// transaction holding its rows has committed (or failed).
//
// Atomicity per Append is kept: when a group transaction fails, its
// Appends are retried one by one, so a bad row fails only its own Append.
// Order is kept: the rows of one Append stay together and in order, and
// Appends are stored in the order they queued, so a publisher that waits
// for each Append sees its rows stored in its order.
type appendGroups struct {
	mu      sync.Mutex
	pending map[string][]*appendReq // by lower-case table name
	running map[string]bool
}

type appendReq struct {
	ctx   context.Context
	table string
	cols  []qconnect.Column
	rows  [][]any
	done  chan error
}

func (g *appendGroups) append(ctx context.Context, e *Engine, table string, cols []qconnect.Column, rows [][]any) error {
	key := strings.ToLower(table)
	req := &appendReq{ctx: ctx, table: table, cols: cols, rows: rows, done: make(chan error, 1)}
	g.mu.Lock()
	if g.pending == nil {
		g.pending, g.running = map[string][]*appendReq{}, map[string]bool{}
	}
	g.pending[key] = append(g.pending[key], req)
	lead := !g.running[key]
	if lead {
		g.running[key] = true
	}
	g.mu.Unlock()
	if lead {
		g.commitAll(e, key)
	}
	return <-req.done
}

// commitAll commits the queued Appends of a table until none is left.
func (g *appendGroups) commitAll(e *Engine, key string) {
	for {
		g.mu.Lock()
		q := g.pending[key]
		if len(q) == 0 {
			delete(g.pending, key)
			delete(g.running, key)
			g.mu.Unlock()
			return
		}
		// Take a prefix with the first Append's columns, up to
		// maxGroupRows rows (always at least one Append).
		n, rows := 0, 0
		for n < len(q) && (n == 0 || rows+len(q[n].rows) <= maxGroupRows) && sameCols(q[n].cols, q[0].cols) && strings.EqualFold(q[n].table, q[0].table) {
			rows += len(q[n].rows)
			n++
		}
		group := slices.Clone(q[:n])
		clear(q[:n])
		g.pending[key] = q[n:]
		g.mu.Unlock()
		g.commit(e, group)
	}
}

// commit stores a group in one transaction, or each Append alone when the
// group fails.
func (g *appendGroups) commit(e *Engine, group []*appendReq) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- e.appendError(r.ctx, r.table, err)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		r := live[0]
		r.done <- e.appendOnce(r.ctx, r.table, r.cols, r.rows)
		return
	}
	var rows [][]any
	for _, r := range live {
		rows = append(rows, r.rows...)
	}
	// The group's transaction is not bound to any one caller's context:
	// a caller that leaves does not fail the others.
	if err := e.appendOnce(context.WithoutCancel(live[0].ctx), live[0].table, live[0].cols, rows); err == nil {
		for _, r := range live {
			r.done <- nil
		}
		return
	}
	for _, r := range live {
		r.done <- e.appendOnce(r.ctx, r.table, r.cols, r.rows)
	}
}

func sameCols(a, b []qconnect.Column) bool {
	return slices.EqualFunc(a, b, func(x, y qconnect.Column) bool { return x.Name == y.Name && x.Type == y.Type })
}
