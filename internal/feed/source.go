package feed

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/stream"
)

// DefaultFeedQueue bounds the events a live feed of a Source holds for the
// hub; beyond it updates are dropped and the feed emits LiveReset.
const DefaultFeedQueue = 1024

// defaultSnapshotCap bounds a snapshot of a method without a row cap.
const defaultSnapshotCap = 100_000

// Source is the demo's live source: a backend (the embedded engine) whose
// streaming methods are fed by the rows appended to their tables, as a
// tickerplant feeds its subscribers. It is a qconnect.Backend (queries go
// to the wrapped backend), a qconnect.Appender (rows are stored by the
// wrapped backend's Appender, then streamed) and a qconnect.LiveSource
// (the gateway's stream hub opens one Feed per distinct subscription).
//
// Every row reaches subscribers exactly once and in order: the demo feed's
// rows (Emit) and rows published by clients (Append, which the gateway
// does not fan out itself for a live source) take the same path, and a
// feed's snapshot is read under the same lock as the appends, so no row
// is both in a snapshot and in the updates that follow it.
type Source struct {
	b   qconnect.Backend
	log *slog.Logger

	mu    sync.Mutex // serialises appends with snapshots and feed registration
	feeds map[string]map[*liveFeed]struct{}
	queue int
}

// NewSource wraps b (which should be a qconnect.Appender for rows to be
// stored). log may be nil.
func NewSource(b qconnect.Backend, log *slog.Logger) *Source {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{b: b, log: log, feeds: map[string]map[*liveFeed]struct{}{}, queue: DefaultFeedQueue}
}

// LocalLive reports true: a Source's feeds carry only the rows appended
// in this process (qconnect.LocalLive), so with shared state every
// gateway applies every publish to its own Source.
func (s *Source) LocalLive() bool { return true }

// Query runs call on the wrapped backend.
func (s *Source) Query(ctx context.Context, call qconnect.Call) (qconnect.Rows, error) {
	return s.b.Query(ctx, call)
}

