package server

import (
	"strconv"
	"time"

	"github.com/qconnect/qconnect"
)

// Shared is the state a gateway shares with the other gateways of one
// deployment (issue 12; cmd/qconnect wires redisstate's implementations
// when --redis is given). A nil field keeps this gateway's own in-memory
// state. Errors that mean "the shared state cannot be reached" are
// *qconnect.Error with code unavailable; the server passes them on as they
// are, so the request is refused (503, Retry-After), never let through.
type Shared struct {
	Replay   ReplayGuard
	Throttle LoginThrottle
	Rate     RateLimiter
	Streams  StreamRelay // relay.go
}

// ReplayGuard is the replay check of PROTOCOL 3.3 (auth.ReplayCache is the
// in-memory one). Check records id for the session and fails with
// auth.ErrReplayed for an id already seen, auth.ErrReplayCacheFull when the
// session holds too many, or another error (unavailable) when it could not
// check; in every failure nothing was accepted. Forget and Sweep are
// housekeeping (no-ops for a store whose entries expire by themselves).
type ReplayGuard interface {
	Check(sessionID, id string, now time.Time) error
	Forget(sessionID string)
	Sweep(now time.Time)
}

// LoginThrottle is the atomic login throttle: Reserve checks whether key (a
// "user:<name>" or "addr:<ip>" key) may make a login attempt at now and, if
// so, counts the attempt, in one step and before the password is hashed, so
// that concurrent attempts cannot all slip under the limit. When it may not,
// retryAfter says how long until it may. err is set when the throttle could
// not be asked (the attempt is then refused with err's code, unavailable).
// Clear forgets a key's attempts after a successful login.
type LoginThrottle interface {
	Reserve(key string, now time.Time) (retryAfter time.Duration, ok bool, err error)
	Clear(key string) error
}

// RateLimiter is the per-user request rate: AllowRate takes one request of
// user at now, or returns rateLimited (with RetryAfter) or unavailable.
type RateLimiter interface {
	AllowRate(user string, now time.Time) error
}

// reserveLogin counts a login attempt of user from addr against the shared
// throttle (Deps.Shared.Throttle), before the password is checked, and
// answers tooManyAttempts (or unavailable) when either key is over.
func (s *Server) reserveLogin(user, addr string, now time.Time) error {
	for _, key := range []string{"user:" + user, "addr:" + addr} {
		wait, ok, err := s.shared.Reserve(key, now)
		if err != nil {
			return err
		}
		if !ok {
			return &qconnect.Error{Code: qconnect.CodeTooManyAttempts, RetryAfter: wait,
				Message: "too many failed logins for this username or from this address; wait " +
					strconv.Itoa(retrySeconds(wait)) + " s (Retry-After) and check the credentials"}
		}
	}
	return nil
}

// loginFailed records a failed login in the in-memory throttle; the shared
// throttle counted the attempt already in reserveLogin.
func (s *Server) loginFailed(user, addr string, now time.Time) {
	if s.shared != nil {
		return
	}
	s.throttle.Fail("user:"+user, now)
	s.throttle.Fail("addr:"+addr, now)
}

// loginSucceeded forgets the user's failures. The shared throttle counts
// every attempt, successful ones too, so it also clears the address: a
// success proves the address is not guessing (the per-user key still stops
// guessing at any one account).
func (s *Server) loginSucceeded(user, addr string) {
	if s.shared == nil {
		s.throttle.Reset("user:" + user)
		return
	}
	if err := s.shared.Clear("user:" + user); err != nil {
		s.log.Warn("login throttle: clearing after a successful login failed", "error", err)
	}
	if err := s.shared.Clear("addr:" + addr); err != nil {
		s.log.Warn("login throttle: clearing after a successful login failed", "error", err)
	}
}
