package duckdb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/qconnect/qconnect"
)

// volatileWords mark a query whose result may change without an Append:
// it reads the clock, random values or files. Such queries are never
// cached. The match is on the lower-cased query text, so it errs towards
// not caching.
var volatileWords = []string{"$" + NowParam, "now(", "current_", "get_current", "today(", "transaction_timestamp",
	"random", "uuid", "nextval", "currval", "setseed", "read_", "glob(", "getenv", "'/", "http"}

// resultCache keeps complete, small results of method calls, keyed by
// method, query, row limit and parameter values, so that a repeated call
// is answered without running the query. A result is valid while none of
// the tables its query names has been appended to since the query started:
// every Append bumps the generation of its table (after its commit, before
// it returns), and an entry is served only while the generations it was
// stored with are the current ones. So a call never gets a result older
// than the last publish to its tables that completed before the call.
//
// A query depends on every table whose name occurs in its text (case
// insensitive, as a substring: an over-approximation, which only costs
// extra misses). When a writable database file is attached, whose views
// could hide the tables they read, every query depends on every table.
// Queries reading the clock, random values, files or views over files are
// not cached (volatileWords, and the names of the engine's views).
type resultCache struct {
	maxBytes   int64
	entryBytes int64    // results larger than this are not kept
	tables     []string // lower case, the tables queries may depend on
	views      []string // lower case; a query naming one is not cached
	global     bool     // every query depends on every table

	mu      sync.Mutex
	gens    map[string]uint64 // per table (lower case)
	all     uint64            // bumped by every Append
	entries map[string]*cacheEntry
	bytes   int64
	flights map[string]*flight // the query running to fill a key

	hits, misses atomic.Int64
}

type cacheEntry struct {
	deps    []string // nil: depends on all
	snap    []uint64 // generations of deps (or all) when the query started
	cols    []qconnect.Column
	batches []*qconnect.Batch
	bytes   int64
}

func newResultCache(maxBytes int64, tables, views []string, global bool) *resultCache {
	c := &resultCache{maxBytes: maxBytes, entryBytes: max(maxBytes/16, 1), global: global,
		gens: map[string]uint64{}, entries: map[string]*cacheEntry{}, flights: map[string]*flight{}}
	for _, t := range tables {
		c.tables = append(c.tables, strings.ToLower(t))
	}
	for _, v := range views {
		c.views = append(c.views, strings.ToLower(v))
	}
	return c
}

// bump records that table changed: results that depend on it are stale.
func (c *resultCache) bump(table string) {
	if c == nil {
		return
	}
	t := strings.ToLower(table)
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	t = strings.Trim(t, `"`)
	c.mu.Lock()
	c.gens[t]++
	c.all++
	if !slices.Contains(c.tables, t) {
		c.tables = append(c.tables, t) // a table created after Open
	}
	c.mu.Unlock()
}

