package auth

import (
	"errors"
	"sync"
	"time"
)

// DefaultReplayMaxPerSession is the default bound on the ids a ReplayCache
// remembers per session.
const DefaultReplayMaxPerSession = 100000

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
// Memory is bounded: at most maxPerSession ids per session, ids older than
// the window are dropped as later checks pass by and by Sweep, and Forget
// drops a session (call it when the session ends). Safe for concurrent use.
type ReplayCache struct {
	window time.Duration
	max    int

	mu       sync.Mutex
	sessions map[string]*seenIDs
}

// seenIDs is one session's ids: a map for lookups and a FIFO in arrival
// order for expiry.
type seenIDs struct {
	at    map[string]time.Time
	queue []seenID
	head  int
}

type seenID struct {
	id string
	at time.Time
}

// NewReplayCache returns a cache remembering ids for window, at most
// maxPerSession live ids per session (0 or less: DefaultReplayMaxPerSession).
func NewReplayCache(window time.Duration, maxPerSession int) *ReplayCache {
	if maxPerSession <= 0 {
		maxPerSession = DefaultReplayMaxPerSession
	}
	return &ReplayCache{window: window, max: maxPerSession, sessions: map[string]*seenIDs{}}
}

// Check records id for the session at now. It returns ErrReplayed if the id
// was seen on that session within the window, and ErrReplayCacheFull if the
// session already holds maxPerSession live ids; in both cases nothing is
// recorded. Live ids are never evicted early, since that would let a replay
// through.
func (r *ReplayCache) Check(sessionID, id string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[sessionID]
	if s == nil {
		s = &seenIDs{at: map[string]time.Time{}}
		r.sessions[sessionID] = s
	}
	s.expire(now.Add(-r.window))
	if at, ok := s.at[id]; ok && now.Sub(at) < r.window {
		return ErrReplayed
	}
	if len(s.at) >= r.max {
		return ErrReplayCacheFull
	}
	s.at[id] = now
	s.queue = append(s.queue, seenID{id, now})
	return nil
}

// expire drops ids seen at or before cutoff, from the front of the queue.
// An id whose map entry is newer than its queue entry was seen again and
// stays.
func (s *seenIDs) expire(cutoff time.Time) {
	for s.head < len(s.queue) && !s.queue[s.head].at.After(cutoff) {
		e := s.queue[s.head]
		if at, ok := s.at[e.id]; ok && at.Equal(e.at) {
			delete(s.at, e.id)
		}
		s.queue[s.head] = seenID{}
		s.head++
	}
	if s.head > 0 && s.head >= len(s.queue)/2 {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.head = 0
	}
}

// Forget drops everything remembered for the session.
func (r *ReplayCache) Forget(sessionID string) {
	r.mu.Lock()
	delete(r.sessions, sessionID)
	r.mu.Unlock()
}

// Sweep drops the ids older than the window at now, and the sessions left
// with none; call it periodically.
func (r *ReplayCache) Sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cutoff := now.Add(-r.window)
	for sid, s := range r.sessions {
		s.expire(cutoff)
		if len(s.at) == 0 {
			delete(r.sessions, sid)
		}
	}
}

// Len returns the number of sessions and ids held, for metrics and tests.
func (r *ReplayCache) Len() (sessions, ids int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sessions {
		ids += len(s.at)
	}
	return len(r.sessions), ids
}