// Ping asks the wrapped backend, when it can report readiness.
func (s *Source) Ping(ctx context.Context) error {
	if p, ok := s.b.(qconnect.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Append stores rows (of columns cols) in table through the wrapped
// backend's Appender, then streams them to the feeds of table.
func (s *Source) Append(ctx context.Context, table string, cols []qconnect.Column, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := qconnect.BatchOf(cols, rows)
	if err != nil {
		return &qconnect.Error{Code: qconnect.CodeInvalidParams, Message: err.Error(), Cause: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storeLocked(ctx, table, cols, rows, b)
}

// Emit stores the typed batch b (of columns cols) in table and streams it
// to the feeds of table. The batch must not be modified afterwards: feeds
// share its vectors.
func (s *Source) Emit(ctx context.Context, table string, cols []qconnect.Column, b *qconnect.Batch) error {
	if b == nil || b.Len == 0 {
		return nil
	}
	rows := b.Rows()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storeLocked(ctx, table, cols, rows, b)
}

func (s *Source) storeLocked(ctx context.Context, table string, cols []qconnect.Column, rows [][]any, b *qconnect.Batch) error {
	app, ok := s.b.(qconnect.Appender)
	if !ok {
		return qconnect.Errorf(qconnect.CodeAnalyticError, "the backend does not accept published rows")
	}
	if err := app.Append(ctx, table, cols, rows); err != nil {
		return err
	}
	for f := range s.feeds[strings.ToLower(table)] {
		f.push(qconnect.LiveEvent{Kind: qconnect.LiveUpdate, Batch: f.project(cols, b)})
	}
	return nil
}

// Live opens the feed of call.Method's streaming table. When the method
// declares a snapshot query, the feed's first event is a LiveSnapshot of
// its rows (at most the method's row cap), read under the lock the appends
// take; then every batch appended to the table is a LiveUpdate, with the
// method's columns. A feed that falls DefaultFeedQueue events behind loses
// updates and emits LiveReset before the next one it keeps.
func (s *Source) Live(ctx context.Context, call qconnect.Call) (qconnect.Feed, error) {
	m := call.Method
	if m == nil || m.Stream == nil || m.Stream.Table == "" {
		return nil, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: errors.New("feed: Live for a method without a streaming table")}
	}
	f := &liveFeed{src: s, table: strings.ToLower(m.Stream.Table), cols: m.Columns,
		ch: make(chan qconnect.LiveEvent, s.queue), done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := m.RowCap
	if limit <= 0 {
		limit = defaultSnapshotCap
	}
	if snap, ok := stream.SnapshotCall(m, call.Params, call.User, call.Now, limit); ok {
		timeout := m.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		qctx, cancel := context.WithTimeout(ctx, timeout)
		b, err := s.snapshot(qctx, snap, f.cols)
		cancel()
		if err != nil {
			return nil, err
		}
		f.ch <- qconnect.LiveEvent{Kind: qconnect.LiveSnapshot, Batch: b}
	}
	if s.feeds[f.table] == nil {
		s.feeds[f.table] = map[*liveFeed]struct{}{}
	}
	s.feeds[f.table][f] = struct{}{}
	return f, nil
}

// snapshot runs the snapshot query and returns its rows as one batch of
// cols.
func (s *Source) snapshot(ctx context.Context, call qconnect.Call, cols []qconnect.Column) (*qconnect.Batch, error) {
	rows, err := s.b.Query(ctx, call)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rcols := rows.Columns()
	proj := projection(cols, rcols)
	out := qconnect.NewBatch(cols, 0)
	row := make([]any, len(cols))
	for {
		b, err := rows.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for r := 0; r < b.Len; r++ {
			for j, k := range proj {
				row[j] = nil
				if k >= 0 {
					row[j] = b.Cols[k].Value(r)
				}
			}
			if err := out.AppendRow(cols, row); err != nil {
				return nil, err
			}
		}
	}
}

// projection maps each column of want to its index in have (by name), or -1.
func projection(want, have []qconnect.Column) []int {
	proj := make([]int, len(want))
	for j, c := range want {
		proj[j] = -1
		for k, h := range have {
			if strings.EqualFold(h.Name, c.Name) {
				proj[j] = k
				break
			}
		}
	}
	return proj
}

func (s *Source) remove(f *liveFeed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.feeds[f.table], f)
	if len(s.feeds[f.table]) == 0 {
		delete(s.feeds, f.table)
	}
}

// liveFeed is one Feed of a Source.
type liveFeed struct {
	src   *Source
	table string
	cols  []qconnect.Column
	ch    chan qconnect.LiveEvent
	gap   bool // updates were dropped; a LiveReset is owed (under src.mu)
	once  sync.Once
	done  chan struct{}
}

// push queues ev without blocking (src.mu held).
func (f *liveFeed) push(ev qconnect.LiveEvent) {
	if f.gap {
		if len(f.ch)+2 > cap(f.ch) {
			return
		}
		f.ch <- qconnect.LiveEvent{Kind: qconnect.LiveReset}
		f.gap = false
	}
	select {
	case f.ch <- ev:
	default:
		f.gap = true
		f.src.log.Warn("demo feed: a live feed fell behind; its subscribers get a reset", "table", f.table)
	}
}

// project returns b (of columns cols) with the feed's columns: the vectors
// are shared when the columns match by name and type; otherwise the rows
// are converted (a column missing from cols is null).
func (f *liveFeed) project(cols []qconnect.Column, b *qconnect.Batch) *qconnect.Batch {
	proj := projection(f.cols, cols)
	out := &qconnect.Batch{Len: b.Len, Cols: make([]qconnect.Vector, len(f.cols))}
	shared := true
	for j, k := range proj {
		if k < 0 || cols[k].Type != f.cols[j].Type {
			shared = false
			break
		}
		out.Cols[j] = b.Cols[k]
	}
	if shared {
		return out
	}
	out = qconnect.NewBatch(f.cols, b.Len)
	row := make([]any, len(f.cols))
	for r := 0; r < b.Len; r++ {
		for j, k := range proj {
			row[j] = nil
			if k >= 0 {
				row[j] = b.Cols[k].Value(r)
			}
		}
		if err := out.AppendRow(f.cols, row); err != nil {
			// A type the method's column cannot hold: null, as for a
			// missing column.
			for j := range row {
				if proj[j] >= 0 && cols[proj[j]].Type != f.cols[j].Type {
					row[j] = nil
				}
			}
			_ = out.AppendRow(f.cols, row)
		}
	}
	return out
}

func (f *liveFeed) Columns() []qconnect.Column { return f.cols }

func (f *liveFeed) Next(ctx context.Context) (qconnect.LiveEvent, error) {
	select {
	case ev := <-f.ch:
		return ev, nil
	case <-f.done:
		return qconnect.LiveEvent{}, qconnect.Errorf(qconnect.CodeUnavailable, "the demo feed's stream was closed; subscribe again")
	case <-ctx.Done():
		return qconnect.LiveEvent{}, ctx.Err()
	}
}

func (f *liveFeed) Close() error {
	f.once.Do(func() {
		f.src.remove(f)
		close(f.done)
	})
	return nil
}
