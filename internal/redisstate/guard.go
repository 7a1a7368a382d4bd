package redisstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"

	qconnect "github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
)

// Guard is the replay check (ReplayCache's keys and semantics) and the
// per-user rate (RateLimiter's keys and semantics) in one Lua script, so
// that a signed call costs one Redis round trip for both. The replay step
// runs first: a replayed id is refused and takes no token. Safe for
// concurrent use.
type Guard struct {
	c      *Client
	window time.Duration
	rate   float64
	burst  int
}

// NewGuard returns a guard remembering ids for window (at least twice the
// allowed clock skew) and limiting each user to rate requests per second
// with bursts of burst.
func NewGuard(c *Client, window time.Duration, rate float64, burst int) *Guard {
	return &Guard{c: c, window: window, rate: rate, burst: max(burst, 1)}
}

// guardScript: KEYS r:<hash of session and id>, q:<user>.
// ARGV window ms, rate on (0/1), now µs, interval µs, burst.
// Returns -1 when the id was seen within the window (nothing taken), 0
// when accepted, else the rate wait in µs (the id stays recorded: it was
// used, as with the separate steps).
var guardScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) then return -1 end
if ARGV[2] == '0' then return 0 end
local now = tonumber(ARGV[3])
local t = tonumber(ARGV[4])
local burst = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local new = tat + t
local allowAt = new - burst * t
if allowAt > now then return math.ceil(allowAt - now) end
redis.call('SET', KEYS[2], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1)
return 0`)

// Check records id for the session without taking a rate token (the
// WebSocket AuthReq). Errors as ReplayCache.Check.
func (g *Guard) Check(sessionID, id string, now time.Time) error {
	_, err := g.run(sessionID, id, "", now)
	return err
}

// CheckRate records id for the session and takes one request of user's
// rate at now, in one step. err is auth.ErrReplayed (nothing taken) or
// unavailable (nothing accepted); otherwise rate is nil or the rateLimited
// error the caller reports at its place in PROTOCOL 3.3's order.
func (g *Guard) CheckRate(sessionID, id, user string, now time.Time) (rate, err error) {
	return g.run(sessionID, id, user, now)
}

func (g *Guard) run(sessionID, id, user string, now time.Time) (error, error) {
	ctx, cancel := g.c.ctx(context.Background())
	defer cancel()
	h := sha256.Sum256([]byte(sessionID + "\x00" + id))
	on := "1"
	if user == "" {
		on = "0"
	}
	wait, err := guardScript.Run(ctx, g.c.rdb, []string{g.c.key("r", hex.EncodeToString(h[:16])), g.c.key("q", user)},
		g.window.Milliseconds(), on, now.UnixMicro(), 1e6/g.rate, g.burst).Int64()
	if err != nil {
		return nil, g.c.fail("replay and rate check", err)
	}
	switch {
	case wait < 0:
		return nil, auth.ErrReplayed
	case wait > 0:
		return &qconnect.Error{Code: qconnect.CodeRateLimited, RetryAfter: time.Duration(wait) * time.Microsecond,
			Message: "too many requests from this user; slow down and retry after the Retry-After delay"}, nil
	}
	return nil, nil
}

// Forget does nothing: the ids of an ended session expire by themselves.
func (g *Guard) Forget(string) {}

// Sweep does nothing: Redis expires the keys.
func (g *Guard) Sweep(time.Time) {}
