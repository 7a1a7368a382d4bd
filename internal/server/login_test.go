package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/protocol"
)

// loginServer is a Server with one user, alice, whose password is
// "password1" (bcrypt cost 4), and the Directory that counts the password
// hashes it checks.
func loginServer(t *testing.T, cfg Config) (*Server, *auth.Directory) {
	t.Helper()
	hash, err := auth.HashPassword("password1", 4)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := auth.ParseUsers([]byte("users:\n  alice:\n    password: \""+hash+"\"\n    groups: [g]\ngroups:\n  g:\n    allow: [\"*\"]\n"), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, Deps{Users: auth.NewStaticUserDB(dir), Sessions: auth.NewSessions(auth.NewMemoryStore(), auth.SessionConfig{})})
	return s, dir
}

// login posts a LoginReq from addr straight to the handler and returns the
// HTTP status and the error code ("" on success).
func login(s *Server, addr, user, password string) (int, string) {
	body, _ := json.Marshal(map[string]any{"type": "LoginReq", "id": "1", "date": protocol.FormatDate(time.Now()),
		"msg": []any{map[string]string{"username": user, "password": password}}})
	r := httptest.NewRequest("POST", "/connect/api/auth/login", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var out struct {
		Error *struct{ Code string } `json:"error"`
	}
	json.Unmarshal(w.Body.Bytes(), &out)
	if out.Error == nil {
		return w.Code, ""
	}
	return w.Code, out.Error.Code
}

// TestLoginFloodChecksAtMostTheAllowedPasswords: 300 wrong logins at once
// for one user from one address verify at most LoginMaxFailures passwords
// (counted by the Directory that hashes them); every other one is refused
// before its password is checked.
func TestLoginFloodChecksAtMostTheAllowedPasswords(t *testing.T) {
	t.Parallel()
	s, dir := loginServer(t, Config{LoginMaxFailures: 5, LoginQueueWait: time.Minute})
	const n = 300
	codes := make(chan string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, code := login(s, "192.0.2.7", "alice", "wrong-password")
			codes <- code
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	count := map[string]int{}
	for c := range codes {
		count[c]++
	}
	if v := dir.Verifications(); v > 5 {
		t.Errorf("%d passwords were checked for 300 parallel logins; want at most 5", v)
	}
	if count["invalidCredentials"] != int(dir.Verifications()) || count["tooManyAttempts"] != n-count["invalidCredentials"] {
		t.Errorf("answers %v for %d verifications; want one invalidCredentials per check, tooManyAttempts for the rest", count, dir.Verifications())
	}
	// The right password is refused too now, without a check.
	before := dir.Verifications()
	if status, code := login(s, "192.0.2.8", "alice", "password1"); status != 429 || code != "tooManyAttempts" {
		t.Errorf("the throttled user's next login: %d %s; want 429 tooManyAttempts", status, code)
	}
	if dir.Verifications() != before {
		t.Error("a throttled login checked the password")
	}
}

// TestLoginSuccessForgivesItsAttempt: successful logins count against
// neither the username nor the address.
func TestLoginSuccessForgivesItsAttempt(t *testing.T) {
	t.Parallel()
	s, _ := loginServer(t, Config{LoginMaxFailures: 2})
	for i := range 5 {
		if status, code := login(s, "192.0.2.9", "alice", "password1"); status != 200 {
			t.Fatalf("login %d: %d %s", i, status, code)
		}
	}
	login(s, "192.0.2.9", "alice", "wrong-password")
	if status, _ := login(s, "192.0.2.9", "alice", "password1"); status != 200 {
		t.Fatalf("one failure blocked the user: %d", status)
	}
	login(s, "192.0.2.9", "bob", "wrong-password")
	login(s, "192.0.2.9", "carol", "wrong-password")
	if status, code := login(s, "192.0.2.9", "alice", "password1"); status != 429 || code != "tooManyAttempts" {
		t.Errorf("after 2 failures from the address: %d %s; want 429 tooManyAttempts", status, code)
	}
}

// TestLoginHashConcurrencyBound: with every hashing slot taken, a login
// waits LoginQueueWait and is refused with busy (503, Retry-After) without
// a password check, and without counting against the throttle.
func TestLoginHashConcurrencyBound(t *testing.T) {
	t.Parallel()
	s, dir := loginServer(t, Config{LoginConcurrency: 1, LoginQueueWait: time.Millisecond, LoginMaxFailures: 1})
	if !s.hashes.acquire(context.Background()) {
		t.Fatal("no free slot")
	}
	for range 3 {
		if status, code := login(s, "192.0.2.10", "alice", "password1"); status != http.StatusServiceUnavailable || code != "busy" {
			t.Fatalf("login with no hashing slot: %d %s; want 503 busy", status, code)
		}
	}
	if v := dir.Verifications(); v != 0 {
		t.Errorf("%d passwords checked while no slot was free", v)
	}
	s.hashes.release()
	if status, code := login(s, "192.0.2.10", "alice", "password1"); status != 200 {
		t.Errorf("login once the slot is free: %d %s (a busy refusal must not count as a failure)", status, code)
	}
}

func TestHashGate(t *testing.T) {
	t.Parallel()
	g := newHashGate(2, time.Hour)
	ctx := context.Background()
	if !g.acquire(ctx) || !g.acquire(ctx) {
		t.Fatal("two slots not free")
	}
	got := make(chan bool)
	go func() { got <- g.acquire(ctx) }() // waits for a slot
	g.release()
	if !<-got {
		t.Fatal("a waiter did not get the released slot")
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { got <- g.acquire(cctx) }()
	cancel()
	if <-got {
		t.Fatal("a cancelled waiter got a slot")
	}
	full := newHashGate(1, time.Hour)
	full.acquire(ctx)
	full.waiting.Store(full.maxWaiting) // the queue is full
	if full.acquire(ctx) {
		t.Fatal("a login beyond the queue bound got a slot")
	}
}
