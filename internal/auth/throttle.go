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

// Throttle is the login throttle contract (PROTOCOL 2: tooManyAttempts comes
// before the password is even checked). It counts login attempts per key (the
// server uses "user:<name>" and "addr:<client address>") in a sliding window
// and refuses a key that already has the maximum number of counted attempts
// within the window. It is store-agnostic: MemThrottle keeps the counts in
// this process; a shared store (Redis) may implement the same contract for
// several gateways.
//
// The contract, for every implementation:
//
//   - Reserve(key, now) checks AND counts in one atomic step: if key has fewer
//     than the maximum attempts counted within the window ending at now, it
//     counts one more attempt at now (a failure in progress) and returns
//     ok = true; otherwise it counts nothing and returns ok = false with
//     retryAfter > 0, how long until the oldest counted attempt leaves the
//     window. No two concurrent Reserve calls may both see the last free
//     place: with a maximum of n, at most n calls on one key succeed within
//     a window, however many run at once. The caller checks the password
//     only after every Reserve it needs returned ok.
//   - A reserved attempt stays counted as a failure unless forgiven: a
//     wrong password, a crash or a lost connection all count.
//   - Forgive(key, at) withdraws one attempt counted at exactly at (the now
//     given to the Reserve that counted it), when the password turned out
//     to be right or was never checked. Forgiving an attempt no longer
//     counted (it left the window, or was pushed out) does nothing.
//   - Reset(key) forgets every attempt counted for key (a successful login
//     clears the username's failures).
//
// Implementations must be safe for concurrent use and bound their memory.
// An implementation whose store cannot be reached returns an error (a
// *qconnect.Error with code unavailable) with ok = false: the login is
// refused, never let through unthrottled. Errors of Forgive and Reset are
// logged by the caller; the attempt stays counted, which errs on the safe
// side.
type Throttle interface {
	Reserve(key string, now time.Time) (retryAfter time.Duration, ok bool, err error)
	Forgive(key string, at time.Time) error
	Reset(key string) error
}

// MemThrottle is the in-process Throttle. It refuses a key that has
// maxFailures attempts counted within the sliding window, until the oldest
// of those leaves the window.
//
// Memory is bounded: at most maxKeys keys, each holding at most maxFailures
// timestamps. Keys whose attempts are all outside the window are dropped;
// when maxKeys keys are still tracked, the key whose last attempt is oldest
// is dropped to make room (an attacker would need maxKeys distinct failing
// keys within the window, each costing a password hash, to push a victim
// out). Safe for concurrent use.
type MemThrottle struct {
	max     int
	window  time.Duration
	maxKeys int

	mu   sync.Mutex
	keys map[string]*list.Element // of *failures
	lru  *list.List               // front: oldest last attempt
}

var _ Throttle = (*MemThrottle)(nil)

type failures struct {
	key   string
	times []time.Time // the last max attempts, oldest first
}

// NewThrottle returns a MemThrottle; values of 0 or less take the defaults
// (5 attempts, 5 minutes, 100000 keys).
func NewThrottle(maxFailures int, window time.Duration, maxKeys int) *MemThrottle {
	if maxFailures <= 0 {
		maxFailures = DefaultMaxFailures
	}
	if window <= 0 {
		window = DefaultThrottleWindow
	}
	if maxKeys <= 0 {
		maxKeys = DefaultThrottleMaxKeys
	}
	return &MemThrottle{max: maxFailures, window: window, maxKeys: maxKeys,
		keys: map[string]*list.Element{}, lru: list.New()}
}

// Reserve implements Throttle.
func (t *MemThrottle) Reserve(key string, now time.Time) (retryAfter time.Duration, ok bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el := t.keys[key]; el != nil {
		f := el.Value.(*failures)
		if len(f.times) == t.max {
			until := f.times[0].Add(t.window) // the oldest of the last max attempts leaves the window
			if now.Before(until) {
				return until.Sub(now), false, nil
			}
			copy(f.times, f.times[1:])
			f.times = f.times[:t.max-1]
		}
		f.times = append(f.times, now)
		t.lru.MoveToBack(el)
		return 0, true, nil
	}
	t.pruneLocked(now)
	for len(t.keys) >= t.maxKeys {
		t.removeLocked(t.lru.Front())
	}
	f := &failures{key: key, times: make([]time.Time, 1, t.max)}
	f.times[0] = now
	t.keys[key] = t.lru.PushBack(f)
	return 0, true, nil
}

// Forgive implements Throttle.
func (t *MemThrottle) Forgive(key string, at time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	el := t.keys[key]
	if el == nil {
		return nil
	}
	f := el.Value.(*failures)
	for i := len(f.times) - 1; i >= 0; i-- {
		if f.times[i].Equal(at) {
			f.times = append(f.times[:i], f.times[i+1:]...)
			break
		}
	}
	if len(f.times) == 0 {
		t.removeLocked(el)
	}
	return nil
}

// Reset implements Throttle.
func (t *MemThrottle) Reset(key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el := t.keys[key]; el != nil {
		t.removeLocked(el)
	}
	return nil
}

// Sweep drops the keys whose failures are all older than the window at now;
// call it periodically to give memory back between bursts.
func (t *MemThrottle) Sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
}

// Len is the number of keys tracked.
func (t *MemThrottle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// pruneLocked drops keys whose last failure is outside the window, from the
// front of the LRU list (ordered by last failure as long as the clock moves
// forward).
func (t *MemThrottle) pruneLocked(now time.Time) {
	cutoff := now.Add(-t.window)
	for el := t.lru.Front(); el != nil; el = t.lru.Front() {
		f := el.Value.(*failures)
		if f.times[len(f.times)-1].After(cutoff) {
			return
		}
		t.removeLocked(el)
	}
}

func (t *MemThrottle) removeLocked(el *list.Element) {
	delete(t.keys, el.Value.(*failures).key)
	t.lru.Remove(el)
}
