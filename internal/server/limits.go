package server

import (
	"math"
	"sync"
	"time"

	"github.com/qconnect/qconnect"
)

// limiter bounds calls running at once, on the gateway and per user, and
// the rate of signed requests per user (token bucket). Its memory is bounded
// by the number of active users; idle buckets are swept.
type limiter struct {
	global chan struct{}

	mu      sync.Mutex
	perUser int
	running map[string]int
	rate    float64
	burst   float64
	buckets map[string]*bucket
	shared  RateLimiter // when set, the rate is counted there instead of in buckets
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the rate-limiter state; past it, idle buckets are swept
// eagerly and, if still full, new users share the overflow bucket.
const maxBuckets = 100_000

func newLimiter(global, perUser int, rate float64, burst int) *limiter {
	return &limiter{
		global:  make(chan struct{}, global),
		perUser: perUser,
		running: map[string]int{},
		rate:    rate,
		burst:   float64(burst),
		buckets: map[string]*bucket{},
	}
}

// acquire reserves a call slot for user, or returns busy with Retry-After.
// The returned release must be called exactly once.
func (l *limiter) acquire(user string, retry time.Duration) (release func(), err error) {
	select {
	case l.global <- struct{}{}:
	default:
		return nil, &qconnect.Error{Code: qconnect.CodeBusy, RetryAfter: retry,
			Message: "the gateway is running as many calls as it allows; retry after the Retry-After delay"}
	}
	l.mu.Lock()
	if l.running[user] >= l.perUser {
		l.mu.Unlock()
		<-l.global
		return nil, &qconnect.Error{Code: qconnect.CodeBusy, RetryAfter: retry,
			Message: "you are running as many calls at once as a user may; wait for one to finish and retry"}
	}
	l.running[user]++
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			if l.running[user]--; l.running[user] <= 0 {
				delete(l.running, user)
			}
			l.mu.Unlock()
			<-l.global
		})
	}, nil
}

// allowRate takes one token from the user's bucket or returns rateLimited
// with the time until a token is available.
func (l *limiter) allowRate(user string, now time.Time) error {
	if l.shared != nil {
		return l.shared.AllowRate(user, now)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[user]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweepLocked(now)
		}
		if len(l.buckets) >= maxBuckets {
			user = "\x00overflow"
			if b = l.buckets[user]; b == nil {
				b = &bucket{tokens: l.burst, last: now}
				l.buckets[user] = b
			}
		} else {
			b = &bucket{tokens: l.burst, last: now}
			l.buckets[user] = b
		}
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
		return &qconnect.Error{Code: qconnect.CodeRateLimited, RetryAfter: wait,
			Message: "too many requests from this user; slow down and retry after the Retry-After delay"}
	}
	b.tokens--
	return nil
}

// sweep forgets buckets that have refilled completely.
func (l *limiter) sweep(now time.Time) {
	l.mu.Lock()
	l.sweepLocked(now)
	l.mu.Unlock()
}

func (l *limiter) sweepLocked(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
}
