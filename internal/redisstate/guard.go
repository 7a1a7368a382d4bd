package redisstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
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
	b      *guardBatcher
	window time.Duration
	rate   float64
	burst  int
}

// NewGuard returns a guard remembering ids for window (at least twice the
// allowed clock skew) and limiting each user to rate requests per second
// with bursts of burst.
func NewGuard(c *Client, window time.Duration, rate float64, burst int) *Guard {
	return &Guard{c: c, b: &guardBatcher{c: c}, window: window, rate: rate, burst: max(burst, 1)}
}

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
	h := sha256.Sum256([]byte(sessionID + "\x00" + id))
	on := "1"
	if user == "" {
		on = "0"
	}
	wait, err := g.b.do(g.c.key("r", hex.EncodeToString(h[:16])), g.c.key("q", user),
		g.window.Milliseconds(), on, now.UnixMicro(), 1e6/g.rate, g.burst)
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

// Batching. The checks of concurrent requests are sent to Redis together,
// in one EVALSHA of guardBatchScript (one write, one read and one script
// call for many checks), by guardSenders sender goroutines: a sender takes
// the oldest waiting check and every other check waiting at that moment
// (at most guardMaxBatch), sends them, and hands each request its own
// result. A request still waits for its own answer before it is accepted,
// so the replay check is exactly as strict as one round trip per call; a
// failed script call fails every check in it (unavailable), and none of
// them is accepted. Under light load a batch holds one check, the cost of
// a plain round trip.
const (
	guardSenders  = 1    // script calls in flight at once (1, 2, 4 measured: fewer and larger batches cost Redis less)
	guardMaxBatch = 256  // checks per script call
	guardQueue    = 4096 // checks waiting at most; beyond, a check waits for room (bounded by the Redis timeout)
)

type guardCall struct {
	keys [2]string
	args [5]any
	wait int64
	err  error
	done chan struct{}
}

var guardCalls = sync.Pool{New: func() any { return &guardCall{done: make(chan struct{}, 1)} }}

type guardBatcher struct {
	c     *Client
	queue chan *guardCall
	start sync.Once
}

// do runs one check through the batcher and returns its
// result: the script's number for it, or the error of its script call.
func (b *guardBatcher) do(replayKey, rateKey string, args ...any) (int64, error) {
	b.start.Do(func() {
		b.queue = make(chan *guardCall, guardQueue)
		for range guardSenders {
			go b.send()
		}
	})
	call := guardCalls.Get().(*guardCall)
	call.keys = [2]string{replayKey, rateKey}
	copy(call.args[:], args)
	select {
	case b.queue <- call:
	case <-b.c.closed:
		guardCalls.Put(call)
		return 0, redis.ErrClosed
	default: // the queue is full: wait for room, at most the Redis timeout
		t := time.NewTimer(b.c.opts.Timeout)
		select {
		case b.queue <- call:
			t.Stop()
		case <-b.c.closed:
			t.Stop()
			guardCalls.Put(call)
			return 0, redis.ErrClosed
		case <-t.C:
			guardCalls.Put(call)
			return 0, errors.New("too many replay checks waiting for Redis")
		}
	}
	<-call.done // a sender always answers: its script call is bounded by the timeout
	wait, err := call.wait, call.err
	call.err, call.args, call.keys = nil, [5]any{}, [2]string{}
	guardCalls.Put(call)
	return wait, err
}

// send is one sender goroutine. It never ends, so that every queued check
// is answered: after the client is closed, its script calls fail at once
// (redis.ErrClosed) and new checks are refused before they queue. An idle
// goroutine per sender of a closed client is the price.
func (b *guardBatcher) send() {
	batch := make([]*guardCall, 0, guardMaxBatch)
	keys := make([]string, 0, 2*guardMaxBatch)
	args := make([]any, 0, 5*guardMaxBatch)
	for first := range b.queue {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < guardMaxBatch {
			select {
			case c := <-b.queue:
				batch = append(batch, c)
			default:
				break gather
			}
		}
		keys, args = b.exec(batch, keys, args)
		for i, c := range batch {
			c.done <- struct{}{}
			batch[i] = nil
		}
	}
}

// guardBatchScript runs many checks in one call, one after the other.
// KEYS: r:<hash of session and id>, q:<user> of each check in turn. ARGV:
// five per check in turn: window ms, rate on (0/1), now µs, interval µs,
// burst. It returns, per check, -1 when the id was seen within the window
// (nothing taken), 0 when accepted, else the rate wait in µs (the id stays
// recorded: it was used).
var guardBatchScript = redis.NewScript(`
local out = {}
for i = 1, #KEYS / 2 do
  local r, q, a = KEYS[2*i-1], KEYS[2*i], 5*(i-1)
  if not redis.call('SET', r, 1, 'NX', 'PX', ARGV[a+1]) then
    out[i] = -1
  elseif ARGV[a+2] == '0' then
    out[i] = 0
  else
    local now = tonumber(ARGV[a+3])
    local t = tonumber(ARGV[a+4])
    local burst = tonumber(ARGV[a+5])
    local tat = tonumber(redis.call('GET', q) or '0')
    if tat < now then tat = now end
    local new = tat + t
    local allowAt = new - burst * t
    if allowAt > now then
      out[i] = math.ceil(allowAt - now)
    else
      redis.call('SET', q, string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1)
      out[i] = 0
    end
  end
end
return out`)

// exec runs the checks of batch in one EVALSHA of guardBatchScript
// (Script.Run loads the script when Redis has lost it) and records each
// check's result or the call's error.
func (b *guardBatcher) exec(batch []*guardCall, keys []string, args []any) ([]string, []any) {
	ctx, cancel := b.c.ctx(context.Background())
	defer cancel()
	keys, args = keys[:0], args[:0]
	for _, c := range batch {
		keys = append(keys, c.keys[:]...)
		args = append(args, c.args[:]...)
	}
	res, err := guardBatchScript.Run(ctx, b.c.rdb, keys, args...).Int64Slice()
	if err == nil && len(res) != len(batch) {
		err = errors.New("the guard script answered " + strconv.Itoa(len(res)) + " results for " + strconv.Itoa(len(batch)) + " checks")
	}
	for i, c := range batch {
		if err != nil {
			c.wait, c.err = 0, err
		} else {
			c.wait, c.err = res[i], nil
		}
	}
	clear(args) // do not keep the values alive
	return keys, args
}

// Forget does nothing: the ids of an ended session expire by themselves.
func (g *Guard) Forget(string) {}

// Sweep does nothing: Redis expires the keys.
func (g *Guard) Sweep(time.Time) {}
