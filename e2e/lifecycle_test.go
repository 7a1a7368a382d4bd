package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/protocol"
)

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t, "--idle-timeout", "2s", "--session-lifetime", "5s", "--max-sessions-per-user", "2")

	t.Run("login, ping, logout", func(t *testing.T) {
		s := login(t, g, "alice", "alice-password")
		if len(s.sid) < 32 || strings.Trim(s.sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
			t.Errorf("session id %q is not 32+ characters of [A-Za-z0-9_-]", s.sid)
		}
		r := s.call("/connect/api/auth/ping", []any{})
		expect(t, "ping", r, 200, "")
		var m struct {
			IdleTimeout int    `json:"idleTimeout"`
			Expires     string `json:"expires"`
		}
		_ = json.Unmarshal(r.Env.Msg[0], &m)
		// expires is the absolute expiry: login + the 5 s lifetime.
		exp, err := protocol.ParseDate(m.Expires)
		if left := time.Until(exp); m.IdleTimeout != 2 || err != nil || left < 3*time.Second || left > 6*time.Second {
			t.Errorf("ping = %+v (%v), expires in %s", m, err, time.Until(exp))
		}
		if r.Env.Type != "PingResp" {
			t.Errorf("type = %s", r.Env.Type)
		}
		expect(t, "logout", s.call("/connect/api/auth/logout", []any{}), 200, "")
		expect(t, "after logout", s.call("/connect/api/auth/ping", []any{}), 401, "invalidSession")
	})

	// Idle expiry and the absolute lifetime themselves are checked with an
	// injected clock, without sleeping, by server's
	// TestSessionIdleAndLifetimeClock; "login, ping, logout" above checks
	// that --idle-timeout and --session-lifetime reach them.

	t.Run("per-user cap ends the oldest", func(t *testing.T) {
		s1 := login(t, g, "alice", "alice-password")
		s2 := login(t, g, "alice", "alice-password")
		s3 := login(t, g, "alice", "alice-password")
		expect(t, "oldest", s1.call("/connect/api/auth/ping", []any{}), 401, "invalidSession")
		expect(t, "second", s2.call("/connect/api/auth/ping", []any{}), 200, "")
		expect(t, "newest", s3.call("/connect/api/auth/ping", []any{}), 200, "")
	})
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t, "--login-max-failures", "3", "--login-window", "2s")
	attempt := func(user, pass string, date time.Time) *result {
		return post(t, g.URL+"/connect/api/auth/login", nil, envelope("LoginReq", freshID(),
			protocol.FormatDate(date), []any{map[string]string{"username": user, "password": pass}}))
	}
	wrongPass := attempt("alice", "nope", time.Now())
	noUser := attempt("mallory", "nope", time.Now())
	expect(t, "wrong password", wrongPass, 401, "invalidCredentials")
	expect(t, "unknown user", noUser, 401, "invalidCredentials")
	if wrongPass.Env.Error.Message != noUser.Env.Error.Message {
		t.Errorf("messages differ: %q vs %q", wrongPass.Env.Error.Message, noUser.Env.Error.Message)
	}
	expect(t, "login clock skew", attempt("bob", "bob-password", time.Now().Add(time.Hour)), 401, "clockSkew")
	expect(t, "login bad body", post(t, g.URL+"/connect/api/auth/login", nil, []byte(`{"type":"LoginReq"}`)), 400, "badRequest")

	// Two more failures for alice reach the limit of 3; then even the right
	// password is refused before it is checked.
	attempt("alice", "nope", time.Now())
	attempt("alice", "nope", time.Now())
	r := attempt("alice", "alice-password", time.Now())
	expect(t, "throttled", r, 429, "tooManyAttempts")
	if r.Header.Get("Retry-After") == "" {
		t.Error("tooManyAttempts without Retry-After")
	}
	// Another user from the same address has had 4 failures counted on the
	// address too (3 alice + 1 mallory): the address is throttled.
	expect(t, "address throttled", attempt("bob", "bob-password", time.Now()), 429, "tooManyAttempts")
	// Served again once the 2 s window has passed (throttled attempts are
	// not counted): polled, not slept through.
	deadline := time.Now().Add(15 * time.Second)
	for r = attempt("alice", "alice-password", time.Now()); r.Status == 429 && time.Now().Before(deadline); r = attempt("alice", "alice-password", time.Now()) {
		time.Sleep(50 * time.Millisecond) // polling tick
	}
	expect(t, "after the window", r, 200, "")
}

func TestUsersReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	g, users := testGateway(t)
	alice := login(t, g, "alice", "alice-password")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// carol does not exist until added and reloaded.
	r := post(t, g.URL+"/connect/api/auth/login", nil, envelope("LoginReq", freshID(), protocol.FormatDate(time.Now()),
		[]any{map[string]string{"username": "carol", "password": "carol-password"}}))
	expect(t, "carol before", r, 401, "invalidCredentials")
	if _, stderr, code := testenv.Run(t, ctx, "carol-password\n", "users", "add", "--users", users, "--groups", "analysts", "--password-stdin", "--cost", "4", "carol"); code != 0 {
		t.Fatalf("users add: %d %s", code, stderr)
	}
	if err := g.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload", func() bool { return strings.Contains(g.Stderr(), "users file reloaded") })
	carol := login(t, g, "carol", "carol-password")
	expect(t, "carol calls", carol.call("/connect/api/test/rows", []any{map[string]any{"n": 1}}), 200, "")
	expect(t, "alice's session survived", alice.call("/connect/api/auth/ping", []any{}), 200, "")

	// passwd changes the password; remove removes the user.
	if _, stderr, code := testenv.Run(t, ctx, "carol-password-2\n", "users", "passwd", "--users", users, "--password-stdin", "--cost", "4", "carol"); code != 0 {
		t.Fatalf("users passwd: %d %s", code, stderr)
	}
	if _, stderr, code := testenv.Run(t, ctx, "", "users", "remove", "--users", users, "bob"); code != 0 {
		t.Fatalf("users remove: %d %s", code, stderr)
	}
	_ = g.Signal(syscall.SIGHUP)
	waitFor(t, "second reload", func() bool { return strings.Count(g.Stderr(), "users file reloaded") >= 2 })
	login(t, g, "carol", "carol-password-2")
	r = post(t, g.URL+"/connect/api/auth/login", nil, envelope("LoginReq", freshID(), protocol.FormatDate(time.Now()),
		[]any{map[string]string{"username": "bob", "password": "bob-password"}}))
	expect(t, "bob removed", r, 401, "invalidCredentials")

	// A malformed file is refused with its line; the old one stays in force.
	data, _ := os.ReadFile(users)
	if err := os.WriteFile(users, append(data, []byte("  dave: {password: plaintext}\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = g.Signal(syscall.SIGHUP)
	waitFor(t, "refused reload", func() bool { return strings.Contains(g.Stderr(), "not reloaded") })
	if !strings.Contains(g.Stderr(), "users.yaml:") {
		t.Errorf("the refusal must name file:line:\n%s", g.Stderr())
	}
	expect(t, "old file in force", alice.call("/connect/api/auth/ping", []any{}), 200, "")
	login(t, g, "carol", "carol-password-2")
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t, "--max-concurrent", "1")
	alice := login(t, g, "alice", "alice-password")
	// slowish runs into its 4 s timeout: the drain must wait for it. It is
	// in flight once a quick call is refused busy (it holds the only slot).
	var r *result
	_, done := slotHeld(t, func() bool {
		r = alice.call("/connect/api/test/slowish", []any{})
		return r.Status == 503
	}, func() *result { return alice.call("/connect/api/test/rows", []any{map[string]any{"n": 1}}) })
	if err := g.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-done
	if r.Status != 504 || r.code() != "timeout" {
		t.Errorf("the in-flight call was not drained: %d %s", r.Status, r.Body)
	}
	if err := g.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(g.Stderr(), "draining") {
		t.Errorf("no drain in the log:\n%s", g.Stderr())
	}
}

func TestDemoMode(t *testing.T) {
	t.Parallel()
	g := testenv.StartGateway(t)
	waitFor(t, "the start-up banner", func() bool { return strings.Contains(g.Stdout(), "demo mode") })
	out := g.Stdout()
	for _, want := range []string{g.URL, "/connect/index.html", "kxSupport", "12345678"} {
		if !strings.Contains(out, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out)
		}
	}
	// The published login example works verbatim (with a current date).
	s := login(t, g, "kxSupport", "12345678")
	r := s.call("/connect/api/monPublic/getMem", []any{map[string]any{"syms": []string{"server_A", "server_B"}}})
	expect(t, "getMem", r, 200, "")
	if len(r.Env.Msg) == 0 {
		t.Fatalf("getMem returned no rows")
	}
	// The session id must never reach the log.
	if strings.Contains(g.Stderr(), s.sid) || strings.Contains(g.Stderr(), s.sid[len(s.sid)-5:]+":") {
		t.Error("the session id appears in the log")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, stderr, code := testenv.Run(t, ctx, "", "serve", "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(stderr, "--insecure-demo") {
		t.Errorf("demo mode on 0.0.0.0: exit %d, %s", code, stderr)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, what, 10*time.Second, cond)
}
