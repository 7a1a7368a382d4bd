package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/testenv"
)

// cliCall runs `qconnect call <addr> alice alice-password <method> args...`.
func cliCall(t *testing.T, g *testenv.Gateway, method string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return testenv.Run(t, ctx, "", append([]string{"call", g.Addr, "alice", "alice-password", method}, args...)...)
}

// noFile fails the test when path, or path.partial, exists.
func noFile(t *testing.T, path string) {
	t.Helper()
	for _, p := range []string{path, path + ".partial"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists after a failed call", p)
		}
	}
}

// TestCLIExport: `qconnect call ... --format F -o FILE` streams the body to
// FILE in each format, with the same values as the JSON result; --csv FILE
// exports the table; a failing call exits 1 and leaves no file.
func TestCLIExport(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	dir := t.TempDir()
	params := []string{"--params", `{"n":3000}`}

	stdout, stderr, code := cliCall(t, g, "test/allTypes", append(params, "--format", "json")...)
	if code != 0 {
		t.Fatalf("--format json to stdout: exit %d: %s", code, stderr)
	}
	env, want := decodeJSONBody(t, []byte(stdout), allTypesCols)
	if !*env.Success || len(want) != 3000 {
		t.Fatalf("the JSON result: success %v, %d rows", *env.Success, len(want))
	}

	for _, c := range []struct {
		format, file string
		summary      string
	}{
		{"csv", "out.csv", "wrote 3,000 rows"},
		{"json", "out.json", "wrote "},
		{"ndjson", "out.ndjson", "wrote 3,000 rows"},
		{"arrow", "out.arrow", "wrote "},
		{"", "inferred.csv", "wrote 3,000 rows"}, // the format from the extension
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			args := append(append([]string{}, params...), "-o", path)
			if c.format != "" {
				args = append(args, "--format", c.format)
			}
			stdout, stderr, code := cliCall(t, g, "test/allTypes", args...)
			if code != 0 || stdout != "" || !strings.Contains(stderr, path) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if !strings.Contains(stderr, c.summary) {
				// test/allTypes has strings with quoted line breaks: a count
				// of lines is not a count of CSV records.
				t.Errorf("the summary %q does not say %q", strings.TrimSpace(stderr), c.summary)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path + ".partial"); err == nil {
				t.Error("the .partial file was left behind")
			}
			var rows [][]any
			switch {
			case c.format == "json":
				e, r := decodeJSONBody(t, data, allTypesCols)
				if !*e.Success || e.Meta == nil || e.Meta.RowCount != 3000 {
					t.Fatalf("the file's envelope: success %v meta %+v", *e.Success, e.Meta)
				}
				rows = r
			case c.format == "ndjson":
				final, r := decodeNDJSONBody(t, data, allTypesCols)
				if !*final.Success {
					t.Fatalf("the file's status line says failure: %+v", final.Error)
				}
				rows = r
			case c.format == "arrow":
				r, err := decodeArrowBody(t, data, allTypesCols)
				if err != nil || !bytes.HasSuffix(data, arrowEndOfStream) {
					t.Fatalf("the file is not a whole Arrow stream: %v", err)
				}
				rows = r
			default:
				rows = decodeCSVBody(t, data, allTypesCols)
			}
			sameRows(t, c.file+" vs the JSON result", rows, want)
		})
	}

	t.Run("--csv FILE", func(t *testing.T) {
		path := filepath.Join(dir, "table.csv")
		stdout, stderr, code := cliCall(t, g, "test/allTypes", append(params, "--csv", path)...)
		if code != 0 || !strings.Contains(stdout, "rows: 3,000") || !strings.Contains(stderr, "wrote 3,000 rows to "+path) {
			t.Fatalf("exit %d, stdout ends %q, stderr %q", code, stdout[max(0, len(stdout)-200):], stderr)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("i,b,f,s,ts,d,tm,span,g\r\n")) {
			t.Errorf("--csv header %q, want RFC 4180 (CRLF)", data[:min(len(data), 40)])
		}
		sameRows(t, "--csv vs the JSON result", decodeCSVBody(t, data, allTypesCols), want)
	})

	t.Run("failures leave no file", func(t *testing.T) {
		for _, c := range []struct {
			name, method string
			args         []string
			want         string
		}{
			{"after rows (csv)", "test/midFail", []string{"-o", filepath.Join(dir, "fail.csv")}, "analyticError"},
			{"after rows (arrow)", "test/midFail", []string{"-o", filepath.Join(dir, "fail.arrow")}, "incomplete"},
			{"after rows (ndjson)", "test/midFail", []string{"--format", "ndjson", "-o", filepath.Join(dir, "fail.ndjson")}, "analyticError"},
			{"after rows (--csv)", "test/midFail", []string{"--csv", filepath.Join(dir, "fail-table.csv")}, "analyticError"},
			{"bad parameters", "test/allTypes", []string{"--params", `{"n":-1}`, "-o", filepath.Join(dir, "bad.json")}, "invalidParams"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, stderr, code := cliCall(t, g, c.method, c.args...)
				if code != 1 || !strings.Contains(stderr, c.want) {
					t.Errorf("exit %d, stderr %q; want exit 1 naming %s", code, stderr, c.want)
				}
				noFile(t, c.args[len(c.args)-1])
			})
		}
	})
}

// progressRE matches the progress line of a CSV export:
// "\r  1,234 rows  98.1 kB  412k rows/s".
var progressRE = regexp.MustCompile(`\r  [0-9][0-9,]* rows  [0-9.]+ (B|kB|MB|GB)  [0-9.]+[kM]? rows/s`)

// TestCLIProgress: on a terminal, an export that runs for more than a
// second shows a progress line on stderr; without a terminal it does not.
// The terminal is a pseudo-terminal made by script(1) from util-linux.
func TestCLIProgress(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.LookPath("script"), "QCONNECT_REQUIRE_SCRIPT", "script(1) from util-linux")
	g, _ := testGateway(t)
	dir := t.TempDir()
	// About 300k paced rows: seconds of streaming (test/paced).
	const n = "300000"
	args := []string{"call", g.Addr, "alice", "alice-password", "test/paced", "--params", `{"n":` + n + `}`, "--format", "csv"}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(dir, "tty.csv")
	var quoted []string
	for _, a := range append(append([]string{testenv.Binary(t)}, args...), "-o", path) {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	cmd := exec.CommandContext(ctx, "script", "-qec", strings.Join(quoted, " "), "/dev/null")
	cmd.Dir = testenv.RepoRoot()
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script -c qconnect call: %v\n%q", err, out)
	}
	if !progressRE.Match(out) {
		t.Fatalf("no progress line on the terminal:\n%q", out)
	}
	if !strings.Contains(string(out), "wrote 300,000 rows") {
		t.Errorf("no summary line on the terminal:\n%q", out)
	}
	rows := decodeCSVBody(t, mustReadFile(t, path), []qconnect.Column{{Name: "i", Type: qconnect.Long}, {Name: "h", Type: qconnect.String}})
	if len(rows) != 300000 || rows[299999][0] != int64(299999) {
		t.Errorf("the file has %d rows", len(rows))
	}

	// Without a terminal: the summary only.
	_, stderr, code := testenv.Run(t, ctx, "", append(args, "-o", filepath.Join(dir, "pipe.csv"))...)
	if code != 0 || strings.Contains(stderr, "\r") || !strings.Contains(stderr, "wrote 300,000 rows") {
		t.Errorf("without a terminal: exit %d, stderr %q; want the summary line only", code, stderr)
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
