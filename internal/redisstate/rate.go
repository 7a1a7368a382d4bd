package redisstate

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	qconnect "github.com/qconnect/qconnect"
)

// RateLimiter is the per-user request rate shared by every gateway: a token
// bucket of burst requests refilled at rate per second, kept as GCRA's
// theoretical arrival time in one key per user (q:<user>) with a TTL, updated
// by a Lua script in one atomic step.
type RateLimiter struct {
	c     *Client
	rate  float64
	burst int
}

// NewRateLimiter returns a limiter of rate requests per second per user with
// bursts of burst.
func NewRateLimiter(c *Client, rate float64, burst int) *RateLimiter {
	return &RateLimiter{c: c, rate: rate, burst: max(burst, 1)}
}

// gcraScript: KEYS q:<user>. ARGV now µs, interval µs, burst.
// Returns 0 when allowed, else the wait in µs.
var gcraScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + t
local allowAt = new - burst * t
if allowAt > now then return math.ceil(allowAt - now) end
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1)
return 0`)

// AllowRate takes one request from user's bucket at now, or returns
// rateLimited with the wait; unavailable when Redis cannot be asked.
func (l *RateLimiter) AllowRate(user string, now time.Time) error {
	ctx, cancel := l.c.ctx(context.Background())
	defer cancel()
	interval := 1e6 / l.rate
	wait, err := gcraScript.Run(ctx, l.c.rdb, []string{l.c.key("q", user)},
		now.UnixMicro(), interval, l.burst).Int64()
	if err != nil {
		return l.c.fail("rate limit", err)
	}
	if wait > 0 {
		return &qconnect.Error{Code: qconnect.CodeRateLimited, RetryAfter: time.Duration(wait) * time.Microsecond,
			Message: "too many requests from this user; slow down and retry after the Retry-After delay"}
	}
	return nil
}
