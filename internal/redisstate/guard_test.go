package redisstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	qconnect "github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/testenv"
)

func TestGuardMiniredis(t *testing.T)     { t.Parallel(); testGuard(t, miniServer(t)) }
func TestGuardRedisServer(t *testing.T)   { t.Parallel(); testGuard(t, realServer(t)) }
func TestUserCacheMiniredis(t *testing.T) { t.Parallel(); testUserCache(t, miniServer(t)) }
func TestUserCacheRedisServer(t *testing.T) {
	t.Parallel()
	testUserCache(t, realServer(t))
}

// testGuard: the combined script keeps both semantics across gateways.
func testGuard(t *testing.T, srv server) {
	a := NewGuard(open(t, srv), 10*time.Minute, 10, 3)
	b := NewGuard(open(t, srv), 10*time.Minute, 10, 3)
	now := time.Now().Truncate(time.Millisecond)
	if rate, err := a.CheckRate("s1", "id-1", "ann", now); rate != nil || err != nil {
		t.Fatalf("first use = %v, %v", rate, err)
	}
	// Replayed on the other gateway: refused, and no token taken.
	for range 5 {
		if _, err := b.CheckRate("s1", "id-1", "ann", now); !errors.Is(err, auth.ErrReplayed) {
			t.Fatalf("replay on another gateway = %v, want ErrReplayed", err)
		}
	}
	if err := b.Check("s1", "id-1", now); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("Check of a used id = %v, want ErrReplayed", err)
	}
	// Check (WebSocket AuthReq) takes no token: two more fit in the burst of 3.
	if err := b.Check("s1", "ws-1", now); err != nil {
		t.Fatal(err)
	}
	for i, g := range []*Guard{b, a} {
		if rate, err := g.CheckRate("s1", "id-"+string(rune('a'+i)), "ann", now); rate != nil || err != nil {
			t.Fatalf("request %d of the burst = %v, %v", i+2, rate, err)
		}
	}
	rate, err := b.CheckRate("s1", "id-z", "ann", now)
	e := qconnect.AsError(rate)
	if err != nil || rate == nil || e.Code != qconnect.CodeRateLimited || e.RetryAfter != 100*time.Millisecond {
		t.Fatalf("4th request = %v, %v; want rateLimited, retry 100ms", rate, err)
	}
	if _, err := a.CheckRate("s1", "id-z", "ann", now); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("a rate-limited id is used too: %v, want ErrReplayed", err)
	}
	if rate, err := a.CheckRate("s2", "id-1", "bob", now); rate != nil || err != nil {
		t.Fatalf("another user and session: %v, %v", rate, err)
	}
	// Concurrent: one id on both gateways is accepted once.
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		g := a
		if i%2 == 1 {
			g = b
		}
		wg.Go(func() {
			if _, err := g.CheckRate("s3", "race", "carl", now); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("one id accepted %d times", ok.Load())
	}
	// The script flushed from Redis (a restart): the pipeline loads it
	// again, and the check keeps its meaning.
	if err := a.c.rdb.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if rate, err := a.CheckRate("s5", "after-flush", "eve", now); rate != nil || err != nil {
		t.Fatalf("first use after SCRIPT FLUSH = %v, %v", rate, err)
	}
	if _, err := b.CheckRate("s5", "after-flush", "eve", now); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("replay after SCRIPT FLUSH = %v, want ErrReplayed", err)
	}
	// Many concurrent checks share pipelines: each gets its own answer.
	var accepted, replayed atomic.Int32
	for i := range 200 {
		g := a
		if i%2 == 1 {
			g = b
		}
		wg.Go(func() {
			// ids 0..99 twice each: exactly one of each pair is accepted.
			_, err := g.CheckRate("s6", "many-"+string(rune('A'+i%100)), "fay", now)
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, auth.ErrReplayed):
				replayed.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 100 || replayed.Load() != 100 {
		t.Fatalf("200 concurrent checks of 100 ids twice: %d accepted, %d replayed; want 100 and 100", accepted.Load(), replayed.Load())
	}
	// Redis gone: unavailable, never accepted unchecked.
	srv.stop()
	_, err = a.CheckRate("s4", "down", "dora", now)
	if e := qconnect.AsError(err); err == nil || e.Code != qconnect.CodeUnavailable {
		t.Fatalf("with Redis down = %v, want unavailable", err)
	}
	if err := a.Check("s4", "down", now); qconnect.AsError(err).Code != qconnect.CodeUnavailable {
		t.Fatalf("Check with Redis down = %v, want unavailable", err)
	}
	srv.start()
}

// testUserCache: a gateway's cache of a user's sessions is dropped when a
// session of theirs ends or starts on another gateway.
func testUserCache(t *testing.T, srv server) {
	ctx := context.Background()
	clk := newClock()
	cfg := auth.SessionConfig{IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, MaxPerUser: 16}
	a, b := watchedPair(t, srv, clk, cfg, "b")
	s1, err := a.s.Open(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	cached := func() bool {
		b.store.mu.Lock()
		defer b.store.mu.Unlock()
		_, ok := b.store.users["erin"]
		return ok
	}
	// B caches once the announcement of s1's login has reached it too.
	for wait := time.Now().Add(5 * time.Second); !cached(); {
		if ss, err := b.s.Candidates(ctx, "erin", s1.ID[len(s1.ID)-6:]); err != nil || len(ss) != 1 {
			t.Fatalf("B.Candidates = %v, %v", ss, err)
		}
		if time.Now().After(wait) {
			t.Fatal("B never caches erin's sessions")
		}
	}
	// A login on A drops B's cache as soon as it is announced.
	s2, err := a.s.Open(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	// Well before the TTL backstop.
	testenv.WaitFor(t, "B to drop its cache of erin's sessions after a login on A", userCacheFor/2, func() bool { return !cached() })
	if ss, err := b.s.Candidates(ctx, "erin", s2.ID[len(s2.ID)-6:]); err != nil || len(ss) != 1 || ss[0].ID != s2.ID {
		t.Fatalf("B.Candidates of the new session = %v, %v", ss, err)
	}
	// A logout on A: once B has seen the announcement, B does not find it.
	if err := a.s.End(ctx, s1.ID); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, b, s1.ID)
	if ss, err := b.s.Candidates(ctx, "erin", s1.ID[len(s1.ID)-6:]); err != nil || len(ss) != 0 {
		t.Fatalf("B.Candidates after the logout on A = %v, %v; want none", ss, err)
	}
	if _, err := b.s.Get(ctx, s1.ID); err == nil {
		t.Fatal("B.Get finds the session ended on A")
	}
	// A gateway that has not heard of a login (C does not watch) still
	// finds the new session: a cached list without the suffix is re-read.
	c := newGateway(t, srv, clk, cfg)
	if ss, err := c.s.Candidates(ctx, "erin", s2.ID[len(s2.ID)-6:]); err != nil || len(ss) != 1 {
		t.Fatalf("C.Candidates = %v, %v", ss, err)
	}
	s3, err := a.s.Open(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	if ss, err := c.s.Candidates(ctx, "erin", s3.ID[len(s3.ID)-6:]); err != nil || len(ss) != 1 || ss[0].ID != s3.ID {
		t.Fatalf("C.Candidates of a session just opened on A = %v, %v", ss, err)
	}
}

func TestGuardBatchMiniredis(t *testing.T)   { t.Parallel(); testGuardBatch(t, miniServer(t)) }
func TestGuardBatchRedisServer(t *testing.T) { t.Parallel(); testGuardBatch(t, realServer(t)) }

// guardStep is one check of testGuardBatch.
type guardStep struct {
	session, id, user string
	at                time.Duration // after the test's start time
}

// testGuardBatch: checks of several users and sessions sent in ONE script
// call (the rate state of each user read and written once) answer exactly
// what the same checks answer one script call each, in the same order:
// the replay step first (an id repeated within the batch is refused and
// takes no token), each user's GCRA step in order with its own now, the
// Retry-After of each refused check, and the rate state left behind. The
// intervals are a whole number of µs (rate 10/s) and not one (rate 3/s,
// rounded as the one-check script stores it).
func testGuardBatch(t *testing.T, srv server) {
	ms := time.Millisecond
	steps := []guardStep{
		{"s1", "a", "ann", 0}, {"s2", "b", "bob", 0}, {"s1", "c", "ann", 0},
		{"s1", "a", "ann", 0},       // replay within the batch: no token
		{"s1", "d", "ann", 10 * ms}, // beyond the burst: wait
		{"s3", "e", "", 10 * ms},    // WebSocket AuthReq: no token
		{"s2", "f", "bob", 20 * ms}, {"s1", "g", "ann", 400 * ms}, {"s1", "h", "ann", 401 * ms},
		{"s1", "i", "ann", 402 * ms}, {"s2", "b", "bob", 500 * ms}, // replay of bob's first
		{"s4", "a", "ann", 500 * ms}, // same id, other session: a new id
	}
	for _, rate := range []float64{10, 3} {
		c := openPrefix(t, srv, fmt.Sprintf("all%v:", rate))
		t0 := time.Now().Truncate(time.Millisecond)
		// The reference, one check at a time under its own prefix: the
		// replay cache's SET NX PX, then the rate limiter's one-check GCRA
		// script (what the guard did in one script per check before).
		oc := openPrefix(t, srv, fmt.Sprintf("one%v:", rate))
		one := struct{ c *Client }{oc}
		replay, limiter := NewReplayCache(oc, 10*time.Minute), NewRateLimiter(oc, rate, 2)
		var want []int64
		for _, s := range steps {
			now := t0.Add(s.at)
			switch err := replay.Check(s.session, s.id, now); {
			case errors.Is(err, auth.ErrReplayed):
				want = append(want, -1)
			case err != nil:
				t.Fatal(err)
			case s.user == "":
				want = append(want, 0)
			default:
				var wait int64
				if err := limiter.AllowRate(s.user, now); err != nil {
					if qconnect.AsError(err).Code != qconnect.CodeRateLimited {
						t.Fatal(err)
					}
					wait = int64(qconnect.AsError(err).RetryAfter / time.Microsecond)
				}
				want = append(want, wait)
			}
		}
		// All of them in one pipeline.
		all := NewGuard(c, 10*time.Minute, rate, 2)
		sc := newScriptConn(c.ro, c.opts.Timeout, leaseSrc)
		defer sc.close()
		batch := make([]*guardCall, len(steps))
		for i, s := range steps {
			batch[i] = &guardCall{hash: replayHash(s.session, s.id), user: s.user, now: t0.Add(s.at).UnixMicro()}
		}
		w, wall := newGuardWriter(), time.Now()
		all.b.exec(sc, w, batch, wall)
		got := make([]int64, len(batch))
		for i, b := range batch {
			if b.err != nil {
				t.Fatal(b.err)
			}
			got[i] = b.wait
		}
		if !slices.Equal(got, want) {
			t.Fatalf("rate %v: one batch answered %v, one check at a time %v", rate, got, want)
		}
		// The answers themselves, from GCRA with burst 2 (interval T): ann
		// takes a and c at 0, d at 10 ms waits T-10ms, g at 400 ms fits when
		// 2T <= 400ms, ...; replays are -1 wherever they are.
		T := int64(1e6 / rate)
		if want[3] != -1 || want[10] != -1 || want[11] == -1 || want[5] != 0 {
			t.Fatalf("rate %v: replay answers %v", rate, want)
		}
		if want[0] != 0 || want[2] != 0 || want[4] != T-10_000 && want[4] != T-10_000+1 {
			t.Fatalf("rate %v: ann's burst answers %v, want 0, 0 and a wait of %d µs", rate, want, T-10_000)
		}
		// bob's replay at 500 ms was asked a token before Redis said it was
		// a replay: the token went back at once, and no lease holds any.
		if w.leases["ann"].tokens != 0 || w.leases["bob"].tokens != 0 {
			t.Fatalf("rate %v: leases ann %d, bob %d tokens; want none", rate, w.leases["ann"].tokens, w.leases["bob"].tokens)
		}
		if !srv.frozen {
			continue // redis-server expires the states by its own clock, not the checks'
		}
		// The rate state left behind is the same: ann's exactly, and bob's as
		// of his last check (500 ms; GCRA states at or before now are alike).
		state := func(cl *Client, u string) int64 {
			v, err := cl.rdb.Get(t.Context(), cl.key("q", u)).Int64()
			if err != nil {
				t.Fatalf("rate %v: %s's state: %v", rate, u, err)
			}
			return v
		}
		if a, b := state(one.c, "ann"), state(all.c, "ann"); a != b {
			t.Fatalf("rate %v: ann's state %d one at a time, %d batched", rate, a, b)
		}
		pa := c.rdb.PTTL(t.Context(), one.c.key("q", "ann")).Val()
		pb := c.rdb.PTTL(t.Context(), all.c.key("q", "ann")).Val()
		if pa <= 0 || pb < pa || pb > pa+300*time.Millisecond {
			t.Fatalf("rate %v: ann's state expires in %v one at a time, %v batched", rate, pa, pb)
		}
		last := t0.Add(500 * time.Millisecond).UnixMicro()
		if a, b := max(state(one.c, "bob"), last), max(state(all.c, "bob"), last); a != b {
			t.Fatalf("rate %v: bob's state as of his last check %d one at a time, %d batched", rate, a, b)
		}
	}
}

func TestGuardLeaseMiniredis(t *testing.T)   { t.Parallel(); testGuardLease(t, miniServer(t)) }
func TestGuardLeaseRedisServer(t *testing.T) { t.Parallel(); testGuardLease(t, realServer(t)) }

// testGuardLease: a user whose requests come fast takes tokens ahead, so
// that most batches need no script call, and a slow one never does; across
// two gateways the user never gets more than GCRA allows, and gets all of
// it once the leases have been given back.
func testGuardLease(t *testing.T, srv server) {
	const rate, burst = 20000, 1600 // T = 50 µs; tokens ahead: at most burst/leaseShare = 100 per gateway
	type gw struct {
		g  *Guard
		sc *scriptConn
		w  *guardWriter
	}
	var gws []gw
	for range 2 {
		g := NewGuard(openPrefix(t, srv, "lease:"), 10*time.Minute, rate, burst)
		sc := newScriptConn(g.c.ro, g.c.opts.Timeout, leaseSrc)
		t.Cleanup(sc.close)
		gws = append(gws, gw{g, sc, newGuardWriter()})
	}
	wall := time.Now().Truncate(time.Millisecond) // the checks' clock is the sender's here
	n := 0
	// check runs one batch of k checks of user u on gateway i at wall; it
	// returns how many were accepted and whether the pipeline had a script
	// call.
	check := func(i, k int, u string) (int, bool) {
		batch := make([]*guardCall, k)
		for j := range batch {
			n++
			batch[j] = &guardCall{hash: replayHash("s", fmt.Sprint("id-", n)), user: u, now: wall.UnixMicro()}
		}
		g := gws[i]
		evals := g.w.evals
		g.g.b.exec(g.sc, g.w, batch, wall)
		ok := 0
		for _, c := range batch {
			if c.err != nil {
				t.Fatal(c.err)
			}
			if c.wait == 0 {
				ok++
			} else if c.wait < 0 {
				t.Fatalf("a fresh id answered as a replay")
			}
		}
		return ok, g.w.evals > evals
	}
	// Slow (100/s): one script call per check, nothing taken ahead.
	for range 30 {
		wall = wall.Add(10 * time.Millisecond)
		if ok, scripted := check(0, 1, "slow"); ok != 1 || !scripted {
			t.Fatalf("a slow user's check: %d accepted, script call %v; want 1, true", ok, scripted)
		}
		if l := gws[0].w.leases["slow"]; l.tokens != 0 {
			t.Fatalf("a slow user's lease holds %d tokens, want 0", l.tokens)
		}
	}
	// Fast (8 checks every 0.5 ms, 16,000/s): once a demand window has
	// been seen, about 100 tokens are taken ahead (10 ms of 16,000/s,
	// capped at burst/leaseShare): one script call in 12 batches or so.
	scripts := 0
	for b := range 400 {
		wall = wall.Add(500 * time.Microsecond)
		ok, scripted := check(0, 8, "fast")
		if ok != 8 {
			t.Fatalf("fast user, batch %d: %d of 8 accepted under the rate", b, ok)
		}
		if scripted && b >= 300 {
			scripts++
		}
	}
	if scripts < 5 || scripts > 12 {
		t.Fatalf("fast user: %d script calls in the last 100 batches, want about 8", scripts)
	}
	if held := gws[0].w.leases["fast"].tokens; held < 0 || held > burst/leaseShare {
		t.Fatalf("fast user's lease holds %d tokens, want 0..%d", held, burst/leaseShare)
	}
	// From here the checks' clock stands still, so that no token comes back
	// by time, and the rate is 20/s (interval 50 ms), so that redis-server
	// (which expires a state by its own clock, when the bucket would be
	// full again) keeps every state written for as long as the test runs.
	gws = gws[:0]
	for range 2 {
		g := NewGuard(openPrefix(t, srv, "slow-lease:"), 10*time.Minute, 20, burst)
		sc := newScriptConn(g.c.ro, g.c.opts.Timeout, leaseSrc)
		t.Cleanup(sc.close)
		gws = append(gws, gw{g, sc, newGuardWriter()})
	}
	stateOf := func(u string) int64 {
		v, err := gws[0].g.c.rdb.Get(t.Context(), gws[0].g.c.key("q", u)).Int64()
		if err != nil {
			t.Fatalf("%s's state: %v", u, err)
		}
		return v
	}
	// A captured request replayed 50 times at once takes nothing: the
	// tokens asked for the replays go back before they are answered, and
	// the lease keeps only what it took ahead for the demand it saw.
	if ok, _ := check(0, 1, "flood"); ok != 1 {
		t.Fatal("the first use of an id was refused")
	}
	before := stateOf("flood")
	flood := make([]*guardCall, 50)
	for j := range flood {
		flood[j] = &guardCall{hash: replayHash("s", fmt.Sprint("id-", n)), user: "flood", now: wall.UnixMicro()}
	}
	gws[0].g.b.exec(gws[0].sc, gws[0].w, flood, wall)
	for _, c := range flood {
		if c.err != nil || c.wait != -1 {
			t.Fatalf("a replay answered %d, %v; want -1", c.wait, c.err)
		}
	}
	held := gws[0].w.leases["flood"].tokens
	if held > burst/leaseShare || stateOf("flood") != before+int64(held)*50_000 {
		t.Fatalf("after 50 replays: state moved by %d µs, lease holds %d; want the lease's tokens only", stateOf("flood")-before, held)
	}
	// Two gateways share one bucket, both with a fast user's demand: A
	// takes tokens ahead, B drains the rest. Together they never accept
	// more than the burst, and A's lease is all that B misses until A
	// gives it back.
	for _, g := range gws {
		g.w.leases["drain"] = &lease{window: wall, prev: 1000} // 100 per leaseAhead
	}
	accepted, _ := check(0, 8, "drain")
	heldA := gws[0].w.leases["drain"].tokens
	if accepted != 8 || heldA != burst/leaseShare {
		t.Fatalf("A: %d of 8 accepted, %d tokens taken ahead; want 8 and %d", accepted, heldA, burst/leaseShare)
	}
	for {
		ok, _ := check(1, 8, "drain")
		if ok == 0 {
			break
		}
		accepted += ok
	}
	if heldB := gws[1].w.leases["drain"].tokens; accepted+heldA != burst || heldB != 0 {
		t.Fatalf("bucket of %d drained: %d accepted, A holds %d, B %d", burst, accepted, heldA, heldB)
	}
	// A's lease expires and is given back (B has none): the shared bucket
	// gets exactly what it held, and B takes it.
	gws[0].g.b.giveBack(gws[0].sc, gws[0].w, wall.Add(leaseTTL-time.Millisecond))
	if l := gws[0].w.leases["drain"]; l.tokens != heldA {
		t.Fatalf("a lease was given back before it expired")
	}
	for _, g := range gws {
		g.g.b.giveBack(g.sc, g.w, wall.Add(leaseTTL))
		if l := g.w.leases["drain"]; l.tokens != 0 {
			t.Fatalf("an expired lease kept %d tokens", l.tokens)
		}
	}
	got := 0
	for {
		ok, _ := check(1, 8, "drain")
		if ok == 0 {
			break
		}
		got += ok
	}
	if got != heldA || gws[1].w.leases["drain"].tokens != 0 {
		t.Fatalf("after A's lease was given back: B accepted %d more (holds %d), want %d", got, gws[1].w.leases["drain"].tokens, heldA)
	}
}

func TestGuardRecoversMiniredis(t *testing.T)   { t.Parallel(); testGuardRecovers(t, miniServer(t)) }
func TestGuardRecoversRedisServer(t *testing.T) { t.Parallel(); testGuardRecovers(t, realServer(t)) }

// testGuardRecovers: Redis stopped answers unavailable (nothing accepted),
// and once Redis is back the guard reconnects by itself (and loads its
// script again: a restarted redis-server has lost it), with the replay
// check intact across gateways. A restart between two checks costs no
// failed check.
func testGuardRecovers(t *testing.T, srv server) {
	a := NewGuard(open(t, srv), 10*time.Minute, 1000, 1000)
	b := NewGuard(open(t, srv), 10*time.Minute, 1000, 1000)
	now := time.Now()
	if _, err := a.CheckRate("s", "before", "u", now); err != nil {
		t.Fatal(err)
	}
	srv.stop()
	for _, g := range []*Guard{a, b} {
		if _, err := g.CheckRate("s", "while-down", "u", now); qconnect.AsError(err).Code != qconnect.CodeUnavailable {
			t.Fatalf("with Redis down = %v, want unavailable", err)
		}
	}
	srv.start()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		_, err := a.CheckRate("s", fmt.Sprint("after-", i), "u", now)
		if err == nil {
			if _, err := b.CheckRate("s", fmt.Sprint("after-", i), "u", now); !errors.Is(err, auth.ErrReplayed) {
				t.Fatalf("replay on B after the restart = %v, want ErrReplayed", err)
			}
			break
		}
		if qconnect.AsError(err).Code != qconnect.CodeUnavailable || time.Now().After(deadline) {
			t.Fatalf("after Redis is back: %v", err)
		}
	}
	// Restarted between two checks: the connection is checked before use,
	// so the first check after the restart is answered.
	srv.stop()
	srv.start()
	if _, err := a.CheckRate("s", "after-idle-restart", "u", now); err != nil {
		t.Fatalf("first check after a restart between checks = %v, want accepted", err)
	}
}

func openPrefix(t *testing.T, srv server, prefix string) *Client {
	t.Helper()
	c, err := Open(context.Background(), srv.url, Options{Prefix: prefix, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
