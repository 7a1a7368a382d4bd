package redisstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qconnect/qconnect/internal/auth"
)

// Throttle is the login throttle shared by every gateway: at most max
// attempts per key (a username, a client address) within a sliding window.
// Reserve checks and counts an attempt in one atomic step (a Lua script over
// a sorted set of attempt times per key, t:<key>), before the password is
// hashed, so that concurrent attempts on several gateways cannot all slip
// under the limit. It implements auth.Throttle.
type Throttle struct {
	c      *Client
	max    int
	window time.Duration
}

// NewThrottle returns a throttle allowing maxAttempts per window per key;
// values of 0 or less take auth's defaults (5 per 5 minutes).
func NewThrottle(c *Client, maxAttempts int, window time.Duration) *Throttle {
	if maxAttempts <= 0 {
		maxAttempts = auth.DefaultMaxFailures
	}
	if window <= 0 {
		window = auth.DefaultThrottleWindow
	}
	return &Throttle{c: c, max: maxAttempts, window: window}
}

// reserveScript: KEYS t:<key>. ARGV now ms, window ms, max, unique member.
// Returns {1, 0} when the attempt is allowed (and counted), {0, wait ms}
// when it is refused (and not counted).
var reserveScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= max then
  local e = redis.call('ZRANGE', KEYS[1], n - max, n - max, 'WITHSCORES')
  return {0, tonumber(e[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}`)

// Reserve checks whether key may make an attempt at now and, if it may,
// counts the attempt. When it may not, retryAfter is how long until it may.
// If Redis cannot be asked, the attempt is refused and err is an
// unavailable *qconnect.Error.
func (t *Throttle) Reserve(key string, now time.Time) (retryAfter time.Duration, ok bool, err error) {
	ctx, cancel := t.c.ctx(context.Background())
	defer cancel()
	var b [8]byte
	rand.Read(b[:])
	v, err := reserveScript.Run(ctx, t.c.rdb, []string{t.c.key("t", key)},
		now.UnixMilli(), t.window.Milliseconds(), t.max, hex.EncodeToString(b[:])).Int64Slice()
	if err != nil {
		return 0, false, t.c.fail("login throttle", err)
	}
	if len(v) == 2 && v[0] == 1 {
		return 0, true, nil
	}
	wait := time.Duration(v[1]) * time.Millisecond
	return max(wait, time.Millisecond), false, nil
}

// forgiveScript: KEYS t:<key>. ARGV the attempt's time in ms. Removes one
// attempt counted at that time.
var forgiveScript = redis.NewScript(`
local m = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
if #m > 0 then redis.call('ZREM', KEYS[1], m[1]) end
return #m`)

// Forgive withdraws one attempt counted at at (auth.Throttle).
func (t *Throttle) Forgive(key string, at time.Time) error {
	ctx, cancel := t.c.ctx(context.Background())
	defer cancel()
	return t.c.fail("login throttle", forgiveScript.Run(ctx, t.c.rdb, []string{t.c.key("t", key)}, at.UnixMilli()).Err())
}

// Reset forgets every attempt of key (after a successful login).
func (t *Throttle) Reset(key string) error {
	ctx, cancel := t.c.ctx(context.Background())
	defer cancel()
	return t.c.fail("login throttle", t.c.rdb.Del(ctx, t.c.key("t", key)).Err())
}

var _ auth.Throttle = (*Throttle)(nil)
