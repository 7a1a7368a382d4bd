package server

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/testenv/signed"
)

// manualClock is an injected clock the test moves by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestSessionIdleAndLifetimeClock: a session stays alive while signed
// requests come within the idle timeout, ends after the idle timeout
// without one, and ends at its absolute lifetime however busy — checked
// with an injected clock instead of sleeping (the e2e suite checks that
// the flags reach these settings).
func TestSessionIdleAndLifetimeClock(t *testing.T) {
	t.Parallel()
	clock := &manualClock{t: time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)}
	hash, _ := auth.HashPassword("password1", 4)
	dir, err := auth.ParseUsers([]byte("users:\n  alice:\n    password: \""+hash+"\"\n    groups: [g]\ngroups:\n  g:\n    allow: [\"*\"]\n"), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := qconnect.NewCatalog(nil)
	sessions := auth.NewSessions(auth.NewMemoryStore(), auth.SessionConfig{IdleTimeout: 2 * time.Second, MaxLifetime: 5 * time.Second, Now: clock.Now})
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock.Now},
		Deps{Catalog: cat, Users: auth.NewStaticUserDB(dir), Sessions: sessions})
	n := 0
	ping := func(id string) int {
		n++
		req := signed.Ping("alice", id, "p"+strconv.Itoa(n), clock.Now())
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Code
	}
	open := func() string {
		sess, err := sessions.Open(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return sess.ID
	}

	idle := open()
	for i := range 3 { // 3 × 1.2 s > the 2 s idle timeout, kept alive by pings
		clock.Advance(1200 * time.Millisecond)
		if code := ping(idle); code != 200 {
			t.Fatalf("ping %d within the idle timeout: %d", i, code)
		}
	}
	clock.Advance(2100 * time.Millisecond)
	if code := ping(idle); code != 401 {
		t.Fatalf("ping after 2.1 s idle: %d, want 401", code)
	}

	busy := open()
	for i := range 5 { // busy every 0.9 s: alive until the 5 s lifetime
		if code := ping(busy); code != 200 {
			t.Fatalf("ping %d within the lifetime: %d", i, code)
		}
		clock.Advance(900 * time.Millisecond)
	}
	clock.Advance(600 * time.Millisecond) // 5.1 s after login
	if code := ping(busy); code != 401 {
		t.Fatalf("ping after the 5 s lifetime: %d, want 401", code)
	}
}
