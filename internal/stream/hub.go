package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qconnect/qconnect"
)

// Defaults of Config.
const (
	DefaultMaxBatchBytes   = 1<<20 - 4<<10 // an UpdateMsg within a 1 MiB frame
	DefaultMaxHeldBytes    = 8 << 20
	DefaultMinConflate     = 10 * time.Millisecond
	DefaultMaxConflateKeys = 100_000
)

// Config bounds a Hub. Zero values take the defaults.
type Config struct {
	// MaxBatchBytes bounds the JSON of one update: a publish whose rows
	// encode longer is delivered as several updates (default
	// DefaultMaxBatchBytes).
	MaxBatchBytes int
	// MaxHeldBytes bounds the JSON a held subscription keeps before Release;
	// beyond it the subscription is dropped as a slow consumer (default
	// DefaultMaxHeldBytes).
	MaxHeldBytes int64
	// MinConflate is the shortest conflation interval accepted (default
	// DefaultMinConflate).
	MinConflate time.Duration
	// MaxConflateKeys bounds the keys an upstream holds within a
	// conflation interval (default DefaultMaxConflateKeys).
	MaxConflateKeys int
	// Now is the clock of Batch.Time (default time.Now).
	Now func() time.Time
}

// Hub routes published rows to subscriptions. Create it with NewHub.
type Hub struct {
	cfg Config

	mu      sync.Mutex
	ups     map[string]*upstream
	byTable map[string][]*upstream // copy on write: readers iterate without the lock
	opened  uint64
	subs    atomic.Int64 // open subscriptions; changed under up.mu, not h.mu
}

// NewHub returns an empty hub.
func NewHub(cfg Config) *Hub {
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.MaxHeldBytes <= 0 {
		cfg.MaxHeldBytes = DefaultMaxHeldBytes
	}
	if cfg.MinConflate <= 0 {
		cfg.MinConflate = DefaultMinConflate
	}
	if cfg.MaxConflateKeys <= 0 {
		cfg.MaxConflateKeys = DefaultMaxConflateKeys
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Hub{cfg: cfg, ups: map[string]*upstream{}, byTable: map[string][]*upstream{}}
}

// Stats describes the hub at one instant.
type Stats struct {
	Upstreams     int    // upstreams open now
	Subscriptions int    // subscriptions open now
	Opened        uint64 // upstreams created since the hub started
}

// Stats returns the current counts.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Upstreams: len(h.ups), Subscriptions: int(h.subs.Load()), Opened: h.opened}
}

// Request is a validated subscription: a streaming method and its
// parameters as bound by qconnect.BindParams.
type Request struct {
	Method *qconnect.Method
	Params map[string]any
	User   string
	// Live, when not nil, supplies the method's updates (a kdb+
	// tickerplant, an upstream feed) instead of rows published to the
	// method's table: the upstream opens one qconnect.Feed and fans its
	// events out like published rows (same seq, conflation, slow-consumer
	// rules).
	Live qconnect.LiveSource
	// Now is the call's instant, for Live.
	Now time.Time
}

