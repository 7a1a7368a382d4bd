package redisstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

// Auto-pipelining. Each check is one EVALSHA of guardScript; the checks of
// concurrent requests are sent to Redis together, in one pipeline (one
// write and one read on one connection for many checks), by a few sender
// goroutines: a sender takes the oldest waiting check and every other
// check waiting at that moment (at most maxBatch), sends them, and hands
// each request its own reply. A request still waits for its own answer
// before it is accepted, so the replay check is exactly as strict as one
// round trip per call; a failed pipeline fails every check in it
// (unavailable), and none of them is accepted. Under light load a batch
// holds one check, the cost of a plain round trip.
const (
	guardSenders  = 2    // pipelines in flight at once
	guardMaxBatch = 256  // checks per pipeline
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

// do runs guardScript for one check through the batcher and returns its
// result: the script's number, or the error of its pipeline or its own.
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
	<-call.done // a sender always answers: its pipeline is bounded by the timeout
	wait, err := call.wait, call.err
	call.err, call.args, call.keys = nil, [5]any{}, [2]string{}
	guardCalls.Put(call)
	return wait, err
}

// send is one sender goroutine. It never ends, so that every queued check
// is answered: after the client is closed, its pipelines fail at once
// (redis.ErrClosed) and new checks are refused before they queue. Two idle
// goroutines per closed client is the price.
func (b *guardBatcher) send() {
	batch := make([]*guardCall, 0, guardMaxBatch)
	cmds := make([]*redis.Cmd, 0, guardMaxBatch)
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
		cmds = b.exec(batch, cmds[:0])
		for i, c := range batch {
			c.wait, c.err = cmds[i].Int64()
			c.done <- struct{}{}
			batch[i], cmds[i] = nil, nil
		}
	}
}

// exec sends batch as one pipeline of EVALSHA (loading the script and
// sending again those that found it missing, as Script.Run does).
func (b *guardBatcher) exec(batch []*guardCall, cmds []*redis.Cmd) []*redis.Cmd {
	ctx, cancel := b.c.ctx(context.Background())
	defer cancel()
	pipe := b.c.rdb.Pipeline()
	for _, c := range batch {
		cmds = append(cmds, guardScript.EvalSha(ctx, pipe, c.keys[:], c.args[:]...))
	}
	_, _ = pipe.Exec(ctx)
	var missing []int
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 { // Redis restarted or its scripts were flushed: the script did not run
		pipe := b.c.rdb.Pipeline()
		for _, i := range missing {
			cmds[i] = guardScript.Eval(ctx, pipe, batch[i].keys[:], batch[i].args[:]...)
		}
		_, _ = pipe.Exec(ctx)
	}
	return cmds
}

// Forget does nothing: the ids of an ended session expire by themselves.
func (g *Guard) Forget(string) {}

// Sweep does nothing: Redis expires the keys.
func (g *Guard) Sweep(time.Time) {}
