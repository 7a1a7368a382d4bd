package server

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qconnect/qconnect"
)

// The publishing pipeline (PROTOCOL appendix 35). Acknowledgement, storage
// and fan-out are three steps:
//
//  1. Accept: a publish's rows are validated, then take their place in the
//     table's order on this gateway (enqueue). This is what "ok" promises
//     with PublishAck "accepted" (the default): from then on every call
//     that starts on this gateway sees the rows (calls wait for the
//     accepted rows of every table to be committed first, settled), and
//     they are delivered to subscribers in that order.
//  2. Store: one goroutine per table at a time (drain) takes every publish
//     queued so far and appends their rows in ONE Append (one transaction:
//     group commit), then the next group, and so on.
//  3. Fan out: the committed group's publishes go to the stream hub in
//     commit order, from the rows in memory (nothing is read back), one
//     update per publish, encoded once per distinct subscription.
//
// With PublishAck "stored" a publish is acknowledged after step 3. The
// first publish to a table, and every publish after a failed commit, waits
// for step 3 in either mode, so that a table that cannot be written (a
// missing table, a read-only file) fails its publisher instead of being
// acknowledged; a publish whose group fails after "accepted" was answered
// is logged and counted (Stats.PublishFailures), never silently lost.

// Publish acknowledgement modes (Config.PublishAck).
const (
	PublishAckAccepted = "accepted"
	PublishAckStored   = "stored"
)

// DefaultPublishQueueRows bounds the rows accepted but not yet committed
// per table; past it publishes wait for their commit (back-pressure).
const DefaultPublishQueueRows = 1_000_000

// maxGroupRows bounds the rows of one group commit.
const maxGroupRows = 100_000

// pubState holds the pipes, one per table (lower-case name).
type pubState struct {
	mu    sync.Mutex
	pipes map[string]*pubPipe
}

// pubPipe orders, stores and fans out the publishes of one table.
type pubPipe struct {
	s     *Server
	table string

	// writing is held around each group's writes, and by retention's
	// pruning of the table (retention.go), so the two never overlap.
	writing sync.Mutex

	mu         sync.Mutex
	queue      []*pubReq
	queuedRows int
	running    bool
	proven     bool   // the last commit succeeded
	accepted   uint64 // publishes accepted so far
	committed  uint64 // publishes committed (or failed) so far
	wake       chan struct{}
	apps       []qconnect.Appender // the backends the table's publishes went to
}

// pubReq is one accepted publish.
type pubReq struct {
	m       *qconnect.Method
	app     qconnect.Appender
	fanout  bool // the hub fans the rows out (false for a live source)
	rows    [][]any
	timeout time.Duration
	pos     uint64
	waited  bool       // the publisher waits for done
	done    chan error // buffered
}

// pipe returns the pipe of table.
func (s *Server) pipe(table string) *pubPipe {
	k := strings.ToLower(table)
	s.pub.mu.Lock()
	defer s.pub.mu.Unlock()
	if s.pub.pipes == nil {
		s.pub.pipes = map[string]*pubPipe{}
	}
	p := s.pub.pipes[k]
	if p == nil {
		p = &pubPipe{s: s, table: table, wake: make(chan struct{})}
		s.pub.pipes[k] = p
	}
	return p
}

// enqueue accepts a publish of rows (validated, in m's column order). It
// reports whether the publisher must wait for req.done: always when wait,
// else when the table has not been written successfully yet or its queue
// is over its bound.
func (p *pubPipe) enqueue(m *qconnect.Method, app qconnect.Appender, fanout bool, rows [][]any, timeout time.Duration, wait bool) *pubReq {
	r := &pubReq{m: m, app: app, fanout: fanout, rows: rows, timeout: timeout, done: make(chan error, 1)}
	p.mu.Lock()
	p.accepted++
	r.pos = p.accepted
	p.queue = append(p.queue, r)
	p.queuedRows += len(rows)
	if !slices.Contains(p.apps, app) {
		p.apps = append(p.apps, app)
	}
	r.waited = wait || !p.proven || p.queuedRows > p.s.cfg.PublishQueueRows
	if !p.running {
		p.running = true
		go p.drain()
	}
	p.mu.Unlock()
	return r
}

