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
// per-user rate (RateLimiter's key and GCRA, taken through this gateway's
// leases: see "Rate leases" below) of signed requests, for many concurrent
// requests in one Redis round trip. The replay step runs first: a replayed
// id is refused and spends no token. Safe for concurrent use.
type Guard struct {
	c        *Client
	b        *guardBatcher
	window   time.Duration
	interval string // µs between requests at the rate, as go-redis formats a float64
	burst    int
	most     int // tokens a lease may hold: min(burst/leaseShare, leaseMax)

	// The fixed parts of the pipeline as RESP, written once: a replay
	// check is setHead, the hash in hex, setTail; the script call has
	// evalHead after its array length, and rateArgs after its keys.
	setHead, setTail, evalHead, rateArgs []byte
}

// NewGuard returns a guard remembering ids for window (at least twice the
// allowed clock skew) and limiting each user to rate requests per second
// with bursts of burst.
func NewGuard(c *Client, window time.Duration, rate float64, burst int) *Guard {
	g := &Guard{c: c, window: window, interval: strconv.FormatFloat(1e6/rate, 'f', -1, 64), burst: max(burst, 1)}
	g.most = min(g.burst/leaseShare, leaseMax)
	g.setHead = appendBulk(appendArrayLen(nil, 6), "SET")
	g.setHead = append(appendBulkHeader(g.setHead, len(c.prefix)+2+32), c.prefix+"r:"...)
	g.setTail = appendBulkInt(appendBulk(appendBulk(appendBulk([]byte("\r\n"), "1"), "NX"), "PX"), window.Milliseconds())
	g.evalHead = appendBulk(appendBulk(nil, "EVALSHA"), leaseScript.Hash())
	g.rateArgs = appendBulkInt(appendBulk(nil, g.interval), int64(g.burst))
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

// Batching. The checks of concurrent requests are sent to Redis together
// by guardSenders sender goroutines: a sender takes the oldest waiting
// check and every other check waiting at that moment (at most
// guardMaxBatch), writes one pipeline for them, and hands each request its
// own result. The pipeline is one native SET NX PX per check (the replay
// step), followed, only when some user of the batch needs rate tokens this
// gateway does not hold, by one EVALSHA of leaseScript (the rate step, see
// lease). A request still waits for its own answer before it is accepted,
// so the replay check is exactly as strict as one round trip per call; a
// failed pipeline fails every check in it (unavailable), and none of them
// is accepted. Under light load a batch holds one check, the cost of a
// plain round trip. The sender writes the pipeline itself on a connection
// of its own (scriptConn), not through go-redis's pool.
const (
	guardSenders  = 1    // pipelines in flight at once (1, 2, 4 measured: fewer and larger batches cost Redis less)
	guardMaxBatch = 256  // checks per pipeline
	guardQueue    = 4096 // checks waiting at most; beyond, a check waits for room (bounded by the Redis timeout)
)

// Rate leases. The per-user rate is GCRA on the user's key q:<user>, shared
// by every gateway. A sender takes tokens from it with leaseScript: one per
// rate check of the batch that its lease cannot cover, each at that
// check's own now and in order (so that at low rates every answer and
// Retry-After is what one GCRA step per request would give), plus, for a
// user whose requests arrive fast, leaseAhead's worth of their recent rate
// (at most burst/leaseShare, at most leaseMax) taken ahead. Tokens taken
// ahead and not spent form the user's lease on this gateway: later checks
// of the user spend them without a script call, for leaseTTL after the
// lease was last filled; then what is left is given back to the shared
// bucket (checked every leaseTTL/4). A token asked for a check that turns
// out to be a replay goes back at once (a replay takes none). So every
// accepted request took a token from the shared bucket: across gateways a
// user never gets more than the rate over time; one burst may exceed the
// burst by what leases held when it began (tokens taken while the bucket
// was full, which it then refilled: at most burst/leaseShare per gateway),
// and a user may get less by what other gateways hold (for at most
// 1.25 leaseTTL).
const (
	leaseAhead   = 10 * time.Millisecond  // demand taken ahead
	leaseTTL     = 100 * time.Millisecond // a lease's unspent tokens go back after
	demandWindow = 100 * time.Millisecond // a user's recent rate is counted over
	leaseShare   = 16                     // a lease holds at most burst/leaseShare tokens ahead
	leaseMin     = 4                      // requests per leaseAhead (400/s) before tokens are taken ahead
	leaseMax     = 4096
)

type guardCall struct {
	hash [16]byte // replayHash
	user string   // "" takes no rate token
	now  int64    // µs
	step int      // index of the user's userStep in the batch (set by exec)
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

// do runs one check through the batcher and returns its result: -1 for a
// replay, 0 when accepted, else the rate wait in µs; or the error of its
// pipeline.
func (b *guardBatcher) do(hash [16]byte, user string, now int64) (int64, error) {
	b.start.Do(func() {
		b.queue = make(chan *guardCall, guardQueue)
		for range guardSenders {
			sc := newScriptConn(b.c.ro, b.c.opts.Timeout, leaseSrc)
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
	<-call.done // a sender always answers: its pipeline is bounded by the timeout
	wait, err := call.wait, call.err
	call.err, call.user = nil, ""
	guardCalls.Put(call)
	return wait, err
}

// send is one sender goroutine. It never ends, so that every queued check
// is answered: after the client is closed, its pipelines fail at once
// (redis.ErrClosed) and new checks are refused before they queue. An idle
// goroutine per sender of a closed client is the price. Every leaseTTL/4
// it gives back the unspent tokens of expired leases.
func (b *guardBatcher) send(sc *scriptConn) {
	batch := make([]*guardCall, 0, guardMaxBatch)
	w := newGuardWriter()
	tick := time.NewTicker(leaseTTL / 4)
	closed := b.c.closed
	for {
		select {
		case first := <-b.queue:
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
			b.exec(sc, w, batch, time.Now())
			for i, c := range batch {
				c.done <- struct{}{}
				batch[i] = nil
			}
		case now := <-tick.C:
			b.giveBack(sc, w, now)
		case <-closed:
			tick.Stop()
			closed = nil // leases die with the client (Redis expires them)
		}
	}
}

// lease is what one sender holds of one user's shared rate bucket.
type lease struct {
	tokens int       // taken from the shared bucket, not spent yet
	until  time.Time // when the unspent tokens go back (wall clock)
	at     int64     // µs: now of the user's last check (the checks' clock, for giving back)
	gen    uint64    // the batch (guardWriter.gen) in which step was set
	step   int       // index of the user's userStep in that batch
	seen   int       // the user's rate checks in the current demand window
	prev   int       // ... in the one before
	window time.Time // start of the current demand window
}

// ahead is how many tokens to take ahead for the user at now: their
// requests of the last leaseAhead, estimated from the current demand window
// (counted as a whole window) and the previous one; 0 below
// leaseMin (a user under leaseMin per leaseAhead gets one GCRA step per
// request, exactly as one gateway would give), at most burst/leaseShare
// and leaseMax.
func (l *lease) ahead(burst int, now time.Time) int {
	span := max(now.Sub(l.window), demandWindow)
	n := max(int(int64(l.seen)*int64(leaseAhead)/int64(span)), int(int64(l.prev)*int64(leaseAhead)/int64(demandWindow)))
	if n < leaseMin {
		return 0
	}
	return min(n, burst/leaseShare, leaseMax)
}

// observe counts n rate checks of the user at now.
func (l *lease) observe(n int, now time.Time) {
	if d := now.Sub(l.window); d >= demandWindow {
		l.prev = 0
		if d < 2*demandWindow {
			l.prev = l.seen
		}
		l.seen, l.window = 0, now
	}
	l.seen += n
}

// userStep is one user's part of a batch. The user's checks, in batch
// order: the first checks-ask are covered by tokens the lease already
// holds, each of the others has its own answer from the script (its ask).
type userStep struct {
	name     string
	lease    *lease
	checks   int     // rate checks in the batch
	ask      int     // tokens asked of the script, one per check after the covered ones, each at its check's now
	extra    int     // tokens asked ahead
	give     int     // unspent tokens of an expired lease given back
	at       int64   // µs: now of the user's last check, for give and extra
	script   bool    // the user is in the script call
	nowAt    int     // where the asks' nows start in guardWriter.nows
	filled   int     // the user's checks seen while collecting those nows
	res      []int64 // the script's answer to each ask (0 granted, else the wait in µs)
	next     int     // the user's checks answered so far
	spare    int     // tokens held and not used by a check: the lease after the batch
	replayed int     // tokens asked for checks that were replays: given back at once
}

// answer answers the user's next check: -1 for a replay, 0 when it has a
// token (its own, or a spare one), else the wait its ask was answered. A
// replay's token goes back to the shared bucket at once when the check
// asked for it (replayed), and stays in the lease when the lease covered
// it (spare): a replay takes no token.
func (st *userStep) answer(fresh bool) int64 {
	j, cover := st.next, st.checks-st.ask
	st.next++
	granted, asked, wait := true, j >= cover, int64(0)
	if asked {
		wait = st.res[j-cover]
		granted = wait == 0
	}
	switch {
	case !fresh && granted && asked:
		st.replayed++
		return -1
	case !fresh && granted:
		st.spare++
		return -1
	case !fresh:
		return -1
	case granted:
		return 0
	case st.spare > 0:
		st.spare--
		return 0
	}
	return wait
}

// guardWriter builds the pipelines of one sender in reused buffers and
// holds the sender's leases.
type guardWriter struct {
	req    []byte
	fresh  []bool
	out    []int64
	steps  []userStep
	leases map[string]*lease
	nows   []int64 // the nows of the script's asks, each scripted user's from its nowAt
	gen    uint64  // counts batches: a lease whose gen is this one has its step
	evals  int     // script calls made (for tests)
}

func newGuardWriter() *guardWriter {
	return &guardWriter{leases: make(map[string]*lease)}
}

// exec runs the checks of batch in one pipeline on sc and records each
// check's result or the pipeline's error. wall is the sender's clock (for
// leases); each check's GCRA step uses its own now.
func (b *guardBatcher) exec(sc *scriptConn, w *guardWriter, batch []*guardCall, wall time.Time) {
	g := b.g
	w.gen++
	w.steps, w.nows = w.steps[:0], w.nows[:0]
	for _, c := range batch {
		if c.user == "" {
			continue
		}
		l := w.leases[c.user]
		if l == nil {
			l = &lease{window: wall}
			w.leases[c.user] = l
		}
		if l.gen != w.gen {
			l.gen, l.step = w.gen, len(w.steps)
			w.steps = append(w.steps, userStep{name: c.user, lease: l})
		}
		c.step = l.step
		st := &w.steps[l.step]
		st.checks++
		st.at = c.now
	}
	scripted := 0
	for i := range w.steps {
		st := &w.steps[i]
		l := st.lease
		if l.tokens > 0 && !wall.Before(l.until) {
			st.give, l.tokens = l.tokens, 0
		}
		l.observe(st.checks, wall)
		st.ask = max(st.checks-l.tokens, 0)
		st.spare = l.tokens - (st.checks - st.ask)
		if st.ask > 0 {
			st.extra = l.ahead(g.burst, wall)
		}
		st.script = st.ask > 0 || st.give > 0
		if st.script {
			st.nowAt = len(w.nows)
			w.nows = append(w.nows, make([]int64, st.ask)...)
			scripted++
		}
	}
	r := w.req[:0]
	for _, c := range batch {
		r = append(r, g.setHead...)
		r = hex.AppendEncode(r, c.hash[:])
		r = append(r, g.setTail...)
		if c.user == "" {
			continue
		}
		// The asks are the user's last checks (the lease covers the first
		// checks-ask).
		st := &w.steps[c.step]
		if j := st.filled - (st.checks - st.ask); j >= 0 {
			w.nows[st.nowAt+j] = c.now
		}
		st.filled++
	}
	evalAt := -1
	if scripted > 0 {
		w.evals++
		evalAt = len(r)
		r = w.appendScript(r, g, b.c.prefix, scripted)
	}
	w.req = r
	fresh, res, err := sc.run(r, len(batch), evalAt, w.fresh, w.out)
	w.fresh, w.out = fresh, res
	if err == nil && evalAt >= 0 {
		err = w.readScript(res)
	}
	if err != nil {
		for _, c := range batch {
			c.wait, c.err = 0, err
		}
		// The leases keep the tokens they held (their checks failed). Tokens
		// the script may have taken are lost, and a give back may or may not
		// have happened: it is never sent twice.
		return
	}
	for i, c := range batch {
		c.err = nil
		switch {
		case c.user != "":
			c.wait = w.steps[c.step].answer(fresh[i])
		case fresh[i]:
			c.wait = 0
		default:
			c.wait = -1
		}
	}
	for i := range w.steps {
		st := &w.steps[i]
		if st.ask > 0 {
			st.lease.until = wall.Add(leaseTTL) // the lease's tokens were all used: what is left is new
		}
		// A lease holds at most what may be taken ahead (replays it covered
		// could leave it more): the rest goes back with the replays' tokens.
		if st.spare > g.most {
			st.replayed += st.spare - g.most
			st.spare = g.most
		}
		st.lease.tokens, st.lease.at = st.spare, st.at
	}
	// The tokens of replays go back before the batch is answered, in one
	// more script call (only when there were any).
	back := 0
	for i := range w.steps {
		st := &w.steps[i]
		st.script = st.replayed > 0
		if st.script {
			st.give, st.ask, st.extra = st.replayed, 0, 0
			back++
		}
	}
	if back > 0 {
		b.sendGives(sc, w, back)
	}
}

// appendScript appends the EVALSHA of leaseScript for the scripted users
// of w.steps (their asks' nows in w.nows).
func (w *guardWriter) appendScript(r []byte, g *Guard, pre string, scripted int) []byte {
	nargs := 2
	for i := range w.steps {
		if st := &w.steps[i]; st.script {
			nargs += 4 + st.ask
		}
	}
	r = appendArrayLen(r, 3+scripted+nargs)
	r = append(r, g.evalHead...)
	r = appendBulkInt(r, int64(scripted))
	for i := range w.steps {
		if st := &w.steps[i]; st.script {
			r = appendBulkHeader(r, len(pre)+2+len(st.name))
			r = append(r, pre...)
			r = append(r, "q:"...)
			r = append(r, st.name...)
			r = append(r, "\r\n"...)
		}
	}
	r = append(r, g.rateArgs...)
	for i := range w.steps {
		st := &w.steps[i]
		if !st.script {
			continue
		}
		r = appendBulkInt(r, int64(st.give))
		r = appendBulkInt(r, int64(st.ask))
		r = appendBulkInt(r, int64(st.extra))
		r = appendBulkInt(r, st.at)
		for _, now := range w.nows[st.nowAt : st.nowAt+st.ask] {
			r = appendBulkInt(r, now)
		}
	}
	return r
}

// readScript takes each scripted user's answers from res: one per ask (0
// granted, else the wait in µs), then the tokens granted ahead.
func (w *guardWriter) readScript(res []int64) error {
	k := 0
	for i := range w.steps {
		st := &w.steps[i]
		if !st.script {
			continue
		}
		if k+st.ask+1 > len(res) {
			return errors.New("the rate script answered " + strconv.Itoa(len(res)) + " numbers, too few for its users")
		}
		st.res = res[k : k+st.ask]
		st.spare += int(res[k+st.ask])
		k += st.ask + 1
	}
	if k != len(res) {
		return errors.New("the rate script answered " + strconv.Itoa(len(res)) + " numbers, expected " + strconv.Itoa(k))
	}
	return nil
}

// giveBack returns the unspent tokens of every lease expired at now in one
// script call, and forgets users not seen for two demand windows.
func (b *guardBatcher) giveBack(sc *scriptConn, w *guardWriter, now time.Time) {
	w.steps = w.steps[:0]
	for u, l := range w.leases {
		switch {
		case l.tokens > 0 && !now.Before(l.until):
			w.steps = append(w.steps, userStep{name: u, lease: l, give: l.tokens, at: l.at, script: true})
			l.tokens = 0
		case l.tokens == 0 && now.Sub(l.window) >= 2*demandWindow:
			delete(w.leases, u)
		}
	}
	if len(w.steps) > 0 {
		b.sendGives(sc, w, len(w.steps))
	}
}

// sendGives gives back in one script call what the n steps of w.steps
// marked script hold in give (they ask nothing). A failure loses the
// tokens: the bucket refills them by itself.
func (b *guardBatcher) sendGives(sc *scriptConn, w *guardWriter, n int) {
	w.req = w.appendScript(w.req[:0], b.g, b.c.prefix, n)
	_, w.out, _ = sc.run(w.req, 0, 0, w.fresh, w.out)
}

// leaseScript is the rate step of a batch: per user, give back tokens,
// then one GCRA step per ask at its own now (exactly as gcraScript one
// request at a time: the stored time rounded as its string form, a
// refused step taking nothing), then take up to extra tokens ahead at the
// user's last now. Each user's state is read once (GET) and written once
// (SET PX, expiring when the bucket is full again).
// KEYS: q:<user> of each user. ARGV: interval µs, burst, then per user:
// give, asks, extra, at µs, and the now µs of each ask.
// Answers, per user: one number per ask (0 granted, else the wait in µs),
// then the number of tokens taken ahead.
var leaseScript = redis.NewScript(leaseSrc)

const leaseSrc = `
local t, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local round = t % 1 ~= 0
local out, a = {}, 3
for k = 1, #KEYS do
  local give, m, extra, at = tonumber(ARGV[a]), tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  a = a + 4
  local cur = tonumber(redis.call('GET', KEYS[k]) or '0')
  local last, wrote = at, false
  if give > 0 and cur > at then
    cur = math.max(cur - give * t, at)
    wrote = true
  end
  for j = 1, m do
    local now = tonumber(ARGV[a])
    a = a + 1
    local c = cur
    if c < now then c = now end
    local new = c + t
    local allowAt = new - burst * t
    if allowAt > now then
      out[#out+1] = math.ceil(allowAt - now)
    else
      if round then new = tonumber(string.format('%.0f', new)) end
      cur, last, wrote = new, now, true
      out[#out+1] = 0
    end
  end
  local g = 0
  if extra > 0 then
    local c = cur
    if c < at then c = at end
    g = math.min(extra, math.floor((at - c) / t + burst))
    if g > 0 then
      cur, last, wrote = c + g * t, at, true
    else
      g = 0
    end
  end
  out[#out+1] = g
  if wrote then
    local px = math.ceil((cur - last) / 1000) + 1
    if px < 1 then px = 1 end
    redis.call('SET', KEYS[k], string.format('%.0f', cur), 'PX', px)
  end
end
return out`

// Forget does nothing: the ids of an ended session expire by themselves.
func (g *Guard) Forget(string) {}

// Sweep does nothing: Redis expires the keys.
func (g *Guard) Sweep(time.Time) {}
