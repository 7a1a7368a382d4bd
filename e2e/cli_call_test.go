package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestCLIDefaultCall is the published sample's default run: log in as the
// demo user, call monPublic/getMem with default parameters, print an
// aligned table, log out, exit 0 — here with only the address given, since
// the test gateway is not on localhost:8080.
func TestCLIDefaultCall(t *testing.T) {
	t.Parallel()
	g := testenv.StartGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	out, stderr, code := testenv.Run(t, ctx, "", "call", g.Addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 10 || !strings.HasPrefix(lines[0], "time") || !strings.Contains(lines[0], "cpuLoad") {
		t.Fatalf("not a getMem table:\n%.500s", out)
	}
	// Aligned: every data row starts its sym column where the header does.
	symAt := strings.Index(lines[0], "sym")
	for _, l := range lines[2:6] {
		if !strings.HasPrefix(l[symAt:], "server_") {
			t.Errorf("misaligned row %q (sym column at %d)", l, symAt)
		}
	}
	waitFor(t, "the logout", func() bool { return strings.Contains(g.Stderr(), "path=/connect/api/auth/logout") })

	// methods lists what the demo user may call, with parameters.
	out, stderr, code = testenv.Run(t, ctx, "", "methods", g.Addr, "kxSupport", "12345678")
	if code != 0 || !strings.Contains(out, "monPublic/getMem") || !strings.Contains(out, "syms") {
		t.Fatalf("methods: exit %d\n%s\n%s", code, out, stderr)
	}

	// Exit codes tell usage, authentication, call and connection failures apart.
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	for _, c := range []struct {
		name string
		args []string
		code int
		hint string
	}{
		{"bad params", []string{"call", g.Addr, "kxSupport", "12345678", "monPublic/getMem", "--params", "{oops"}, 2, "params"},
		{"wrong password", []string{"call", g.Addr, "kxSupport", "wrong-password"}, 3, "password"},
		{"unknown method", []string{"call", g.Addr, "kxSupport", "12345678", "monPublic/nope"}, 1, "unknownMethod"},
		{"invalid params", []string{"call", g.Addr, "kxSupport", "12345678", "monPublic/getMem", "--params", `{"bucket":"5m"}`}, 1, "invalidParams"},
		{"unreachable", []string{"call", closed}, 4, "qconnect serve"},
	} {
		_, stderr, code := testenv.Run(t, ctx, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.hint) {
			t.Errorf("%s: exit %d (want %d), stderr lacks %q?\n%s", c.name, code, c.code, c.hint, stderr)
		}
	}
}

// TestCLIWarnsOfTruncation: an export cut at the row cap says so, in every
// format (from the envelope, the final NDJSON line or the Connect-Meta
// trailer), and a whole one does not.
func TestCLIWarnsOfTruncation(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	for _, format := range []string{"csv", "json", "ndjson", "arrow"} {
		for _, c := range []struct {
			n    int
			warn bool
		}{{25, true}, {5, false}} {
			out := filepath.Join(dir, fmt.Sprintf("rows%d.%s", c.n, format))
			_, stderr, code := testenv.Run(t, ctx, "", "call", g.Addr, "alice", "alice-password", "test/rows",
				"--params", fmt.Sprintf(`{"n":%d}`, c.n), "--format", format, "-o", out)
			if code != 0 {
				t.Fatalf("%s n=%d: exit %d: %s", format, c.n, code, stderr)
			}
			if got := strings.Contains(stderr, "cut at the method's row cap (10 rows)"); got != c.warn {
				t.Errorf("%s n=%d: warning %v, want %v:\n%s", format, c.n, got, c.warn, stderr)
			}
		}
	}
}

// TestCLICSVOneWriter: `call --csv FILE` and `call --format csv -o FILE`
// write the same bytes for one result (issue 9: one CSV writer, null vs
// "" kept apart).
func TestCLICSVOneWriter(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	table, streamed := filepath.Join(dir, "table.csv"), filepath.Join(dir, "streamed.csv")
	args := []string{"call", g.Addr, "alice", "alice-password", "test/allTypes", "--params", `{"n":200}`}
	if _, stderr, code := testenv.Run(t, ctx, "", append(args, "--csv", table)...); code != 0 {
		t.Fatalf("--csv: exit %d: %s", code, stderr)
	}
	if _, stderr, code := testenv.Run(t, ctx, "", append(args, "--format", "csv", "-o", streamed)...); code != 0 {
		t.Fatalf("--format csv -o: exit %d: %s", code, stderr)
	}
	a, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(streamed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("--csv and --format csv -o differ:\n--csv:\n%.600s\n-o:\n%.600s", a, b)
	}
	if !bytes.Contains(a, []byte(",,")) {
		t.Errorf("no null field in the export:\n%.300s", a)
	}
}