// drain commits the queued publishes, a group at a time, until none is
// left.
func (p *pubPipe) drain() {
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		// A prefix of publishes to the same backend with the same
		// columns, up to maxGroupRows rows (at least one publish).
		q, n, rows := p.queue, 0, 0
		for n < len(q) && (n == 0 || rows+len(q[n].rows) <= maxGroupRows) &&
			q[n].app == q[0].app && q[n].fanout == q[0].fanout && sameColumns(q[n].m.Columns, q[0].m.Columns) {
			rows += len(q[n].rows)
			n++
		}
		group := slices.Clone(q[:n])
		clear(q[:n])
		p.queue = q[n:]
		if len(p.queue) == 0 {
			p.queue = nil // let the backing array go
		}
		p.mu.Unlock()
		p.commit(group, rows)
	}
}

// commit stores a group in one Append (each publish alone if the group
// fails, so that a bad publish fails only itself), fans the stored
// publishes out, and answers the publishers.
func (p *pubPipe) commit(group []*pubReq, nrows int) {
	first := group[0]
	timeout := first.timeout
	all := first.rows
	if len(group) > 1 {
		all = make([][]any, 0, nrows)
		for _, r := range group {
			all = append(all, r.rows...)
			timeout = max(timeout, r.timeout)
		}
	}
	errs := make([]error, len(group))
	p.writing.Lock()
	defer p.writing.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err := first.app.Append(ctx, p.table, first.m.Columns, all)
	cancel()
	if err != nil && len(group) > 1 {
		for i, r := range group {
			ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
			errs[i] = r.app.Append(ctx, p.table, r.m.Columns, r.rows)
			cancel()
		}
	} else {
		for i := range errs {
			errs[i] = err
		}
	}
	// Fan out in commit order, one update per publish: a publish's rows
	// reach a subscriber together (PROTOCOL appendix 35).
	failed := 0
	for i, r := range group {
		if errs[i] != nil {
			failed++
		} else if r.fanout {
			p.s.ws.hub.Publish(p.table, r.m.Columns, r.rows)
		}
	}
	p.mu.Lock()
	p.committed = group[len(group)-1].pos
	p.queuedRows -= nrows
	p.proven = failed == 0
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
	for i, r := range group {
		if errs[i] != nil {
			p.s.counters.publishFailures.Add(1)
			if !r.waited {
				p.s.log.Error("an accepted publish could not be stored; its rows were neither stored nor delivered",
					"method", r.m.FullName(), "table", p.table, "rows", len(r.rows), "error", errs[i])
			}
		}
		r.done <- errs[i]
	}
}

// settle waits until every publish accepted on p before the call has been
// committed (or has failed). With backend set it waits only when p writes
// to backend; nothing pending returns at once, under one lock.
func (p *pubPipe) settle(ctx context.Context, backend qconnect.Backend) error {
	p.mu.Lock()
	target := p.accepted
	if p.committed < target && backend != nil &&
		!slices.ContainsFunc(p.apps, func(a qconnect.Appender) bool { return any(a) == any(backend) }) {
		target = p.committed // not a table of this call's backend
	}
	for p.committed < target {
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
	p.mu.Unlock()
	return nil
}

// settled waits until every publish accepted on this gateway before the
// call, to a table of backend (nil: of any backend), has been committed: a
// call that starts after a publish was acknowledged sees its rows
// (read-your-writes). It returns at once when nothing is pending; ctx
// ending first is its error.
func (s *Server) settled(ctx context.Context, backend qconnect.Backend) error {
	s.pub.mu.Lock()
	pipes := make([]*pubPipe, 0, 8) // on the stack for up to 8 tables: this runs before every call
	for _, p := range s.pub.pipes {
		pipes = append(pipes, p)
	}
	s.pub.mu.Unlock()
	for _, p := range pipes {
		if err := p.settle(ctx, backend); err != nil {
			return err
		}
	}
	return nil
}

// FlushPublishes waits (within ctx) until every accepted publish has been
// written and fanned out: the last step of a graceful shutdown, before the
// backends close.
func (s *Server) FlushPublishes(ctx context.Context) error { return s.settled(ctx, nil) }

func sameColumns(a, b []qconnect.Column) bool {
	return slices.EqualFunc(a, b, func(x, y qconnect.Column) bool { return x.Name == y.Name && x.Type == y.Type })
}
