package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// TestCLICSVNeutralisesFormulas: the CLI's CSV output (--csv FILE, --csv -,
// --format csv -o FILE, --format csv to stdout) prefixes a cell that a
// spreadsheet would run as a formula with ' and quotes it (OWASP), leaves
// numbers alone, and --csv-raw writes the gateway's exact data.
func TestCLICSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	for _, c := range []struct{ s, safe string }{
		{"=1+2", `"'=1+2"`},
		{"+cmd|", `"'+cmd|"`},
		{"@SUM(", `"'@SUM("`},
		{"-1+1", `"'-1+1"`},
		{"\tx", "\"'\tx\""},
		{"-2.5", "-2.5"}, // a number, not a formula
		{"a=b", "a=b"},
	} {
		params := `{"s":` + strconv.Quote(c.s) + `,"l":-7}`
		row := func(out string) string {
			t.Helper()
			lines := strings.Split(out, "\r\n")
			if len(lines) < 2 || !strings.HasPrefix(lines[0], "b,l,f,s,") {
				t.Fatalf("not the typed CSV: %q", out)
			}
			f := strings.SplitN(lines[1], ",", 5) // b,l,f,s,... ; s has no comma
			if f[1] != "-7" {
				t.Errorf("%q: the number -7 came out as %s", c.s, f[1])
			}
			return f[3]
		}
		call := func(args ...string) string {
			t.Helper()
			out, stderr, code := testenv.Run(t, ctx, "", append([]string{"call", g.Addr, "alice", "alice-password", "test/typed", "--params", params}, args...)...)
			if code != 0 {
				t.Fatalf("call %v: exit %d: %s", args, code, stderr)
			}
			return out
		}
		file := func(name string) string {
			t.Helper()
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		for what, out := range map[string]string{
			"--csv -":               call("--csv", "-"),
			"--format csv (stdout)": call("--format", "csv"),
			"--csv FILE": func() string {
				call("--csv", filepath.Join(dir, "a.csv"))
				return file("a.csv")
			}(),
			"--format csv -o FILE": func() string {
				call("--format", "csv", "-o", filepath.Join(dir, "b.csv"))
				return file("b.csv")
			}(),
		} {
			if got := row(out); got != c.safe {
				t.Errorf("%s with s = %q: cell %s, want %s", what, c.s, got, c.safe)
			}
		}
		// --csv-raw: exactly what the gateway sent.
		for what, out := range map[string]string{
			"--csv - --csv-raw": call("--csv", "-", "--csv-raw"),
			"--format csv -o --csv-raw": func() string {
				call("--format", "csv", "-o", filepath.Join(dir, "c.csv"), "--csv-raw")
				return file("c.csv")
			}(),
		} {
			if got := row(out); got != c.s {
				t.Errorf("%s with s = %q: cell %q, want the exact value", what, c.s, got)
			}
		}
	}
}

// serveOnce runs `qconnect serve args...` with TMPDIR set to tmp and
// returns its stdout, stderr and exit code (for a serve that must fail).
func serveOnce(t *testing.T, tmp string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Binary(t), append([]string{"serve"}, args...)...)
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestServeSmallDefects: issue 8's small defects of `serve`, each seen
// from outside the binary.
func TestServeSmallDefects(t *testing.T) {
	t.Parallel()
	t.Run("missing --duckdb leaves no temp dir", func(t *testing.T) {
		tmp := t.TempDir()
		_, stderr, code := serveOnce(t, tmp, "--duckdb", "missing.duckdb", "--catalog", filepath.Join("e2e", "testdata", "catalog.yaml"), "--users", usersFile(t), "--listen", "127.0.0.1:0")
		if code == 0 || !strings.Contains(stderr, "missing.duckdb: no such file") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("serve left %s in TMPDIR", left[0].Name())
		}
	})
	t.Run("a taken port is reported before any data loads", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		stdout, stderr, code := serveOnce(t, t.TempDir(), "--listen", ln.Addr().String())
		if code == 0 || !strings.Contains(stderr, "cannot listen on "+ln.Addr().String()) {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if strings.Contains(stderr, "demo data loaded") || strings.Contains(stdout, "loading") {
			t.Errorf("the demo data was loaded before the taken port was reported:\n%s\n%s", stdout, stderr)
		}
	})
	t.Run("banner", func(t *testing.T) {
		g, users := testGateway(t) // --demo=true with a users file
		// The banner's lines after "listening on" are read asynchronously.
		waitFor(t, "the banner", func() bool { return strings.Contains(g.Stdout(), "demo mode:") })
		out := g.Stdout()
		if strings.Contains(out, "12345678") || strings.Contains(out, "kxSupport") {
			t.Errorf("the banner advertises the demo credentials, which a users file replaces:\n%s", out)
		}
		if !strings.Contains(out, "log in as a user of "+users) {
			t.Errorf("the banner does not say whose users apply:\n%s", out)
		}
		// A line before the data loads, then the listening line.
		load, listen := strings.Index(out, "qconnect: loading the demo data"), strings.Index(out, "listening on")
		if load < 0 || listen < load {
			t.Errorf("no line before the demo data loads, or after the listening line:\n%s", out)
		}
		demo := testenv.StartGateway(t) // plain demo mode: the credentials are advertised
		waitFor(t, "the demo banner", func() bool { return strings.Contains(demo.Stdout(), "demo mode:") })
		if !strings.Contains(demo.Stdout(), "kxSupport / 12345678") {
			t.Errorf("plain demo mode banner:\n%s", demo.Stdout())
		}
	})
}

