package redisstate

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	qconnect "github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
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
	deadline := time.Now().Add(userCacheFor / 2) // well before the TTL backstop
	for cached() {
		if time.Now().After(deadline) {
			t.Fatal("B still caches erin's sessions after a login on A")
		}
		time.Sleep(time.Millisecond) // polls a condition
	}
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
