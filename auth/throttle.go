package auth

import (
	"container/list"
	"sync"
	"time"
)

// Throttle defaults (PROTOCOL 2).
const (
	DefaultMaxFailures     = 5
	DefaultThrottleWindow  = 5 * time.Minute
	DefaultThrottleMaxKeys = 100000
)

// Throttle counts failed logins per key (a username, a client address) and
// refuses a key that failed maxFailures times within the sliding window,
// until the oldest of those failures leaves the window.
//
// Memory is bounded: at most maxKeys keys, each holding at most maxFailures
// timestamps. Keys whose failures are all outside the window are dropped;
// when maxKeys keys are still tracked, the key whose last failure is oldest
// is dropped to make room (an attacker would need maxKeys distinct failing
// keys within the window, each costing a password hash, to push a victim
// out). Safe for concurrent use.
type Throttle struct {
	max     int
	window  time.Duration
	maxKeys int

	mu   sync.Mutex
	keys map[string]*list.Element // of *failures
	lru  *list.List               // front: oldest last failure
}

type failures struct {
	key   string
	times []time.Time // the last max failures, oldest first
}

// NewThrottle returns a Throttle; values of 0 or less take the defaults
// (5 failures, 5 minutes, 100000 keys).
func NewThrottle(maxFailures int, window time.Duration, maxKeys int) *Throttle {
	if maxFailures <= 0 {
		maxFailures = DefaultMaxFailures
	}
	if window <= 0 {
		window = DefaultThrottleWindow
	}
	if maxKeys <= 0 {
		maxKeys = DefaultThrottleMaxKeys
	}
	return &Throttle{max: maxFailures, window: window, maxKeys: maxKeys,
		keys: map[string]*list.Element{}, lru: list.New()}
}

// Allow reports whether key may try to log in at now. When it may not,
// retryAfter is how long until it may (for the Retry-After header).
func (t *Throttle) Allow(key string, now time.Time) (retryAfter time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el := t.keys[key]
	if el == nil {
		return 0, true
	}
	f := el.Value.(*failures)
	if len(f.times) < t.max {
		return 0, true
	}
	until := f.times[0].Add(t.window) // the oldest of the last max failures leaves the window
	if !now.Before(until) {
		return 0, true
	}
	return until.Sub(now), false
}

// Fail records a failed login for key at now.
func (t *Throttle) Fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el := t.keys[key]; el != nil {
		f := el.Value.(*failures)
		if len(f.times) == t.max {
			copy(f.times, f.times[1:])
			f.times = f.times[:t.max-1]
		}
		f.times = append(f.times, now)
		t.lru.MoveToBack(el)
		return
	}
	t.pruneLocked(now)
	for len(t.keys) >= t.maxKeys {
		t.removeLocked(t.lru.Front())
	}
	f := &failures{key: key, times: make([]time.Time, 1, t.max)}
	f.times[0] = now
	t.keys[key] = t.lru.PushBack(f)
}

// Reset forgets the failures of key (after a successful login).
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el := t.keys[key]; el != nil {
		t.removeLocked(el)
	}
}

// Sweep drops the keys whose failures are all older than the window at now;
// call it periodically to give memory back between bursts.
func (t *Throttle) Sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
}

// Len is the number of keys tracked.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// pruneLocked drops keys whose last failure is outside the window, from the
// front of the LRU list (ordered by last failure as long as the clock moves
// forward).
func (t *Throttle) pruneLocked(now time.Time) {
	cutoff := now.Add(-t.window)
	for el := t.lru.Front(); el != nil; el = t.lru.Front() {
		f := el.Value.(*failures)
		if f.times[len(f.times)-1].After(cutoff) {
			return
		}
		t.removeLocked(el)
	}
}

func (t *Throttle) removeLocked(el *list.Element) {
	delete(t.keys, el.Value.(*failures).key)
	t.lru.Remove(el)
}
