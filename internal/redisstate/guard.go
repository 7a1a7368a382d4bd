package redisstate

import (
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
	c        *Client
	b        *guardBatcher
	window   time.Duration
	interval string // µs between requests at the rate, as go-redis formats a float64
	burst    int
}

// NewGuard returns a guard remembering ids for window (at least twice the
// allowed clock skew) and limiting each user to rate requests per second
// with bursts of burst.
func NewGuard(c *Client, window time.Duration, rate float64, burst int) *Guard {
	g := &Guard{c: c, window: window, interval: strconv.FormatFloat(1e6/rate, 'f', -1, 64), burst: max(burst, 1)}
	g.b = &guardBatcher{c: c, g: g}
	return g
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
	wait, err := g.b.do(replayHash(sessionID, id), user, now.UnixMicro())
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

// replayHash names the replay key r:<hex> of id in a session, for the
// guard and ReplayCache alike: the first 16 bytes of SHA-256(session id,
// NUL, id). Ids and session ids of the usual sizes are hashed from a
// buffer on the stack (no allocation on the signed-call path).
func replayHash(sessionID, id string) [16]byte {
	var buf [256]byte
	b := append(append(append(buf[:0], sessionID...), 0), id...)
	sum := sha256.Sum256(b)
	return [16]byte(sum[:16])
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
// a plain round trip. The sender writes the script call itself on a
// connection of its own (scriptConn), not through go-redis's pool.
const (
	guardSenders  = 1    // script calls in flight at once (1, 2, 4 measured: fewer and larger batches cost Redis less)
	guardMaxBatch = 256  // checks per script call
	guardQueue    = 4096 // checks waiting at most; beyond, a check waits for room (bounded by the Redis timeout)
)

type guardCall struct {
	hash [16]byte // replayHash
	user string   // "" takes no rate token
	now  int64    // µs
	wait int64
	err  error
	done chan struct{}
}

var guardCalls = sync.Pool{New: func() any { return &guardCall{done: make(chan struct{}, 1)} }}

type guardBatcher struct {
	c     *Client
	g     *Guard
	queue chan *guardCall
	start sync.Once
}

// do runs one check through the batcher and returns its
// result: the script's number for it, or the error of its script call.
func (b *guardBatcher) do(hash [16]byte, user string, now int64) (int64, error) {
	b.start.Do(func() {
		b.queue = make(chan *guardCall, guardQueue)
		for range guardSenders {
			sc := newScriptConn(b.c.ro, b.c.opts.Timeout, guardBatchSrc)
			b.c.onClose(sc.close)
			go b.send(sc)
		}
	})
	call := guardCalls.Get().(*guardCall)
	call.hash, call.user, call.now = hash, user, now
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
	call.err, call.user = nil, ""
	guardCalls.Put(call)
	return wait, err
}

// send is one sender goroutine. It never ends, so that every queued check
// is answered: after the client is closed, its script calls fail at once
// (redis.ErrClosed) and new checks are refused before they queue. An idle
// goroutine per sender of a closed client is the price.
func (b *guardBatcher) send(sc *scriptConn) {
	batch := make([]*guardCall, 0, guardMaxBatch)
	w := guardWriter{users: make(map[string]int)}
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
		b.exec(sc, &w, batch)
		for i, c := range batch {
			c.done <- struct{}{}
			batch[i] = nil
		}
	}
}

// guardBatchScript runs the checks of a batch in one call, in order.
// KEYS: the replay key r:<hash> of each check, then the rate key q:<user>
// of each distinct user of the batch. ARGV: window ms, interval µs, burst,
// then two per check: the index of its user among the rate keys (0: no
// rate token, the WebSocket AuthReq) and now µs. Per check it answers -1
// when the id was seen within the window (nothing taken), 0 when accepted,
// else the rate wait in µs (the id stays recorded: it was used).
//
// The rate step is GCRA, exactly as gcraScript one check at a time: each
// user's state is read once (GET) and written once (SET PX, when a check
// took a token) per batch, its checks computed in between in order in Lua
// locals, rounding the stored time as gcraScript's string form does and
// keeping the expiry of the last check that took a token.
var guardBatchScript = redis.NewScript(guardBatchSrc)

const guardBatchSrc = `
local px, t, burst = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = (#ARGV - 3) / 2
local round = t % 1 ~= 0
local tat, ttl, out = {}, {}, {}
for i = 1, n do
  if not redis.call('SET', KEYS[i], 1, 'NX', 'PX', px) then
    out[i] = -1
  else
    local u = tonumber(ARGV[2*i+2])
    if u == 0 then
      out[i] = 0
    else
      local now = tonumber(ARGV[2*i+3])
      local cur = tat[u]
      if cur == nil then
        cur = tonumber(redis.call('GET', KEYS[n+u]) or '0')
        tat[u] = cur
      end
      if cur < now then cur = now end
      local new = cur + t
      local allowAt = new - burst * t
      if allowAt > now then
        out[i] = math.ceil(allowAt - now)
      else
        ttl[u] = math.ceil((new - now) / 1000) + 1
        if round then new = tonumber(string.format('%.0f', new)) end
        tat[u] = new
        out[i] = 0
      end
    end
  end
end
for u, p in pairs(ttl) do
  redis.call('SET', KEYS[n+u], string.format('%.0f', tat[u]), 'PX', p)
end
return out`

// guardWriter builds the script calls of one sender in reused buffers.
type guardWriter struct {
	req   []byte
	out   []int64
	users map[string]int // user -> index among the batch's rate keys (1-based)
	order []string
}

// exec runs the checks of batch in one EVALSHA of guardBatchScript on sc
// and records each check's result or the call's error.
func (b *guardBatcher) exec(sc *scriptConn, w *guardWriter, batch []*guardCall) {
	g, pre := b.g, b.c.prefix
	clear(w.users)
	w.order = w.order[:0]
	for _, c := range batch {
		if c.user != "" {
			if _, ok := w.users[c.user]; !ok {
				w.order = append(w.order, c.user)
				w.users[c.user] = len(w.order)
			}
		}
	}
	n := len(batch)
	r := appendArrayLen(w.req[:0], 3+n+len(w.order)+3+2*n)
	r = appendBulk(r, "EVALSHA")
	r = appendBulk(r, guardBatchScript.Hash())
	r = appendBulkInt(r, int64(n+len(w.order)))
	for _, c := range batch {
		r = appendBulkHeader(r, len(pre)+2+32)
		r = append(r, pre...)
		r = append(r, "r:"...)
		r = hex.AppendEncode(r, c.hash[:])
		r = append(r, "\r\n"...)
	}
	for _, u := range w.order {
		r = appendBulkHeader(r, len(pre)+2+len(u))
		r = append(r, pre...)
		r = append(r, "q:"...)
		r = append(r, u...)
		r = append(r, "\r\n"...)
	}
	r = appendBulkInt(r, g.window.Milliseconds())
	r = appendBulk(r, g.interval)
	r = appendBulkInt(r, int64(g.burst))
	for _, c := range batch {
		r = appendBulkInt(r, int64(w.users[c.user])) // 0 for ""
		r = appendBulkInt(r, c.now)
	}
	w.req = r
	res, err := sc.run(r, w.out)
	w.out = res
	if err == nil && len(res) != n {
		err = errors.New("the guard script answered " + strconv.Itoa(len(res)) + " results for " + strconv.Itoa(n) + " checks")
	}
	for i, c := range batch {
		if err != nil {
			c.wait, c.err = 0, err
		} else {
			c.wait, c.err = res[i], nil
		}
	}
}

// Forget does nothing: the ids of an ended session expire by themselves.
func (g *Guard) Forget(string) {}

// Sweep does nothing: Redis expires the keys.
func (g *Guard) Sweep(time.Time) {}
