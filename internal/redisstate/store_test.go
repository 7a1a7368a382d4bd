package redisstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	qconnect "github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/protocol"
)

// server is a Redis the suite runs against: miniredis in this process or a
// real redis-server, with a way to take it away and bring it back.
type server struct {
	url         string
	stop, start func()
	// frozen: keys expire only when a test moves the server's clock
	// (miniredis), so a test may compare rate states written at made-up
	// times; a real redis-server expires them by its own clock.
	frozen bool
}

func miniServer(t *testing.T) server {
	m := miniredis.RunT(t)
	addr := m.Addr()
	return server{url: "redis://" + addr + "/0", stop: m.Close, start: func() {
		if err := m.StartAddr(addr); err != nil {
			t.Fatal(err)
		}
	}, frozen: true}
}

func realServer(t *testing.T) server {
	r := testenv.StartRedis(t)
	return server{url: r.URL(), stop: r.Stop, start: r.Start}
}

// TestStoreMiniredis and TestStoreRedisServer run the same store tests
// against miniredis and against Debian's redis-server.
func TestStoreMiniredis(t *testing.T) { t.Parallel(); storeSuite(t, miniServer) }
func TestStoreRedisServer(t *testing.T) {
	t.Parallel()
	storeSuite(t, realServer)
}

func storeSuite(t *testing.T, newServer func(*testing.T) server) {
	tests := []struct {
		name string
		f    func(t *testing.T, srv server)
	}{
		{"SessionsAcrossGateways", testSessionsAcrossGateways},
		{"SessionCapAcrossGateways", testSessionCap},
		{"IdleAndAbsoluteExpiry", testExpiry},
		{"SweepAnnouncesExpiry", testSweep},
		{"ReplayAcrossGateways", testReplay},
		{"ThrottleReserveAcrossGateways", testThrottle},
		{"RateLimitAcrossGateways", testRate},
		{"RedisDownIsUnavailableThenRecovers", testDown},
		{"BySuffix", testBySuffix},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newServer(t)) })
	}
}

