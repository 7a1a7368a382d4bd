package auth

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"time"
)

// DefaultReplayMaxPerSession is the default bound on the ids a ReplayCache
// holds per session: enough for 2,000 calls/s on one session with the
// default 10-minute window (2 × 300 s skew), since ids are held for the
// window plus up to one bucket (1/ReplayBuckets of it), 630 s in all:
// 1,500,000 / 630 s ≈ 2,380 calls/s. At about 25 bytes per UUID id (see
// BenchmarkReplayBytesPerID) a full session costs about 38 MB.
const DefaultReplayMaxPerSession = 1_500_000

// ReplayBuckets is the number of time buckets a window is divided into.
// Ids are dropped a bucket at a time, so an id is held at most
// window × (1 + 1/ReplayBuckets); it is refused for exactly the window.
const ReplayBuckets = 20

// Errors of ReplayCache.Check.
var (
	// ErrReplayed: the id was already used on this session within the window
	// (wire code replayedRequest).
	ErrReplayed = errors.New("this request id was already used on this session; send a fresh id (a new UUID) with every request")
	// ErrReplayCacheFull: the session sent more ids within the window than
	// the cache holds (the server answers rateLimited).
	ErrReplayCacheFull = errors.New("too many requests on this session within the replay window; slow down and retry")
)

// ReplayCache remembers, per session, the request ids seen within a window
// (PROTOCOL 3.3). The window must cover every instant at which a request's
// date is still accepted: with a clock skew allowance of ±S, a request dated
// S ahead stays valid until 2S after it was first seen, so use at least 2S.
//
// The check is exact: an id seen at T is refused at every instant before
// T+window (including instants before T, for a clock that steps back) and
// accepted again from T+window on; nothing is probabilistic.
//
// Storage is compact. Ids that are UUIDs or 32 hex digits (all lower or all
// upper case) are kept as 16 bytes plus an 8-byte time; other ids are kept
// as strings (the fallback). A session's ids live in time buckets of
// window/ReplayBuckets: the current bucket is a hash map, and when time
// moves past it the bucket is sealed into a sorted array (24 bytes per
// id, plus a 1-byte-per-id radix index). A bucket is dropped as a whole once its
// newest id has left the window.
//
// Memory is bounded: at most maxPerSession ids held per session, expired
// buckets are dropped as later checks pass by and by Sweep, and Forget drops
// a session (call it when the session ends). Safe for concurrent use; checks
// on different sessions do not contend beyond a shared read lock.
type ReplayCache struct {
	window time.Duration
	width  time.Duration // bucket width
	max    int

	mu       sync.RWMutex
	sessions map[string]*seenIDs
}

// seenIDs is one session's ids: sealed buckets oldest first, and the
// current one.
type seenIDs struct {
	mu     sync.Mutex
	dead   bool // removed from the cache by Sweep: look it up again
	sealed []*sealedBucket
	cur    *openBucket
	n      int // ids held in all buckets
}

// compact forms of an id (see parseCompact); each form is its own key space.
const (
	formUUIDLower = iota // 8-4-4-4-12 lower-case hex (digits count as either case)
	formUUIDUpper
	formHexLower // 32 hex digits
	formHexUpper
	nForms
)

type key [2]uint64

type entry struct {
	k  key
	at int64 // unix nanoseconds
}

type openBucket struct {
	start  int64 // bucket start, unix nanoseconds
	newest int64
	n      int
	forms  [nForms]map[key]int64
	other  map[string]int64
}

type sealedBucket struct {
	newest int64
	n      int
	forms  [nForms]sortedIDs
	other  map[string]int64
}

// sortedIDs is a sorted array with a radix index on the top bits of the key
// (about 4 entries per slot, 1 byte per id): a lookup bisects only the few
// entries of its slot instead of the whole array, a handful of cache misses
// instead of log2(n). Keys that are not uniformly spread (time-ordered
// UUIDs) make slots uneven, which costs time, never correctness.
type sortedIDs struct {
	es    []entry
	shift uint     // 64 - index bits
	idx   []uint32 // idx[p] = first entry whose top bits are ≥ p; len 2^bits+1
}

