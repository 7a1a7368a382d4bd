package server

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
)

// hashWaitersPerSlot bounds the logins waiting for a hashing slot: beyond
// hashWaitersPerSlot × LoginConcurrency waiters a login is refused at once
// (busy), so a flood never piles up goroutines for the whole queue wait.
const hashWaitersPerSlot = 64

// hashGate bounds the password hashes running at once (Config.
// LoginConcurrency). A login waits at most Config.LoginQueueWait for a
// slot; one that gets none is refused with busy (PROTOCOL appendix 21).
type hashGate struct {
	slots      chan struct{}
	wait       time.Duration
	waiting    atomic.Int64
	maxWaiting int64
}

func newHashGate(concurrency int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, concurrency), wait: wait,
		maxWaiting: int64(hashWaitersPerSlot * concurrency)}
}

// acquire takes a slot, waiting at most g.wait; false means none was free.
// A true acquire must be followed by exactly one release.
func (g *hashGate) acquire(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return false
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (g *hashGate) release() { <-g.slots }

// checkPassword checks user's password for a login from addr at now, in
// the order of PROTOCOL 2: first the throttle, which reserves an attempt
// for the username and for the address in one atomic step each (so that
// parallel logins cannot all pass a check made before the hash), then a
// hashing slot, then the password. A wrong password leaves both attempts
// counted; a right one clears the username's failures and forgives this
// attempt of the address; a login refused before hashing forgives what it
// reserved. It returns nil, tooManyAttempts (429), busy (503),
// unavailable (503, a shared throttle that cannot be reached) or
// invalidCredentials (401).
func (s *Server) checkPassword(ctx context.Context, user, password, addr string, now time.Time) error {
	_, err := s.checkPasswordIn(ctx, user, password, addr, now)
	return err
}

// checkPasswordIn is checkPassword; it also returns the users Directory the
// password was checked against.
func (s *Server) checkPasswordIn(ctx context.Context, user, password, addr string, now time.Time) (*auth.Directory, error) {
	keys := [2]string{"user:" + user, "addr:" + addr}
	forgive := func(reserved []string) {
		for _, k := range reserved {
			s.logThrottleErr(s.throttle.Forgive(k, now))
		}
	}
	for i, key := range keys {
		wait, ok, err := s.throttle.Reserve(key, now)
		if err != nil {
			forgive(keys[:i])
			return nil, err
		}
		if !ok {
			forgive(keys[:i])
			return nil, &qconnect.Error{Code: qconnect.CodeTooManyAttempts, RetryAfter: wait,
				Message: "too many failed logins for this username or from this address; wait " +
					strconv.Itoa(retrySeconds(wait)) + " s (Retry-After) and check the credentials"}
		}
	}
	if !s.hashes.acquire(ctx) {
		forgive(keys[:])
		return nil, &qconnect.Error{Code: qconnect.CodeBusy, RetryAfter: s.cfg.BusyRetryAfter,
			Message: "the gateway is checking as many passwords as it allows at once; retry the login after the Retry-After delay"}
	}
	dir := s.deps.Users.Current()
	ok := dir.Authenticate(user, password)
	s.hashes.release()
	if !ok {
		return nil, errWrongCredentials()
	}
	s.logThrottleErr(s.throttle.Reset(keys[0]))
	s.logThrottleErr(s.throttle.Forgive(keys[1], now))
	return dir, nil
}

// logThrottleErr logs a failed Forgive or Reset: the attempt stays
// counted, which errs on the safe side.
func (s *Server) logThrottleErr(err error) {
	if err != nil {
		s.log.Warn("login throttle: an attempt could not be forgiven; it stays counted", "error", err)
	}
}

func errWrongCredentials() error {
	return qconnect.Errorf(qconnect.CodeInvalidCredentials,
		"the username or password is wrong; check both and try again")
}

// ReloadUsers reloads the users file (SIGHUP) and ends every session of
// the users whose password changed or who were removed, which closes their
// WebSockets with 4401; their next signed call gets invalidSession. It
// returns those users. On error (a bad file, which names its lines) the
// old users stay in force and no session ends. Reloads must not run
// concurrently (the command calls it from one goroutine).
func (s *Server) ReloadUsers(ctx context.Context) (ended []string, err error) {
	old := s.deps.Users.Current()
	if err := s.deps.Users.Reload(); err != nil {
		return nil, err
	}
	changed := old.CredentialsChanged(s.deps.Users.Current())
	for _, user := range changed {
		if _, err := s.deps.Sessions.EndUser(ctx, user); err != nil {
			return changed, fmt.Errorf("ending the sessions of %s: %w", user, err)
		}
	}
	return changed, nil
}