// TestWSCapsFlags: --ws-max-per-session and --ws-max-per-user reach the
// gateway; a socket beyond a cap gets busy and close 4429.
func TestWSCapsFlags(t *testing.T) {
	t.Parallel()
	g := wsGateway(t, "--ws-max-per-session", "1", "--ws-max-per-user", "2")
	s := login(t, g, "trader", "pw-trader")
	first := dialRaw(t, g, 0)
	if f := first.authReq("trader", s.sid); !f.Success {
		t.Fatalf("first socket: %+v", f.Error)
	}
	second := dialRaw(t, g, 0)
	if f := second.authReq("trader", s.sid); f.Success || f.code() != "busy" {
		t.Fatalf("second socket on a session with a cap of 1: %+v", f)
	}
	if code := second.closeCode(10 * time.Second); code != 4429 {
		t.Errorf("refused socket closed with %d, want 4429", code)
	}
	dialRaw(t, g, 0).login("trader", "pw-trader") // the user's second socket
	third := dialRaw(t, g, 0)
	third.send("LoginReq", []any{map[string]string{"username": "trader", "password": "pw-trader"}})
	if f := third.expect("LoginResp"); f.Success || f.code() != "busy" {
		t.Fatalf("third socket of a user with a cap of 2: %+v", f)
	}
	if code := third.closeCode(10 * time.Second); code != 4429 {
		t.Errorf("refused socket closed with %d, want 4429", code)
	}
	dialRaw(t, g, 0).login("viewer", "pw-viewer") // another user is not affected
}

// TestGetTradesNanosecondBounds: getTrades' start and end compare at
// nanosecond resolution with the demo's microsecond trade times (the
// reported case: end = a trade's time + 1 ns must include that trade).
func TestGetTradesNanosecondBounds(t *testing.T) {
	t.Parallel()
	g := testenv.StartGateway(t, "--demo-feed=false")
	s := sdkLogin(t, g, "kxSupport", "12345678")
	tradeCols := []string{"time", "sym", "price", "size", "side"}
	first := mdCall(t, s, "marketData/getTrades", map[string]any{"syms": []any{"AAPL"}, "limit": 2}, tradeCols...)
	if len(first.Rows) != 2 {
		t.Fatalf("getTrades limit 2: %d rows", len(first.Rows))
	}
	t1, t2 := first.Rows[0][0].(time.Time), first.Rows[1][0].(time.Time)
	if !t1.Before(t2) {
		t.Skipf("the first two AAPL trades share a time (%s); the bounds below need two times", t1)
	}
	times := func(start, end time.Time) []time.Time {
		t.Helper()
		res := mdCall(t, s, "marketData/getTrades", map[string]any{"syms": []any{"AAPL"},
			"start": start.Format(time.RFC3339Nano), "end": end.Format(time.RFC3339Nano)}, tradeCols...)
		out := make([]time.Time, len(res.Rows))
		for i, r := range res.Rows {
			out[i] = r[0].(time.Time)
		}
		return out
	}
	ns := time.Nanosecond
	onlyAt := func(what string, got []time.Time, at time.Time) {
		t.Helper()
		if len(got) == 0 {
			t.Errorf("%s: no trade, want the trade(s) at %s", what, at.Format(time.RFC3339Nano))
		}
		for _, x := range got {
			if !x.Equal(at) {
				t.Errorf("%s: a trade at %s, want only %s", what, x.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
			}
		}
	}
	onlyAt("[t1, t1+1ns)", times(t1, t1.Add(ns)), t1)
	onlyAt("[t1-1ns, t1+1ns)", times(t1.Add(-ns), t1.Add(ns)), t1)
	onlyAt("[t1+1ns, t2+1ns)", times(t1.Add(ns), t2.Add(ns)), t2)
	onlyAt("[t2-1ns, t2+1ns)", times(t2.Add(-ns), t2.Add(ns)), t2)
	if got := times(t1.Add(ns), t2); len(got) != 0 {
		t.Errorf("[t1+1ns, t2): %d trades, want none", len(got))
	}
	if got := times(t1.Add(-ns), t1); len(got) != 0 {
		t.Errorf("[t1-1ns, t1): %d trades, want none", len(got))
	}
}
