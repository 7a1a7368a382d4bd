package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

const commented = `# Head comment: who may log in.
users:
  # the support desk
  alice:
    password: "%s"   # rotated in March
    groups: [support]
  carol:
    password: "%s"
groups:
  # support staff
  support:
    allow: ["monPublic"]   # the demo
    deny: ["marketData/getQuotes"]
# trailing comment
`

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func commentedFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "users.yaml")
	writeFile(t, path, strings.Replace(strings.Replace(commented, "%s", testHash(t, "alice-pw-1"), 1), "%s", testHash(t, "carol-pw-1"), 1))
	return path
}

// assertComments checks that every comment of the original file survived.
func assertComments(t *testing.T, got string) {
	t.Helper()
	for _, c := range []string{"# Head comment: who may log in.", "# the support desk", "# rotated in March",
		"# support staff", "# the demo", "# trailing comment"} {
		if !strings.Contains(got, c) {
			t.Errorf("comment %q lost:\n%s", c, got)
		}
	}
}

func TestAddUserKeepsCommentsAndOrder(t *testing.T) {
	path := commentedFile(t)
	if err := AddUser(path, "bob", "bob-pw-123", []string{"support"}, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	assertComments(t, got)
	if a, c, b := strings.Index(got, "alice:"), strings.Index(got, "carol:"), strings.Index(got, "bob:"); !(a < c && c < b) {
		t.Errorf("order changed or bob not appended at the end of users:\n%s", got)
	}
	if strings.Contains(got, "bob-pw-123") {
		t.Fatal("the plaintext password was written to the file")
	}
	d, err := LoadUsers(path)
	if err != nil {
		t.Fatalf("the edited file does not load: %v\n%s", err, got)
	}
	if !d.Authenticate("bob", "bob-pw-123") || !d.Authenticate("alice", "alice-pw-1") {
		t.Error("passwords do not verify after the edit")
	}
	if !d.Allowed("bob", "monPublic", "getMem") {
		t.Error("bob did not get group support")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}

	err = AddUser(path, "bob", "other-pw-1", nil, bcrypt.MinCost)
	if err == nil || !strings.Contains(err.Error(), `user "bob" already exists`) {
		t.Errorf("adding bob twice: %v", err)
	}
	err = AddUser(path, "dave", "dave-pw-12", []string{"suport"}, bcrypt.MinCost)
	if err == nil || !strings.Contains(err.Error(), `group "suport" is not defined`) || !strings.Contains(err.Error(), "defined: support") {
		t.Errorf("undefined group: %v", err)
	}
	if err := AddUser(path, "bad name", "dave-pw-12", nil, bcrypt.MinCost); err == nil {
		t.Error("accepted an invalid username")
	}
	if err := AddUser(path, "dave", "short", nil, bcrypt.MinCost); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("short password: %v", err)
	}
	if d, _ := LoadUsers(path); d.HasUser("dave") {
		t.Error("a failed add changed the file")
	}
}

func TestAddUserCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.yaml")
	if err := AddUser(path, "first", "first-pw-1", nil, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	if !strings.HasPrefix(got, "# qconnect users file.") {
		t.Errorf("new file lacks its explanatory header:\n%s", got)
	}
	d, err := LoadUsers(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if !d.Authenticate("first", "first-pw-1") {
		t.Error("the new user does not authenticate")
	}
	if err := AddUser(path, "second", "second-pw", nil, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if d, _ := LoadUsers(path); strings.Join(d.Users(), ",") != "first,second" {
		t.Errorf("users %v", d.Users())
	}
	if err := SetPassword(filepath.Join(t.TempDir(), "missing.yaml"), "x", "xxxxxxxx", bcrypt.MinCost); err == nil {
		t.Error("SetPassword created a missing file")
	}
}

func TestSetPassword(t *testing.T) {
	path := commentedFile(t)
	if err := SetPassword(path, "alice", "alice-pw-2", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	assertComments(t, got)
	d, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Authenticate("alice", "alice-pw-1") || !d.Authenticate("alice", "alice-pw-2") || !d.Authenticate("carol", "carol-pw-1") {
		t.Error("passwd did not change exactly alice's password")
	}
	if err := SetPassword(path, "ghost", "ghost-pw-1", bcrypt.MinCost); err == nil || !strings.Contains(err.Error(), `no user "ghost"`) {
		t.Errorf("passwd of an unknown user: %v", err)
	}
}

// The parse error for a plaintext password says to run passwd; passwd must
// be able to repair such a file.
func TestSetPasswordRepairsPlaintext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	writeFile(t, path, "users:\n  bob:\n    password: hunter22  # oops\n  eve:\n    password: letmein1\n")
	if err := SetPassword(path, "bob", "bob-pw-123", bcrypt.MinCost); err == nil || !strings.Contains(err.Error(), `user "eve"`) {
		t.Fatalf("passwd on a file with two plaintext passwords: %v, want the remaining problem with eve", err)
	}
	if strings.Contains(readFile(t, path), "hunter22") {
		t.Fatal("bob's plaintext password is still there")
	}
	if err := SetPassword(path, "eve", "eve-pw-123", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	d, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Authenticate("bob", "bob-pw-123") || !d.Authenticate("eve", "eve-pw-123") {
		t.Error("repaired passwords do not verify")
	}
	if !strings.Contains(readFile(t, path), "# oops") {
		t.Error("the comment on the password was lost")
	}
}

func TestRemoveUser(t *testing.T) {
	path := commentedFile(t)
	if err := RemoveUser(path, "carol"); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	assertComments(t, got)
	d, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.HasUser("carol") || !d.HasUser("alice") {
		t.Errorf("users after remove: %v", d.Users())
	}
	if err := RemoveUser(path, "carol"); err == nil || !strings.Contains(err.Error(), `no user "carol"`) {
		t.Errorf("removing twice: %v", err)
	}
}

func TestEditRefusesBrokenYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	const broken = "users:\n  bob: [\n"
	writeFile(t, path, broken)
	err := AddUser(path, "x", "xxxxxxxx", nil, bcrypt.MinCost)
	if err == nil || !strings.Contains(err.Error(), path+":") {
		t.Fatalf("edit of invalid YAML: %v", err)
	}
	if readFile(t, path) != broken {
		t.Error("a failed edit changed the file")
	}
}

func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	if err := writeAtomic(path, nil, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(path, []byte("one\n"), []byte("two\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "two\n" {
		t.Errorf("content %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// The file changed under us (another edit): refuse, keep it, leave no temp file.
	err := writeAtomic(path, []byte("one\n"), []byte("three\n"))
	if err == nil || !strings.Contains(err.Error(), "changed while it was being edited") {
		t.Errorf("concurrent change: %v", err)
	}
	if got := readFile(t, path); got != "two\n" {
		t.Errorf("content after refused write %q", got)
	}
	// A directory that cannot take the temp file: the old file stays whole.
	if err := writeAtomic(filepath.Join(dir, "nodir", "users.yaml"), nil, []byte("x")); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only users.yaml (temp files must not be left behind)", names)
	}
}

func TestEditThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := commentedFile(t)
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	if err := AddUser(link, "bob", "bob-pw-123", nil, bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced by a file")
	}
	if d, err := LoadUsers(real); err != nil || !d.HasUser("bob") {
		t.Errorf("the target was not edited: %v", err)
	}
}
