package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestCredentialChangeEndsSessions: after `users passwd` (alice) and `users
// remove` (bob) and a reload (SIGHUP), their sessions end and their
// WebSockets close with 4401; carol, unchanged, keeps hers.
func TestCredentialChangeEndsSessions(t *testing.T) {
	t.Parallel()
	g, users := testGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cli := func(stdin string, args ...string) {
		t.Helper()
		if _, stderr, code := testenv.Run(t, ctx, stdin, append([]string{"users"}, args...)...); code != 0 {
			t.Fatalf("users %v: %d %s", args, code, stderr)
		}
	}
	reloads := 0
	reload := func() {
		t.Helper()
		reloads++
		if err := g.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "reload", func() bool { return strings.Count(g.Stderr(), "users file reloaded") >= reloads })
	}
	cli("carol-password\n", "add", "--users", users, "--groups", "analysts", "--password-stdin", "--cost", "4", "carol")
	reload()

	alice := login(t, g, "alice", "alice-password")
	bob := login(t, g, "bob", "bob-password")
	carol := login(t, g, "carol", "carol-password")
	wsAlice := dialRaw(t, g, 0)
	wsAlice.authReq("alice", alice.sid)
	wsBob := dialRaw(t, g, 0)
	wsBob.login("bob", "bob-password") // a socket's own session
	wsCarol := dialRaw(t, g, 0)
	wsCarol.authReq("carol", carol.sid)

	cli("alice-password-2\n", "passwd", "--users", users, "--password-stdin", "--cost", "4", "alice")
	cli("", "remove", "--users", users, "bob")
	reload()

	expect(t, "alice's old session", alice.call("/connect/api/auth/ping", []any{}), 401, "invalidSession")
	expect(t, "bob's session", bob.call("/connect/api/auth/ping", []any{}), 401, "invalidSession")
	for name, ws := range map[string]*rawWS{"alice": wsAlice, "bob": wsBob} {
		if code := ws.closeCode(10 * time.Second); code != 4401 {
			t.Errorf("%s's WebSocket closed with %d, want 4401", name, code)
		}
	}
	expect(t, "carol's session", carol.call("/connect/api/auth/ping", []any{}), 200, "")
	wsCarol.send("PingReq", []any{})
	if f := wsCarol.expect("PingResp"); !f.Success {
		t.Errorf("carol's socket: %+v", f.Error)
	}
	expect(t, "alice with the new password", login(t, g, "alice", "alice-password-2").call("/connect/api/auth/ping", []any{}), 200, "")
}