// plan returns the cache key and the tables of a call, or ok false when
// the call must not be cached.
func (c *resultCache) plan(call qconnect.Call) (key string, deps []string, ok bool) {
	m := call.Method
	q := strings.ToLower(m.Query)
	for _, w := range volatileWords {
		if strings.Contains(q, w) {
			return "", nil, false
		}
	}
	for _, v := range c.views {
		if strings.Contains(q, v) {
			return "", nil, false
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%d\x00%s", m.FullName(), call.Limit, m.Query)
	names := make([]string, 0, len(call.Params))
	for n := range call.Params {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := call.Params[n]
		j, err := json.Marshal(v)
		if err != nil {
			return "", nil, false
		}
		fmt.Fprintf(&b, "\x00%s\x00%T\x00%s", n, v, j)
	}
	if c.global {
		return b.String(), nil, true
	}
	c.mu.Lock()
	for _, t := range c.tables {
		if strings.Contains(q, t) {
			deps = append(deps, t)
		}
	}
	c.mu.Unlock()
	if deps == nil {
		deps = []string{} // reads no table: never stale
	}
	return b.String(), deps, true
}

// snapshot returns the current generations of deps (nil deps: of all).
func (c *resultCache) snapshot(deps []string) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapLocked(deps)
}

func (c *resultCache) snapLocked(deps []string) []uint64 {
	if deps == nil {
		return []uint64{c.all}
	}
	s := make([]uint64, len(deps))
	for i, t := range deps {
		s[i] = c.gens[t]
	}
	return s
}

// flight is a query filling a key, which concurrent misses of the same key
// wait for instead of running the query again.
type flight struct {
	snap []uint64 // generations when it started
	done chan struct{}
	once sync.Once
}

// lead registers the caller as the query filling key, or returns the
// running flight to wait for. A flight is joined only while its
// generations are the current ones: no publish to its tables has completed
// since it started, so its result is as fresh as the joiner needs. After
// the wait the joiner looks the key up again (get checks freshness once
// more) and runs the query itself if it is still missing.
func (c *resultCache) lead(key string, deps []string) (mine *flight, wait <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap := c.snapLocked(deps)
	if f := c.flights[key]; f != nil {
		if slices.Equal(f.snap, snap) {
			return nil, f.done
		}
		return nil, nil // a stale flight: run alone
	}
	f := &flight{snap: snap, done: make(chan struct{})}
	c.flights[key] = f
	return f, nil
}

// land ends a flight (whatever its outcome); safe to call more than once.
func (c *resultCache) land(key string, f *flight) {
	if f == nil {
		return
	}
	f.once.Do(func() {
		c.mu.Lock()
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		c.mu.Unlock()
		close(f.done)
	})
}

// get returns a Rows replaying the cached result of key, if it is current.
func (c *resultCache) get(key string) (qconnect.Rows, bool) {
	c.mu.Lock()
	e := c.entries[key]
	if e != nil && !slices.Equal(e.snap, c.snapLocked(e.deps)) {
		c.dropLocked(key, e)
		e = nil
	}
	c.mu.Unlock()
	if e == nil {
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return &cachedRows{cols: e.cols, batches: e.batches}, true
}

// put keeps a complete result, unless it is stale already or too large.
func (c *resultCache) put(key string, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Equal(e.snap, c.snapLocked(e.deps)) {
		return
	}
	if old := c.entries[key]; old != nil {
		c.dropLocked(key, old)
	}
	for k, o := range c.entries {
		if c.bytes+e.bytes <= c.maxBytes {
			break
		}
		c.dropLocked(k, o) // map order: an arbitrary victim
	}
	if c.bytes+e.bytes > c.maxBytes {
		return
	}
	c.entries[key] = e
	c.bytes += e.bytes
}

func (c *resultCache) dropLocked(key string, e *cacheEntry) {
	delete(c.entries, key)
	c.bytes -= e.bytes
}

// stats returns the hits and misses so far.
func (c *resultCache) stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }

// batchBytes estimates the memory of a batch.
func batchBytes(b *qconnect.Batch) int64 {
	n := int64(64)
	for i := range b.Cols {
		v := &b.Cols[i]
		n += 96 + int64(len(v.Valid))*8 + int64(len(v.Bools)) + int64(len(v.Ints))*8 + int64(len(v.Floats))*8 +
			int64(len(v.Offsets))*4 + int64(len(v.Data)) + int64(len(v.Codes))*4 + int64(len(v.GUIDs))*16
		for _, s := range v.Dict {
			n += 16 + int64(len(s))
		}
	}
	return n
}

// fillingRows passes a result through and keeps a copy of it; when the
// result ends (io.EOF) within the cache's entry size, the copy is stored.
type fillingRows struct {
	qconnect.Rows
	c      *resultCache
	key    string
	entry  *cacheEntry
	done   bool
	flight *flight // nil when not leading one
}

func (r *fillingRows) Close() error {
	r.c.land(r.key, r.flight)
	return r.Rows.Close()
}

func (r *fillingRows) Next(ctx context.Context) (*qconnect.Batch, error) {
	b, err := r.Rows.Next(ctx)
	if r.done {
		return b, err
	}
	switch {
	case err == io.EOF:
		r.done = true
		r.entry.cols = r.Rows.Columns()
		r.c.put(r.key, r.entry)
		r.c.land(r.key, r.flight)
	case err != nil:
		r.done = true
		r.c.land(r.key, r.flight)
	case b != nil:
		r.entry.bytes += batchBytes(b)
		if r.entry.bytes > r.c.entryBytes {
			r.done, r.entry = true, nil
			r.c.land(r.key, r.flight)
			return b, nil
		}
		r.entry.batches = append(r.entry.batches, b.Clone())
	}
	return b, err
}

// cachedRows replays a cached result. Each batch handed out is a copy, so
// a caller that changes it cannot change the cache.
type cachedRows struct {
	cols    []qconnect.Column
	batches []*qconnect.Batch
	i       int
}

func (r *cachedRows) Columns() []qconnect.Column { return r.cols }

func (r *cachedRows) Next(ctx context.Context) (*qconnect.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.i >= len(r.batches) {
		return nil, io.EOF
	}
	r.i++
	return r.batches[r.i-1].Clone(), nil
}

func (r *cachedRows) Close() error { return nil }