// Subscribe opens a held subscription (see Release) delivering to sink.
// shared reports that it joined an existing upstream. Errors are
// invalidParams for a conflation interval out of range and internal for a
// method that is not a streaming method with a table.
func (h *Hub) Subscribe(req Request, sink Sink) (sub *Subscription, shared bool, err error) {
	m := req.Method
	if m == nil || !m.Streaming || m.Stream == nil || m.Stream.Table == "" {
		name := "<nil>"
		if m != nil {
			name = m.FullName()
		}
		return nil, false, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: errors.New("stream: " + name + " is not a streaming method with a source table")}
	}
	if sink == nil {
		return nil, false, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error", Cause: errors.New("stream: Subscribe without a sink")}
	}
	conflate, err := conflateOf(m, req.Params, h.cfg.MinConflate)
	if err != nil {
		return nil, false, err
	}
	key := canonicalKey(m, req.Params, req.User)
	sub = &Subscription{id: newID(), sink: sink, holding: true}

	var feed qconnect.Feed
	var lv liveOpen // the feed's context, owned by the upstream once made
	if req.Live != nil {
		h.mu.Lock()
		_, exists := h.ups[key]
		h.mu.Unlock()
		if !exists {
			lv.ctx, lv.cancel = context.WithCancel(context.Background())
			feed, err = req.Live.Live(lv.ctx, qconnect.Call{Method: m, Params: req.Params, User: req.User, Now: req.Now})
			if err != nil {
				lv.cancel()
				return nil, false, err
			}
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	up, shared := h.ups[key]
	if shared && feed != nil {
		// Another subscriber opened the upstream meanwhile.
		lv.cancel()
		_ = feed.Close()
		feed = nil
	}
	if shared && up.live && !up.closed && (up.replayLost || len(up.replay) > 0) {
		up.mu.Lock()
		sub.held = append(sub.held, up.joinSnapshotLocked())
		up.mu.Unlock()
	}
	if shared && req.Live != nil && !up.live {
		if lv.cancel != nil {
			lv.cancel()
		}
		return nil, false, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: errors.New("stream: " + m.FullName() + " is both live and published")}
	}
	if !shared {
		up = &upstream{
			hub:      h,
			key:      key,
			shape:    canonicalKey(m, req.Params, ""),
			method:   m,
			table:    strings.ToLower(m.Stream.Table),
			enc:      NewRowEncoder(m.Columns),
			filters:  buildFilters(m, req.Params),
			keyCol:   m.Stream.Key,
			conflate: conflate,
		}
		h.ups[key] = up
		if feed != nil {
			up.live, up.cancel = true, lv.cancel
			// The pump starts once the subscription is in up.subs (below):
			// the feed's first event (its snapshot) is often queued
			// already and must reach this subscriber.
			defer func(ctx context.Context, feed qconnect.Feed) { go up.pump(ctx, feed) }(lv.ctx, feed)
		} else {
			list := h.byTable[up.table]
			h.byTable[up.table] = append(list[:len(list):len(list)], up)
		}
		h.opened++
	}
	sub.up = up
	up.mu.Lock()
	up.subs = append(up.subs, sub)
	h.subs.Add(1)
	up.mu.Unlock()
	return sub, shared, nil
}

// liveOpen is the context of a feed being opened.
type liveOpen struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Publish fans rows appended to table out to every upstream reading it.
// cols describe the rows (the publishing method's columns); each upstream
// takes the columns of its method by name, null where a column is missing.
// Rows must not be modified afterwards. Publish returns when every
// subscription has been offered its updates (conflated upstreams deliver
// later, from a timer).
func (h *Hub) Publish(table string, cols []qconnect.Column, rows [][]any) {
	if len(rows) == 0 {
		return
	}
	h.mu.Lock()
	ups := h.byTable[strings.ToLower(table)]
	h.mu.Unlock()
	now := h.cfg.Now()
	// Upstreams of one shape (same method and parameters, other users)
	// get the same batches: the rows are encoded once per distinct
	// subscription, not once per user.
	var encoded map[string][]*Batch
	for _, up := range ups {
		var lost bool
		if up.conflate > 0 {
			lost = up.publish(cols, rows, now)
		} else {
			batches, ok := encoded[up.shape]
			if !ok {
				batches = up.encode(cols, rows, now)
				if len(ups) > 1 { // one upstream (the usual case) needs no sharing
					if encoded == nil {
						encoded = map[string][]*Batch{}
					}
					encoded[up.shape] = batches
				}
			}
			lost = up.deliver(batches)
		}
		if lost {
			h.reap(up)
		}
	}
}

// reap closes up if it has no subscriptions left.
func (h *Hub) reap(up *upstream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	up.mu.Lock()
	defer up.mu.Unlock()
	if len(up.subs) == 0 {
		h.closeLocked(up)
	}
}

