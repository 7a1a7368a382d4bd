package server

import (
	"time"
)

// Shared is the state a gateway shares with the other gateways of one
// deployment (issue 12; cmd/qconnect wires redisstate's implementations
// when --redis is given). A nil field keeps this gateway's own in-memory
// state. Errors that mean "the shared state cannot be reached" are
// *qconnect.Error with code unavailable; the server passes them on as they
// are, so the request is refused (503, Retry-After), never let through.
type Shared struct {
	Replay  ReplayGuard
	Rate    RateLimiter
	Streams StreamRelay // relay.go
}

// The login throttle shared by the gateways is Deps.Throttle (an
// auth.Throttle, whose contract includes the errors of a shared store).

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

// ReplayRateGuard is a ReplayGuard that can also take the request's
// per-user rate token in the same step (one Redis round trip instead of
// two). CheckRate fails like Check (then no token is taken); otherwise
// rate is nil or the rateLimited error, which the server reports at the
// rate step of PROTOCOL 3.3, after the method, entitlement and parameter
// checks. A request refused by one of those still used its token.
type ReplayRateGuard interface {
	ReplayGuard
	CheckRate(sessionID, id, user string, now time.Time) (rate, err error)
}

// RateLimiter is the per-user request rate: AllowRate takes one request of
// user at now, or returns rateLimited (with RetryAfter) or unavailable.
type RateLimiter interface {
	AllowRate(user string, now time.Time) error
}
