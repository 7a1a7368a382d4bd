package auth

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	qconnect "github.com/qconnect/qconnect"
)

// fakeClock is a settable clock for Sessions.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2019, 7, 26, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// endLog records OnEnd callbacks.
type endLog struct {
	mu  sync.Mutex
	ids []string
}

func (l *endLog) add(id string) {
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.mu.Unlock()
}

func (l *endLog) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.ids, id)
}

func newSessions(cfg SessionConfig) (*Sessions, *MemoryStore, *fakeClock, *endLog) {
	clk := newClock()
	cfg.Now = clk.Now
	st := NewMemoryStore()
	s := NewSessions(st, cfg)
	log := &endLog{}
	s.OnEnd(log.add)
	return s, st, clk, log
}

var sessionIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestOpenIssuesRandomIDs(t *testing.T) {
	s, _, _, _ := newSessions(SessionConfig{MaxPerUser: 1000})
	ctx := context.Background()
	seen := map[string]bool{}
	for range 200 {
		sess, err := s.Open(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !sessionIDRE.MatchString(sess.ID) {
			t.Fatalf("session id %q is not 43 base64url characters", sess.ID)
		}
		if seen[sess.ID] {
			t.Fatal("session id repeated")
		}
		seen[sess.ID] = true
		if sess.User != "alice" || !sess.Created.Equal(sess.LastSeen) {
			t.Fatalf("session %+v", sess)
		}
	}
	if _, err := s.Open(ctx, ""); err == nil {
		t.Error("Open accepted an empty username")
	}
}

func TestSessionCapEvictsOldest(t *testing.T) {
	s, st, clk, log := newSessions(SessionConfig{MaxPerUser: 3})
	ctx := context.Background()
	var ids []string
	for range 3 {
		sess, err := s.Open(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sess.ID)
		clk.Advance(time.Second)
	}
	// Touching the oldest does not save it: the cap ends the oldest login.
	if err := s.Touch(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	other, _ := s.Open(ctx, "bob")
	fourth, err := s.Open(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !log.has(ids[0]) {
		t.Error("OnEnd was not called for the evicted session")
	}
	if _, ok, _ := st.Get(ctx, ids[0]); ok {
		t.Error("the oldest session is still in the store")
	}
	for _, id := range append(ids[1:], fourth.ID, other.ID) {
		if _, ok, _ := st.Get(ctx, id); !ok || log.has(id) {
			t.Errorf("session %s… ended, want it live", id[:4])
		}
	}
	got, _ := st.ByUser(ctx, "alice")
	if len(got) != 3 {
		t.Errorf("alice holds %d sessions, want 3", len(got))
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	s, st, clk, log := newSessions(SessionConfig{IdleTimeout: 10 * time.Minute, MaxLifetime: time.Hour})
	ctx := context.Background()
	sess, _ := s.Open(ctx, "alice")
	if want := sess.Created.Add(10 * time.Minute); !s.Expiry(sess).Equal(want) {
		t.Errorf("Expiry %v, want %v", s.Expiry(sess), want)
	}
	// Activity every 9 minutes keeps it alive, until the absolute lifetime.
	for range 6 {
		clk.Advance(9 * time.Minute)
		if err := s.Touch(ctx, sess.ID); err != nil {
			t.Fatalf("touch at %v: %v", clk.Now().Sub(sess.Created), err)
		}
	}
	cur, _ := s.Get(ctx, sess.ID)
	if want := sess.Created.Add(time.Hour); !s.Expiry(cur).Equal(want) {
		t.Errorf("Expiry near the end %v, want the absolute limit %v", s.Expiry(cur), want)
	}
	clk.Advance(6 * time.Minute) // 60 min after login, 6 min idle
	if err := s.Touch(ctx, sess.ID); !errors.Is(err, ErrNoSession) {
		t.Errorf("touch past MaxLifetime: %v, want ErrNoSession", err)
	}
	if !log.has(sess.ID) {
		t.Error("OnEnd not called on absolute expiry")
	}
	if _, ok, _ := st.Get(ctx, sess.ID); ok {
		t.Error("expired session left in the store")
	}

	idle, _ := s.Open(ctx, "bob")
	clk.Advance(10*time.Minute - time.Nanosecond)
	if c, _ := s.Candidates(ctx, "bob", idle.ID[len(idle.ID)-5:]); len(c) != 1 {
		t.Fatalf("session gone %v before its idle timeout", time.Nanosecond)
	}
	clk.Advance(time.Nanosecond)
	if c, _ := s.Candidates(ctx, "bob", idle.ID[len(idle.ID)-5:]); len(c) != 0 {
		t.Error("idle session still a candidate at its idle timeout")
	}
	if !log.has(idle.ID) {
		t.Error("OnEnd not called on idle expiry")
	}
}

func TestCandidatesSuffixCollision(t *testing.T) {
	s, st, clk, _ := newSessions(SessionConfig{IdleTimeout: time.Minute})
	ctx := context.Background()
	// Sessions whose ids share a suffix; the ids are set by hand because 5
	// random characters collide too rarely to test.
	now := clk.Now()
	put := func(id, user string, created time.Time) {
		if err := st.Put(ctx, Session{ID: id, User: user, Created: created, LastSeen: created}); err != nil {
			t.Fatal(err)
		}
	}
	put("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaXYZ12", "alice", now)
	put("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbXYZ12", "alice", now.Add(time.Second))
	put("cccccccccccccccccccccccccccccccccccccccXYZ12", "bob", now) // other user, same suffix
	put("dddddddddddddddddddddddddddddddddddddddQQQQQ", "alice", now)
	put("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeXYZ12", "alice", now.Add(-2*time.Minute)) // expired
	got, err := s.Candidates(ctx, "alice", "XYZ12")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID[:1])
	}
	if strings.Join(ids, "") != "ab" {
		t.Errorf("candidates %v, want alice's two live sessions ending in XYZ12 (a, b)", ids)
	}
	if _, ok, _ := st.Get(ctx, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeXYZ12"); ok {
		t.Error("the expired candidate was not deleted")
	}
	if got, _ := s.Candidates(ctx, "alice", ""); len(got) != 0 {
		t.Error("an empty suffix matched")
	}
	if got, _ := s.Candidates(ctx, "carol", "XYZ12"); len(got) != 0 {
		t.Error("an unknown user has candidates")
	}
}

func TestEndAndSweep(t *testing.T) {
	s, st, clk, log := newSessions(SessionConfig{IdleTimeout: time.Minute})
	ctx := context.Background()
	a, _ := s.Open(ctx, "alice")
	if err := s.End(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if !log.has(a.ID) {
		t.Error("OnEnd not called on logout")
	}
	if _, err := s.Get(ctx, a.ID); !errors.Is(err, ErrNoSession) {
		t.Errorf("Get after End: %v", err)
	}
	err := s.Touch(ctx, a.ID)
	if !errors.Is(err, ErrNoSession) || qconnect.ErrorCode(err) != qconnect.CodeInvalidSession {
		t.Errorf("Touch after End: %v, want invalidSession wrapping ErrNoSession", err)
	}

	old, _ := s.Open(ctx, "alice")
	clk.Advance(45 * time.Second)
	young, _ := s.Open(ctx, "bob")
	clk.Advance(30 * time.Second)
	s.Sweep(ctx)
	if !log.has(old.ID) || log.has(young.ID) {
		t.Errorf("Sweep ended %v; want only the idle session", log.ids)
	}
	if st.Len() != 1 {
		t.Errorf("store holds %d sessions after sweep, want 1", st.Len())
	}
	if s.IdleTimeout() != time.Minute {
		t.Errorf("IdleTimeout %v", s.IdleTimeout())
	}
}

func TestSessionDefaults(t *testing.T) {
	s := NewSessions(NewMemoryStore(), SessionConfig{})
	if s.IdleTimeout() != 30*time.Minute || s.MaxLifetime() != 12*time.Hour || s.cfg.MaxPerUser != 16 || s.cfg.Now == nil {
		t.Errorf("defaults %+v", s.cfg)
	}
}

func TestSessionsConcurrent(t *testing.T) {
	s, st, _, _ := newSessions(SessionConfig{MaxPerUser: 4})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := []string{"alice", "bob"}[g%2]
			for range 50 {
				sess, err := s.Open(ctx, user)
				if err != nil {
					t.Error(err)
					return
				}
				s.Touch(ctx, sess.ID)
				s.Candidates(ctx, user, sess.ID[38:])
				s.Sweep(ctx)
			}
		}()
	}
	wg.Wait()
	for _, u := range []string{"alice", "bob"} {
		if got, _ := st.ByUser(ctx, u); len(got) != 4 {
			t.Errorf("%s holds %d sessions, want the cap of 4", u, len(got))
		}
	}
}

// Candidates finds a user's sessions by the suffix of their id, through the
// memory store's suffix index, and forgets them when they end.
func TestCandidatesBySuffix(t *testing.T) {
	ctx := t.Context()
	store := NewMemoryStore()
	s := NewSessions(store, SessionConfig{MaxPerUser: 100})
	var opened []Session
	for range 40 {
		sess, err := s.Open(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		opened = append(opened, sess)
	}
	other, _ := s.Open(ctx, "bob")
	for _, sess := range opened {
		got, err := s.Candidates(ctx, "ann", sess.ID[len(sess.ID)-5:])
		if err != nil || !slices.ContainsFunc(got, func(g Session) bool { return g.ID == sess.ID }) {
			t.Fatalf("Candidates(%q) = %v, %v; want it to hold the session", sess.ID[len(sess.ID)-5:], got, err)
		}
		for _, g := range got {
			if g.User != "ann" || !strings.HasSuffix(g.ID, sess.ID[len(sess.ID)-5:]) {
				t.Fatalf("Candidates returned %+v", g)
			}
		}
		// A longer suffix (not what the protocol sends) still matches.
		if got, _ := s.Candidates(ctx, "ann", sess.ID[len(sess.ID)-7:]); len(got) != 1 || got[0].ID != sess.ID {
			t.Fatalf("7-character suffix: %v", got)
		}
	}
	if got, _ := s.Candidates(ctx, "ann", other.ID[len(other.ID)-5:]); slices.ContainsFunc(got, func(g Session) bool { return g.ID == other.ID }) {
		t.Fatal("another user's session was returned")
	}
	if err := s.End(ctx, opened[3].ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Candidates(ctx, "ann", opened[3].ID[len(opened[3].ID)-5:]); slices.ContainsFunc(got, func(g Session) bool { return g.ID == opened[3].ID }) {
		t.Fatal("an ended session is still a candidate")
	}
	if n := len(store.bySuffix); n > 40 {
		t.Fatalf("suffix index holds %d keys for 40 live sessions", n)
	}
}