// clock is a settable clock near the real time (real Redis expires keys by
// its own clock, so the times written must not be in the past).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Millisecond)} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func open(t *testing.T, srv server) *Client {
	t.Helper()
	c, err := Open(context.Background(), srv.url, Options{Prefix: "test:", Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// gateway is one gateway's view: its own client, store and auth.Sessions,
// sharing the clock.
type gateway struct {
	c     *Client
	store *Sessions
	s     *auth.Sessions
	ended chan string // OnEnd callbacks
}

func newGateway(t *testing.T, srv server, clk *clock, cfg auth.SessionConfig) *gateway {
	c := open(t, srv)
	st := NewSessions(c, SessionConfig{IdleTimeout: cfg.IdleTimeout, MaxLifetime: cfg.MaxLifetime, MaxPerUser: cfg.MaxPerUser})
	cfg.Now = clk.Now
	g := &gateway{c: c, store: st, s: auth.NewSessions(st, cfg), ended: make(chan string, 1000)}
	g.s.OnEnd(func(id string) { g.ended <- id })
	return g
}

// watch runs the gateway's Watch, ending announced sessions locally as the
// server's wiring does.
// watchedPair starts two gateways on srv with the same clock and settings;
// the one named by watcher (a or b) watches session ends, and the pair is
// returned once that watch is subscribed.
func watchedPair(t *testing.T, srv server, clk *clock, cfg auth.SessionConfig, watcher string) (a, b *gateway) {
	t.Helper()
	a, b = newGateway(t, srv, clk, cfg), newGateway(t, srv, clk, cfg)
	if watcher == "a" {
		a.watch(t)
	} else {
		b.watch(t)
	}
	if err := a.store.Subscribed(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func (g *gateway) watch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		g.store.Watch(ctx, func(id string) { g.s.End(ctx, id) })
	}()
}

func waitEnded(t *testing.T, g *gateway, id string) {
	t.Helper()
	timeout := time.After(time.Second)
	for {
		select {
		case got := <-g.ended:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("the end of session …%s was not seen within 1 s", id[len(id)-4:])
		}
	}
}

func testSessionsAcrossGateways(t *testing.T, srv server) {
	ctx := context.Background()
	clk := newClock()
	cfg := auth.SessionConfig{IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, MaxPerUser: 16}
	a, b := watchedPair(t, srv, clk, cfg, "b")
	sess, err := a.s.Open(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.s.Get(ctx, sess.ID)
	if err != nil || got.ID != sess.ID || got.User != "alice" || !got.Created.Equal(sess.Created) || !got.LastSeen.Equal(sess.LastSeen) {
		t.Fatalf("B.Get = %+v, %v; want the session A opened (%+v)", got, err, sess)
	}
	cands, err := b.s.Candidates(ctx, "alice", sess.ID[len(sess.ID)-6:])
	if err != nil || len(cands) != 1 || cands[0].ID != sess.ID {
		t.Fatalf("B.Candidates = %v, %v", cands, err)
	}
	clk.Advance(time.Minute)
	if err := b.s.Touch(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = a.s.Get(ctx, sess.ID)
	if !got.LastSeen.Equal(clk.Now()) {
		t.Fatalf("after B.Touch, A sees LastSeen %v, want %v", got.LastSeen, clk.Now())
	}
	// An older touch does not move LastSeen back.
	if err := b.store.Touch(ctx, sess.ID, clk.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ = a.s.Get(ctx, sess.ID); !got.LastSeen.Equal(clk.Now()) {
		t.Fatalf("an older Touch moved LastSeen to %v", got.LastSeen)
	}
	// Logout on A ends it on B, and B hears of it (to close its sockets).
	if err := a.s.End(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, b, sess.ID)
	if _, err := b.s.Get(ctx, sess.ID); !errors.Is(err, auth.ErrNoSession) || qconnect.AsError(err).Code != qconnect.CodeInvalidSession {
		t.Fatalf("B.Get after logout on A = %v, want invalidSession", err)
	}
	if err := b.store.Touch(ctx, sess.ID, clk.Now()); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("Touch of an ended session = %v, want ErrNoSession", err)
	}
	if err := b.s.End(ctx, sess.ID); err != nil {
		t.Fatalf("ending an ended session again: %v", err)
	}
}

func testSessionCap(t *testing.T, srv server) {
	ctx := context.Background()
	clk := newClock()
	cfg := auth.SessionConfig{MaxPerUser: 4}
	a, b := watchedPair(t, srv, clk, cfg, "a")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var opened []auth.Session
	for i := range 20 {
		g := a
		if i%2 == 1 {
			g = b
		}
		wg.Go(func() {
			s, err := g.s.Open(ctx, "bob")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			opened = append(opened, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	live, err := a.store.ByUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 4 {
		t.Fatalf("after 20 concurrent logins on two gateways with a cap of 4, bob holds %d sessions", len(live))
	}
	// Every session that is gone was announced: A's watcher hears 16 ends.
	gone := 0
	for _, s := range opened {
		if !slices.ContainsFunc(live, func(l auth.Session) bool { return l.ID == s.ID }) {
			gone++
		}
	}
	if gone != 16 {
		t.Fatalf("%d sessions gone, want 16", gone)
	}
	seen := map[string]bool{}
	timeout := time.After(2 * time.Second)
	for len(seen) < 16 {
		select {
		case id := <-a.ended:
			seen[id] = true
		case <-timeout:
			t.Fatalf("A heard of %d ended sessions, want 16", len(seen))
		}
	}
	for _, l := range live {
		if seen[l.ID] {
			t.Fatalf("a live session was announced as ended")
		}
	}
}

func testExpiry(t *testing.T, srv server) {
	ctx := context.Background()
	clk := newClock()
	g := newGateway(t, srv, clk, auth.SessionConfig{IdleTimeout: 30 * time.Minute, MaxLifetime: 2 * time.Hour})
	idle, _ := g.s.Open(ctx, "carol")
	busy, _ := g.s.Open(ctx, "carol")
	clk.Advance(29 * time.Minute)
	if _, err := g.s.Get(ctx, idle.ID); err != nil {
		t.Fatalf("a session idle for 29 min: %v", err)
	}
	if err := g.s.Touch(ctx, busy.ID); err != nil {
		t.Fatalf("touching a live session: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := g.s.Get(ctx, idle.ID); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("a session idle for 30 min is %v, want ended", err)
	}
	if err := g.s.Touch(ctx, busy.ID); err != nil {
		t.Fatalf("touching a live session: %v", err)
	}
	for range 3 { // keep busy alive until its absolute lifetime (2 h)
		clk.Advance(29 * time.Minute)
		if err := g.s.Touch(ctx, busy.ID); err != nil {
			t.Fatalf("touching a live session: %v", err)
		}
	}
	clk.Advance(3 * time.Minute) // 120 min after login
	if _, err := g.s.Get(ctx, busy.ID); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("a busy session at its 2 h lifetime is %v, want ended", err)
	}
	if live, _ := g.store.ByUser(ctx, "carol"); len(live) != 0 {
		t.Fatalf("expired sessions still listed: %d", len(live))
	}
}

func testSweep(t *testing.T, srv server) {
	ctx := context.Background()
	clk := newClock()
	cfg := auth.SessionConfig{IdleTimeout: time.Minute}
	a, b := watchedPair(t, srv, clk, cfg, "b")
	idle, _ := a.s.Open(ctx, "dave")
	kept, _ := a.s.Open(ctx, "dave")
	clk.Advance(50 * time.Second)
	a.s.Touch(ctx, kept.ID)
	clk.Advance(20 * time.Second)
	n, err := a.store.Sweep(ctx, clk.Now(), 0)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 expired session", n, err)
	}
	waitEnded(t, b, idle.ID)
	if _, err := b.s.Get(ctx, kept.ID); err != nil {
		t.Fatalf("the touched session was swept: %v", err)
	}
	if n, _ := a.store.Sweep(ctx, clk.Now(), 0); n != 0 {
		t.Fatalf("a second Sweep ended %d more", n)
	}
}

func testReplay(t *testing.T, srv server) {
	a := NewReplayCache(open(t, srv), 10*time.Minute)
	b := NewReplayCache(open(t, srv), 10*time.Minute)
	now := time.Now()
	if err := a.Check("sess1", "id-1", now); err != nil {
		t.Fatal(err)
	}
	if err := b.Check("sess1", "id-1", now); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("replay on another gateway = %v, want ErrReplayed", err)
	}
	if err := a.Check("sess1", "id-1", now); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("replay on the same gateway = %v, want ErrReplayed", err)
	}
	if err := b.Check("sess2", "id-1", now); err != nil {
		t.Fatalf("the same id on another session: %v", err)
	}
	// Concurrent: one id sent to both gateways at once is accepted once.
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Go(func() {
			if r.Check("sess3", "race", now) == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("a request id raced on two gateways was accepted %d times", ok.Load())
	}
}

func testThrottle(t *testing.T, srv server) {
	a := NewThrottle(open(t, srv), 5, 5*time.Minute)
	b := NewThrottle(open(t, srv), 5, 5*time.Minute)
	now := time.Now().Truncate(time.Millisecond)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range 12 {
		th := a
		if i%2 == 1 {
			th = b
		}
		wg.Go(func() {
			_, allowed, err := th.Reserve("user:eve", now)
			if err != nil {
				t.Error(err)
			}
			if allowed {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Fatalf("12 concurrent attempts on two gateways: %d allowed, want 5", ok.Load())
	}
	wait, allowed, err := b.Reserve("user:eve", now.Add(time.Minute))
	if allowed || err != nil || wait != 4*time.Minute {
		t.Fatalf("Reserve one minute later = %v, %v, %v; want refused for 4m0s", wait, allowed, err)
	}
	if _, allowed, _ := a.Reserve("user:other", now); !allowed {
		t.Fatal("another key is throttled")
	}
	if _, allowed, _ := a.Reserve("user:eve", now.Add(5*time.Minute)); !allowed {
		t.Fatal("still refused once the window has passed")
	}
	if err := b.Reset("user:eve"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, allowed, _ := a.Reserve("user:eve", now.Add(5*time.Minute)); !allowed {
			t.Fatalf("attempt %d after Reset refused", i+1)
		}
	}
	// Forgive withdraws exactly the one attempt counted at that time, on
	// any gateway: the key then has one free place, not more.
	at := now.Add(5*time.Minute + time.Second)
	if err := b.Reset("addr:x"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, allowed, _ := a.Reserve("addr:x", at.Add(time.Duration(i)*time.Millisecond)); !allowed {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if err := b.Forgive("addr:x", at.Add(2*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, allowed, _ := a.Reserve("addr:x", at.Add(10*time.Millisecond)); !allowed {
		t.Fatal("the forgiven attempt still counts")
	}
	if _, allowed, _ := a.Reserve("addr:x", at.Add(11*time.Millisecond)); allowed {
		t.Fatal("Forgive withdrew more than one attempt")
	}
}

func testRate(t *testing.T, srv server) {
	a := NewRateLimiter(open(t, srv), 10, 4)
	b := NewRateLimiter(open(t, srv), 10, 4)
	now := time.Now().Truncate(time.Millisecond)
	for i := range 4 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if err := l.AllowRate("frank", now); err != nil {
			t.Fatalf("request %d of a burst of 4: %v", i+1, err)
		}
	}
	err := b.AllowRate("frank", now)
	e := qconnect.AsError(err)
	if err == nil || e.Code != qconnect.CodeRateLimited || e.RetryAfter != 100*time.Millisecond {
		t.Fatalf("the 5th request = %v (retry %v); want rateLimited, retry 100ms", err, e.RetryAfter)
	}
	if err := a.AllowRate("frank", now.Add(100*time.Millisecond)); err != nil {
		t.Fatalf("after 1/rate: %v", err)
	}
	if err := a.AllowRate("frank", now.Add(100*time.Millisecond)); err == nil {
		t.Fatal("two requests allowed for one refilled token")
	}
	if err := a.AllowRate("grace", now); err != nil {
		t.Fatalf("another user: %v", err)
	}
}

func testDown(t *testing.T, srv server) {
	ctx := context.Background()
	clk := newClock()
	g := newGateway(t, srv, clk, auth.SessionConfig{})
	replay := NewReplayCache(g.c, time.Minute)
	th := NewThrottle(g.c, 5, time.Minute)
	rl := NewRateLimiter(g.c, 100, 100)
	sess, err := g.s.Open(ctx, "heidi")
	if err != nil {
		t.Fatal(err)
	}
	srv.stop()
	unavailable := func(what string, err error) {
		t.Helper()
		e := qconnect.AsError(err)
		if err == nil || e.Code != qconnect.CodeUnavailable || e.RetryAfter <= 0 {
			t.Fatalf("%s with Redis down = %v; want unavailable with Retry-After", what, err)
		}
	}
	_, err = g.s.Get(ctx, sess.ID)
	unavailable("Get", err)
	unavailable("Touch", g.s.Touch(ctx, sess.ID))
	_, err = g.s.Open(ctx, "heidi")
	unavailable("Open", err)
	unavailable("replay Check", replay.Check(sess.ID, "x", clk.Now()))
	_, allowed, err := th.Reserve("user:heidi", clk.Now())
	unavailable("throttle Reserve", err)
	if allowed {
		t.Fatal("a login attempt was allowed without the throttle")
	}
	unavailable("AllowRate", rl.AllowRate("heidi", clk.Now()))
	if g.c.Errors() < 6 {
		t.Fatalf("Errors() = %d, want at least 6", g.c.Errors())
	}
	srv.start()
	// The pool reconnects by itself (a restarted Redis has lost everything
	// unless it persists; this one does not).
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := replay.Check(sess.ID, fmt.Sprint("after-", time.Now().UnixNano()), clk.Now()); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no recovery within 5 s after Redis came back: %v", err)
		}
	}
	if _, err := g.s.Open(ctx, "heidi"); err != nil {
		t.Fatalf("Open after recovery: %v", err)
	}
}

// testBySuffix: the signed-request path's lookup by the id's last
// protocol.SuffixLen characters answers what a scan of ByUser answers, from
// the cache's index once the user is cached and from Redis before, and a
// suffix of any other length is scanned.
func testBySuffix(t *testing.T, srv server) {
	ctx := context.Background()
	g := newGateway(t, srv, newClock(), auth.SessionConfig{IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, MaxPerUser: 64})
	var ids []string
	for range 20 {
		s, err := g.s.Open(ctx, "sue")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	if _, err := g.s.Open(ctx, "tom"); err != nil {
		t.Fatal(err)
	}
	scan := func(suffix string) []string {
		all, err := g.store.ByUserFresh(ctx, "sue")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range all {
			if strings.HasSuffix(s.ID, suffix) {
				out = append(out, s.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	got := func(suffix string) []string {
		ss, err := g.store.BySuffix(ctx, "sue", suffix)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range ss {
			if s.User != "sue" {
				t.Fatalf("BySuffix(sue) returned a session of %s", s.User)
			}
			out = append(out, s.ID)
		}
		slices.Sort(out)
		return out
	}
	for i, id := range ids {
		for _, suffix := range []string{id[len(id)-protocol.SuffixLen:], id[len(id)-2:], id, "zzzzz"} {
			if w, g := scan(suffix), got(suffix); !slices.Equal(w, g) || (i == 0 && suffix == id && len(g) != 1) {
				t.Fatalf("BySuffix(%q) = %v, want %v", suffix, g, w)
			}
		}
	}
	g.store.mu.Lock()
	_, cached := g.store.users["sue"]
	g.store.mu.Unlock()
	if !cached {
		t.Fatal("sue's sessions are not cached after BySuffix")
	}
}
