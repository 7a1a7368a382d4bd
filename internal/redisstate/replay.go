package redisstate

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/qconnect/qconnect/internal/auth"
)

// ReplayCache remembers request ids per session in Redis for a window, so
// that an id is accepted once across every gateway (PROTOCOL 3.3). Each id
// is one key, r:<hash of session and id>, set with SET NX PX window: the
// check and the record are one atomic step. Keys expire by themselves, so
// memory is bounded by the request rate times the window.
type ReplayCache struct {
	c      *Client
	window time.Duration
}

// NewReplayCache returns a replay cache remembering ids for window (use at
// least twice the allowed clock skew, as for auth.ReplayCache).
func NewReplayCache(c *Client, window time.Duration) *ReplayCache {
	return &ReplayCache{c: c, window: window}
}

// Check records id for the session. It returns auth.ErrReplayed if the id
// was already recorded within the window, and an unavailable *qconnect.Error
// if Redis could not be asked; in both cases the request must be refused.
func (r *ReplayCache) Check(sessionID, id string, _ time.Time) error {
	ctx, cancel := r.c.ctx(context.Background())
	defer cancel()
	h := replayHash(sessionID, id)
	ok, err := r.c.rdb.SetNX(ctx, r.c.key("r", hex.EncodeToString(h[:])), 1, r.window).Result()
	if err != nil {
		return r.c.fail("replay check", err)
	}
	if !ok {
		return auth.ErrReplayed
	}
	return nil
}

// Forget does nothing: the ids of an ended session expire by themselves
// (and cannot be used without the session).
func (r *ReplayCache) Forget(string) {}

// Sweep does nothing: Redis expires the keys.
func (r *ReplayCache) Sweep(time.Time) {}