// closeLocked removes up from the hub; h.mu and up.mu are held.
func (h *Hub) closeLocked(up *upstream) {
	if up.closed {
		return
	}
	up.closed = true
	if up.cancel != nil {
		up.cancel() // ends the pump, which closes the feed
	}
	up.replay = nil
	if up.timer != nil {
		up.timer.Stop()
		up.timer = nil
	}
	up.pending, up.order = nil, nil
	delete(h.ups, up.key)
	list := h.byTable[up.table]
	out := make([]*upstream, 0, len(list))
	for _, u := range list {
		if u != up {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		delete(h.byTable, up.table)
	} else {
		h.byTable[up.table] = out
	}
}

// newID returns a random subscription id: 16 hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// upstream is the shared part of identical subscriptions.
type upstream struct {
	hub      *Hub
	key      string
	shape    string // key without the user: upstreams of one shape get the same updates
	method   *qconnect.Method
	table    string
	enc      *RowEncoder
	filters  []filter
	keyCol   string
	conflate time.Duration

	mu      sync.Mutex
	subs    []*Subscription
	closed  bool
	pending map[string][]any // conflation: latest row per key
	order   []string         // keys in order of first arrival
	timer   *time.Timer

	// A live upstream (Request.Live) is fed by its pump, not by Publish.
	live   bool
	cancel context.CancelFunc // ends the feed
	// replay is what a subscriber joining a live upstream gets as its
	// snapshot: the last snapshot (or reset) and the updates since, in
	// order, bounded by Config.MaxHeldBytes; replayLost says it outgrew
	// that bound.
	replay      []*Batch
	replayBytes int64
	replayLost  bool
	stated      bool // the source has sent a snapshot or a reset
}

// publish filters and projects rows and delivers them (or holds them for
// conflation). It reports whether the upstream lost subscriptions and may
// be empty.
func (up *upstream) publish(cols []qconnect.Column, rows [][]any, now time.Time) (lost bool) {
	mcols := up.enc.Columns()
	if up.conflate <= 0 {
		return up.deliver(up.encode(cols, rows, now))
	}
	out := up.project(cols, rows)
	if len(out) == 0 {
		return false
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.closed {
		return false
	}
	kidx := columnIndex(mcols, up.keyCol)
	if up.pending == nil {
		up.pending = map[string][]any{}
	}
	for _, r := range out {
		k := ""
		if kidx >= 0 {
			k = valueText(mcols[kidx].Type, r[kidx])
		}
		if _, seen := up.pending[k]; !seen {
			up.order = append(up.order, k)
		}
		up.pending[k] = r
		if len(up.order) >= up.hub.cfg.MaxConflateKeys {
			lost = up.flushLocked(now) || lost
		}
	}
	if len(up.order) > 0 && up.timer == nil {
		up.timer = time.AfterFunc(up.conflate, up.onTimer)
	}
	return lost
}

// encode filters and projects rows for up and encodes them as updates
// (none when no row passes).
func (up *upstream) encode(cols []qconnect.Column, rows [][]any, now time.Time) []*Batch {
	out := up.project(cols, rows)
	if len(out) == 0 {
		return nil
	}
	return up.enc.batches(out, up.hub.cfg.MaxBatchBytes, now)
}

// deliver offers batches to every subscription of a non-conflated
// upstream; it reports whether any was dropped.
func (up *upstream) deliver(batches []*Batch) (lost bool) {
	if len(batches) == 0 {
		return false
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.closed {
		return false
	}
	for _, b := range batches {
		lost = up.deliverLocked(b) || lost
	}
	return lost
}

func (up *upstream) matches(r []any, fidx []int) bool {
	for i, f := range up.filters {
		var v any
		if j := fidx[i]; j >= 0 && j < len(r) {
			v = r[j]
		}
		if _, ok := f.set[valueText(f.typ, v)]; !ok {
			return false
		}
	}
	return true
}

// onTimer ends a conflation interval.
func (up *upstream) onTimer() {
	up.mu.Lock()
	up.timer = nil
	lost := !up.closed && up.flushLocked(up.hub.cfg.Now())
	up.mu.Unlock()
	if lost {
		up.hub.reap(up)
	}
}

// flushLocked delivers the conflated rows held.
func (up *upstream) flushLocked(now time.Time) (lost bool) {
	if len(up.order) == 0 {
		return false
	}
	rows := make([][]any, len(up.order))
	for i, k := range up.order {
		rows[i] = up.pending[k]
	}
	up.pending, up.order = map[string][]any{}, up.order[:0:0]
	for _, b := range up.enc.batches(rows, up.hub.cfg.MaxBatchBytes, now) {
		lost = up.deliverLocked(b) || lost
	}
	return lost
}

// deliverLocked offers b to every subscription, dropping those that cannot
// take it. It reports whether any was dropped.
func (up *upstream) deliverLocked(b *Batch) (lost bool) {
	if up.live {
		up.recordLocked(b)
	}
	for i := 0; i < len(up.subs); {
		s := up.subs[i]
		if s.offerLocked(b) {
			i++
			continue
		}
		up.removeLocked(i)
		lost = true
	}
	return lost
}

// removeLocked drops subscription i; the order of the others may change.
func (up *upstream) removeLocked(i int) {
	s := up.subs[i]
	s.ended = true
	last := len(up.subs) - 1
	up.subs[i] = up.subs[last]
	up.subs[last] = nil
	up.subs = up.subs[:last]
	up.hub.subs.Add(-1)
}
