package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qconnect/qconnect/internal/auth"
)

// usersRun runs `qconnect users ARGS` in process with stdin and the
// environment given, and returns the exit code and both outputs.
func usersRun(t *testing.T, stdin string, envVars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin:      strings.NewReader(stdin),
		stdout:     &out,
		stderr:     &errb,
		getenv:     func(k string) string { return envVars[k] },
		isTerminal: func(io.Writer) bool { return false },
	}
	code = run(context.Background(), e, append([]string{"users"}, args...))
	return code, out.String(), errb.String()
}

func TestUsersCommandLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")

	code, out, errs := usersRun(t, "first-pw-1\n", nil, "add", "--users", path, "--password-stdin", "--cost", "4", "alice")
	if code != exitOK {
		t.Fatalf("add: exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "added user alice to users.yaml") || !strings.Contains(out, "SIGHUP (kill -HUP <pid>)") {
		t.Errorf("add said %q", out)
	}
	d, err := auth.LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Authenticate("alice", "first-pw-1") {
		t.Fatal("alice does not authenticate with the password given on stdin")
	}

	// Give the file a group by hand, as an operator would, then add a user in it.
	b, _ := os.ReadFile(path)
	edited := strings.Replace(string(b), "groups: {}", "groups:\n  support:\n    allow: [monPublic]  # by hand", 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	// Flags after the username and the password line ending in \r\n.
	code, out, errs = usersRun(t, "bob-pw-123\r\n", map[string]string{envUsers: path}, "add", "bob", "--groups", "support", "--password-stdin", "--cost=4")
	if code != exitOK {
		t.Fatalf("add bob: exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "(groups: support)") {
		t.Errorf("add bob said %q", out)
	}

	code, out, _ = usersRun(t, "", nil, "list", "--users", path)
	if code != exitOK {
		t.Fatalf("list: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "USER") ||
		strings.Join(strings.Fields(lines[1]), " ") != "alice -" ||
		strings.Join(strings.Fields(lines[2]), " ") != "bob support" {
		t.Errorf("list printed:\n%s", out)
	}

	code, out, errs = usersRun(t, "first-pw-2\n", nil, "passwd", "--users", path, "--password-stdin", "--cost", "4", "alice")
	if code != exitOK || !strings.Contains(out, "changed the password of alice") {
		t.Fatalf("passwd: exit %d, out %q, stderr %q", code, out, errs)
	}
	code, out, _ = usersRun(t, "", nil, "remove", "--users", path, "bob")
	if code != exitOK || !strings.Contains(out, "removed user bob from users.yaml") {
		t.Fatalf("remove: exit %d, out %q", code, out)
	}

	got, _ := os.ReadFile(path)
	for _, secret := range []string{"first-pw-1", "first-pw-2", "bob-pw-123"} {
		if strings.Contains(string(got), secret) {
			t.Errorf("the file holds the plaintext password %q", secret)
		}
	}
	if !strings.Contains(string(got), "# by hand") {
		t.Error("the operator's comment was lost")
	}
	d, err = auth.LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.HasUser("bob") || d.Authenticate("alice", "first-pw-1") || !d.Authenticate("alice", "first-pw-2") {
		t.Errorf("final state wrong: users %v", d.Users())
	}
}

func TestUsersCommandErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	if code, _, errs := usersRun(t, "alice-pw-1\n", nil, "add", "--users", path, "--password-stdin", "--cost", "4", "alice"); code != exitOK {
		t.Fatal(errs)
	}
	cases := []struct {
		name  string
		stdin string
		env   map[string]string
		args  []string
		code  int
		want  string
	}{
		{"no subcommand", "", nil, []string{"--users", path}, exitUsage, "add, passwd, remove or list"},
		{"unknown subcommand", "", nil, []string{"rename", "--users", path, "a"}, exitUsage, `unknown users command "rename"`},
		{"no users file", "", nil, []string{"list"}, exitUsage, "pass --users FILE or set QCONNECT_USERS"},
		{"two usernames", "", nil, []string{"remove", "--users", path, "a", "b"}, exitUsage, "exactly one username"},
		{"no username", "", nil, []string{"add", "--users", path}, exitUsage, "exactly one username"},
		{"bad username", "", nil, []string{"add", "--users", path, "a:b"}, exitUsage, `invalid username "a:b"`},
		{"groups on passwd", "", nil, []string{"passwd", "--users", path, "--groups", "x", "alice"}, exitUsage, "--groups only applies to add"},
		{"cost out of range", "", nil, []string{"add", "--users", path, "--cost", "40", "bob"}, exitUsage, "--cost 40 is out of range"},
		{"unknown flag", "", nil, []string{"add", "--users", path, "--password", "x", "bob"}, exitUsage, "flag provided but not defined: -password"},
		{"no terminal", "bob-pw-123\n", nil, []string{"add", "--users", path, "--cost", "4", "bob"}, exitUsage, "pipe it in with --password-stdin"},
		{"empty password", "\n", nil, []string{"add", "--users", path, "--password-stdin", "--cost", "4", "bob"}, exitCallFailed, "empty password"},
		{"short password", "short\n", nil, []string{"add", "--users", path, "--password-stdin", "--cost", "4", "bob"}, exitCallFailed, "at least 8 characters"},
		{"user exists", "other-pw-1\n", nil, []string{"add", "--users", path, "--password-stdin", "--cost", "4", "alice"}, exitCallFailed, `user "alice" already exists`},
		{"undefined group", "other-pw-1\n", nil, []string{"add", "--users", path, "--password-stdin", "--groups", "ops", "bob"}, exitCallFailed, `group "ops" is not defined`},
		{"passwd of unknown user", "other-pw-1\n", nil, []string{"passwd", "--users", path, "--password-stdin", "bob"}, exitCallFailed, `no user "bob"`},
		{"remove unknown user", "", nil, []string{"remove", "--users", path, "bob"}, exitCallFailed, `no user "bob"`},
		{"missing file", "", nil, []string{"list", "--users", filepath.Join(dir, "nope.yaml")}, exitCallFailed, "no such file"},
		{"passwd on missing file", "other-pw-1\n", nil, []string{"passwd", "--users", filepath.Join(dir, "nope.yaml"), "--password-stdin", "bob"}, exitCallFailed, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := usersRun(t, c.stdin, c.env, c.args...)
			if code != c.code || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, c.code, c.want)
			}
		})
	}
	d, err := auth.LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Users(), ",") != "alice" || !d.Authenticate("alice", "alice-pw-1") {
		t.Error("a failed command changed the file")
	}
}

func TestUsersCommandHelp(t *testing.T) {
	code, out, _ := usersRun(t, "", nil, "-h")
	if code != exitOK || !strings.Contains(out, "qconnect users add") || !strings.Contains(out, "--password-stdin") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}

// The parse error for a plaintext password tells the operator to run passwd;
// running it must repair the file.
func TestUsersPasswdRepairsPlaintext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, []byte("users:\n  bob:\n    password: hunter22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := usersRun(t, "", nil, "list", "--users", path)
	if code != exitCallFailed || !strings.Contains(errs, path+":3:") || !strings.Contains(errs, "qconnect users passwd --users "+path+" bob") {
		t.Fatalf("list of a plaintext file: exit %d, %q", code, errs)
	}
	code, _, errs = usersRun(t, "bob-pw-123\n", nil, "passwd", "--users", path, "--password-stdin", "--cost", "4", "bob")
	if code != exitOK {
		t.Fatalf("passwd: exit %d, %q", code, errs)
	}
	if d, err := auth.LoadUsers(path); err != nil || !d.Authenticate("bob", "bob-pw-123") {
		t.Errorf("after passwd: %v", err)
	}
}