// NewReplayCache returns a cache remembering ids for window, at most
// maxPerSession ids held per session (0 or less: DefaultReplayMaxPerSession).
func NewReplayCache(window time.Duration, maxPerSession int) *ReplayCache {
	if maxPerSession <= 0 {
		maxPerSession = DefaultReplayMaxPerSession
	}
	width := window / ReplayBuckets
	if width <= 0 {
		width = 1
	}
	return &ReplayCache{window: window, width: width, max: maxPerSession, sessions: map[string]*seenIDs{}}
}

// Check records id for the session at now. It returns ErrReplayed if the id
// was seen on that session within the window, and ErrReplayCacheFull if the
// session already holds maxPerSession ids; in both cases nothing is
// recorded. Ids within the window are never evicted early, since that would
// let a replay through.
func (r *ReplayCache) Check(sessionID, id string, now time.Time) error {
	for {
		s := r.session(sessionID)
		s.mu.Lock()
		if s.dead {
			s.mu.Unlock()
			continue
		}
		err := r.checkLocked(s, id, now.UnixNano())
		s.mu.Unlock()
		return err
	}
}

func (r *ReplayCache) session(sessionID string) *seenIDs {
	r.mu.RLock()
	s := r.sessions[sessionID]
	r.mu.RUnlock()
	if s != nil {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s = r.sessions[sessionID]; s == nil {
		s = &seenIDs{}
		r.sessions[sessionID] = s
	}
	return s
}

func (r *ReplayCache) checkLocked(s *seenIDs, id string, now int64) error {
	win := int64(r.window)
	r.expire(s, now)
	k, form, compact := parseCompact(id)
	live := func(at int64) bool { return now-at < win }
	// Look in every bucket: an id may be present but expired in an old
	// bucket and recorded again, live, in a newer one.
	if c := s.cur; c != nil {
		if compact {
			if at, ok := c.forms[form][k]; ok && live(at) {
				return ErrReplayed
			}
		} else if at, ok := c.other[id]; ok && live(at) {
			return ErrReplayed
		}
	}
	for _, b := range s.sealed {
		if b.has(k, form, compact, id, live) {
			return ErrReplayed
		}
	}
	if s.n >= r.max {
		return ErrReplayCacheFull
	}
	if s.cur == nil || now >= s.cur.start+int64(r.width) {
		if s.cur != nil {
			s.sealed = append(s.sealed, s.cur.seal())
		}
		s.cur = &openBucket{start: now - now%int64(r.width)}
	}
	s.cur.add(k, form, compact, id, now, &s.n)
	return nil
}

// expire drops the sealed buckets, oldest first, whose newest id has left
// the window, and the current one if it has too.
func (r *ReplayCache) expire(s *seenIDs, now int64) {
	win := int64(r.window)
	i := 0
	for i < len(s.sealed) && now-s.sealed[i].newest >= win {
		s.n -= s.sealed[i].n
		i++
	}
	if i > 0 {
		n := copy(s.sealed, s.sealed[i:])
		clear(s.sealed[n:])
		s.sealed = s.sealed[:n]
	}
	if len(s.sealed) == 0 && s.cur != nil && now-s.cur.newest >= win {
		s.n -= s.cur.n
		s.cur = nil
	}
}

func (b *openBucket) add(k key, form int, compact bool, id string, now int64, total *int) {
	if compact {
		m := b.forms[form]
		if m == nil {
			m = map[key]int64{}
			b.forms[form] = m
		}
		if _, ok := m[k]; !ok {
			b.n++
			*total++
		}
		m[k] = now
	} else {
		if b.other == nil {
			b.other = map[string]int64{}
		}
		if _, ok := b.other[id]; !ok {
			b.n++
			*total++
		}
		b.other[id] = now
	}
	if b.n == 1 || now > b.newest {
		b.newest = now
	}
}

// seal turns the bucket into sorted arrays of exactly its size.
func (b *openBucket) seal() *sealedBucket {
	out := &sealedBucket{newest: b.newest, n: b.n, other: b.other}
	for f, m := range b.forms {
		if len(m) == 0 {
			continue
		}
		es := make([]entry, 0, len(m))
		for k, at := range m {
			es = append(es, entry{k, at})
		}
		slices.SortFunc(es, func(a, b entry) int { return cmpKey(a.k, b.k) })
		out.forms[f] = indexSorted(es)
	}
	return out
}

func (b *sealedBucket) has(k key, form int, compact bool, id string, live func(int64) bool) bool {
	if !compact {
		at, ok := b.other[id]
		return ok && live(at)
	}
	return b.forms[form].has(k, live)
}

func indexSorted(es []entry) sortedIDs {
	bits := uint(0)
	for bits < 24 && 4<<bits < len(es) {
		bits++
	}
	s := sortedIDs{es: es, shift: 64 - bits, idx: make([]uint32, 1<<bits+1)}
	i := 0
	for p := range len(s.idx) {
		for i < len(es) && s.slot(es[i].k) < uint64(p) {
			i++
		}
		s.idx[p] = uint32(i)
	}
	return s
}

func (s *sortedIDs) slot(k key) uint64 {
	if s.shift == 64 {
		return 0
	}
	return k[0] >> s.shift
}

func (s *sortedIDs) has(k key, live func(int64) bool) bool {
	if len(s.es) == 0 {
		return false
	}
	p := s.slot(k)
	es := s.es[s.idx[p]:s.idx[p+1]]
	i, ok := slices.BinarySearchFunc(es, k, func(e entry, k key) int { return cmpKey(e.k, k) })
	return ok && live(es[i].at)
}

func cmpKey(a, b key) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

// parseCompact maps an id that is a UUID (8-4-4-4-12 hex digits) or 32 hex
// digits, all in one case, to its 16 bytes and its form. The mapping is
// one-to-one: form and bytes give back exactly the id, so two different ids
// never share a key.
func parseCompact(id string) (k key, form int, ok bool) {
	var hyphens bool
	switch len(id) {
	case 36:
		if id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			return k, 0, false
		}
		hyphens = true
	case 32:
	default:
		return k, 0, false
	}
	var lower, upper bool
	n := 0
	for i := 0; i < len(id); i++ {
		if hyphens && (i == 8 || i == 13 || i == 18 || i == 23) {
			continue
		}
		c := id[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v, lower = c-'a'+10, true
		case 'A' <= c && c <= 'F':
			v, upper = c-'A'+10, true
		default:
			return k, 0, false
		}
		k[n/16] = k[n/16]<<4 | uint64(v)
		n++
	}
	if lower && upper {
		return k, 0, false
	}
	form = formUUIDLower
	if !hyphens {
		form = formHexLower
	}
	if upper {
		form++
	}
	return k, form, true
}

// Forget drops everything remembered for the session.
func (r *ReplayCache) Forget(sessionID string) {
	r.mu.Lock()
	s := r.sessions[sessionID]
	delete(r.sessions, sessionID)
	r.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		s.dead = true
		s.mu.Unlock()
	}
}

// Sweep drops the buckets older than the window at now, and the sessions
// left with none; call it periodically.
func (r *ReplayCache) Sweep(now time.Time) {
	t := now.UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	for sid, s := range r.sessions {
		s.mu.Lock()
		r.expire(s, t)
		if s.n == 0 {
			s.dead = true
			delete(r.sessions, sid)
		}
		s.mu.Unlock()
	}
}

// Len returns the number of sessions and ids held, for metrics and tests.
func (r *ReplayCache) Len() (sessions, ids int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, s := range r.sessions {
		s.mu.Lock()
		ids += s.n
		s.mu.Unlock()
	}
	return len(r.sessions), ids
}
