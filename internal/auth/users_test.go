package auth

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// External vectors, produced by other implementations than the one we use.
const (
	// PHP manual, password_verify example: password "rasmuslerdorf".
	phpBcrypt = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"
	// Argon2 reference implementation (phc-winner-argon2 README and test.c):
	// password "password", salt "somesalt", t=2, m=64 MiB, p=1.
	refArgon2id = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
)

// hashCache memoises test hashes at bcrypt.MinCost.
var hashCache sync.Map

func testHash(t testing.TB, password string) string {
	t.Helper()
	if h, ok := hashCache.Load(password); ok {
		return h.(string)
	}
	h, err := HashPassword(password, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hashCache.Store(password, h)
	return h
}

func mustParse(t *testing.T, src string) *Directory {
	t.Helper()
	d, err := ParseUsers([]byte(src), "users.yaml")
	if err != nil {
		t.Fatalf("ParseUsers: %v\n%s", err, src)
	}
	return d
}

func TestParseRejects(t *testing.T) {
	h := testHash(t, "secret-pw")
	cases := []struct {
		name string
		src  string
		line string // "users.yaml:N:" expected in the error
		want string // and this text
	}{
		{"plaintext password", "users:\n  alice:\n    password: \"" + h + "\"\n  bob:\n    password: hunter22\n",
			"users.yaml:5:", `user "bob": password must be a bcrypt or argon2id hash; set it with ` + "`qconnect users passwd --users users.yaml bob`"},
		{"numeric plaintext", "users:\n  bob:\n    password: 12345678\n", "users.yaml:3:", "must be a bcrypt or argon2id hash"},
		{"broken bcrypt", "users:\n  bob:\n    password: \"$2a$10$tooshort\"\n", "users.yaml:3:", "bcrypt hash is 60 characters"},
		{"argon2i variant", "users:\n  bob:\n    password: \"$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\"\n", "users.yaml:3:", "only the argon2id variant"},
		{"argon2id huge memory", "users:\n  bob:\n    password: \"$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\"\n", "users.yaml:3:", "out of range"},
		{"missing password", "users:\n  bob:\n    groups: []\n", "users.yaml:2:", `user "bob" has no password`},
		{"unknown top key", "users: {}\ngroup: {}\n", "users.yaml:2:", `unknown key "group"`},
		{"unknown user key", "users:\n  bob:\n    password: \"" + h + "\"\n    pasword: x\n", "users.yaml:4:", `unknown key "pasword" in user "bob"`},
		{"unknown group key", "users: {}\ngroups:\n  g:\n    allow: [a]\n    alow: [b]\n", "users.yaml:5:", `unknown key "alow" in group "g"`},
		{"undefined group", "users:\n  bob:\n    password: \"" + h + "\"\n    groups:\n      - support\n      - sales\ngroups:\n  support: {}\n", "users.yaml:6:", `group "sales", which is not defined`},
		{"duplicate user", "users:\n  bob:\n    password: \"" + h + "\"\n  bob:\n    password: \"" + h + "\"\n", "users.yaml:4:", `duplicate key "bob" (first at line 2)`},
		{"duplicate group key", "users: {}\ngroups:\n  g:\n    allow: [a]\n    allow: [b]\n", "users.yaml:5:", `duplicate key "allow"`},
		{"duplicate top key", "users: {}\nusers: {}\n", "users.yaml:2:", `duplicate key "users"`},
		{"bad grant", "users: {}\ngroups:\n  g:\n    allow:\n      - monPublic\n      - mon-Public/getMem\n", "users.yaml:6:", `invalid grant "mon-Public/getMem"`},
		{"grant with two slashes", "users: {}\ngroups:\n  g:\n    write: [\"a/b/c\"]\n", "users.yaml:4:", `invalid grant "a/b/c"`},
		{"reserved grant", "users: {}\ngroups:\n  g:\n    deny: [meta]\n", "users.yaml:4:", `"meta" is a reserved group`},
		{"empty method", "users: {}\ngroups:\n  g:\n    allow: [\"a/\"]\n", "users.yaml:4:", `invalid grant "a/"`},
		{"grant not a list", "users: {}\ngroups:\n  g:\n    allow: monPublic\n", "users.yaml:4:", "must be a list"},
		{"bad group name", "users: {}\ngroups:\n  my-group: {}\n", "users.yaml:3:", `invalid group name "my-group"`},
		{"bad username", "users:\n  \"bob smith\":\n    password: \"" + h + "\"\n", "users.yaml:2:", `invalid username "bob smith"`},
		{"users not a mapping", "users: [bob]\n", "users.yaml:1:", "users must be a mapping"},
		{"syntax error", "users:\n  bob:\n    password: \"x\n", "users.yaml:3:", "invalid YAML"},
		{"empty file", "", "users.yaml:", "the users file is empty"},
		{"null document", "---\n", "users.yaml:", "the users file is empty"},
		{"bcrypt cost too high", "users:\n  bob:\n    password: \"" + strings.Replace(h, "$04$", "$17$", 1) + "\"\n", "users.yaml:3:", "bcrypt cost 17 is above 16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseUsers([]byte(c.src), "users.yaml")
			if err == nil {
				t.Fatalf("accepted:\n%s", c.src)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, c.line) || !strings.Contains(msg, c.want) {
				t.Fatalf("error %q\nwant prefix %q containing %q", msg, c.line, c.want)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	src := "users:\n  a:\n    password: one\n  b:\n    password: two\n"
	_, err := ParseUsers([]byte(src), "u.yaml")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"u.yaml:3:", "u.yaml:5:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestExampleUsersFile(t *testing.T) {
	d, err := LoadUsers(filepath.Join("..", "..", "examples", "users.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Authenticate("kxSupport", "12345678") {
		t.Error("the demo user kxSupport/12345678 does not authenticate")
	}
	// The demo user reaches every demo method (qconnect call and methods
	// default to it).
	for _, m := range []string{"monPublic/getMem", "marketData/getQuotes", "marketData/listSyms"} {
		g, n, _ := strings.Cut(m, "/")
		if !d.Allowed("kxSupport", g, n) || !d.CanWrite("kxSupport", g, n) {
			t.Errorf("kxSupport may not call or publish %s", m)
		}
	}
	if got := strings.Join(d.UserGroups("kxSupport"), ","); got != "demo" {
		t.Errorf("kxSupport groups %q", got)
	}
	if got := strings.Join(d.Groups(), ","); got != "analysts,demo,support" {
		t.Errorf("groups %q", got)
	}
}

func TestEntitlements(t *testing.T) {
	h := testHash(t, "secret-pw")
	d := mustParse(t, `users:
  sup: {password: "`+h+`", groups: [support]}
  ops: {password: "`+h+`", groups: [everything, noQuotes]}
  pub: {password: "`+h+`", groups: [publisher]}
  none: {password: "`+h+`"}
groups:
  support:
    allow: ["monPublic", "marketData/getVwap"]
    deny: ["marketData/getQuotes", "monPublic/getSecret"]
    write: ["monPublic/pubMem"]
  everything:
    allow: ["*"]
  noQuotes:
    deny: ["marketData/getQuotes"]
  publisher:
    write: ["*"]
    deny: [secret]
`)
	cases := []struct {
		user, group, method string
		call, write         bool
	}{
		{"sup", "monPublic", "getMem", true, false},      // whole group
		{"sup", "monPublic", "pubMem", true, true},       // write grant
		{"sup", "monPublic", "getSecret", false, false},  // deny wins over the group allow
		{"sup", "marketData", "getVwap", true, false},    // one method
		{"sup", "marketData", "getTrades", false, false}, // not granted
		{"sup", "marketData", "getQuotes", false, false}, // denied
		{"ops", "anything", "atAll", true, false},        // "*"
		{"ops", "marketData", "getQuotes", false, false}, // deny from another group wins over "*"
		{"pub", "monPublic", "pubMem", false, true},      // write without call
		{"pub", "secret", "pub", false, false},           // deny wins over write
		{"none", "monPublic", "getMem", false, false},    // no groups
		{"ghost", "monPublic", "getMem", false, false},   // unknown user
		{"sup", "monPublicX", "getMem", false, false},    // group name is matched exactly
		{"sup", "marketData", "getVwapX", false, false},  // method name is matched exactly
	}
	for _, c := range cases {
		if got := d.Allowed(c.user, c.group, c.method); got != c.call {
			t.Errorf("Allowed(%s, %s/%s) = %v, want %v", c.user, c.group, c.method, got, c.call)
		}
		if got := d.CanWrite(c.user, c.group, c.method); got != c.write {
			t.Errorf("CanWrite(%s, %s/%s) = %v, want %v", c.user, c.group, c.method, got, c.write)
		}
	}
	if got := strings.Join(d.Users(), ","); got != "none,ops,pub,sup" {
		t.Errorf("Users() = %s", got)
	}
	if !d.HasUser("ops") || d.HasUser("ghost") {
		t.Error("HasUser is wrong")
	}
}

func TestAuthenticate(t *testing.T) {
	d := mustParse(t, `users:
  alice: {password: "`+testHash(t, "alice-pw-1")+`"}
  php: {password: "`+phpBcrypt+`"}
  argon: {password: "`+refArgon2id+`"}
`)
	cases := []struct {
		user, pw string
		want     bool
	}{
		{"alice", "alice-pw-1", true},
		{"alice", "alice-pw-2", false},
		{"alice", "", false},
		{"Alice", "alice-pw-1", false}, // usernames are case-sensitive
		{"php", "rasmuslerdorf", true},
		{"php", "rasmuslerdorF", false},
		{"argon", "password", true},
		{"argon", "passwore", false},
		{"nobody", "alice-pw-1", false},
		{"nobody", "", false},
	}
	for _, c := range cases {
		if got := d.Authenticate(c.user, c.pw); got != c.want {
			t.Errorf("Authenticate(%q, %q) = %v, want %v", c.user, c.pw, got, c.want)
		}
	}
}

// bcrypt looks at 72 bytes only; a longer password sharing them must not pass.
func TestAuthenticateRefusesBcryptTruncation(t *testing.T) {
	pw := strings.Repeat("p", MaxPasswordLength)
	d := mustParse(t, "users:\n  long: {password: \""+testHash(t, pw)+"\"}\n")
	if !d.Authenticate("long", pw) {
		t.Fatal("the 72-byte password does not authenticate")
	}
	if d.Authenticate("long", pw+"extra") {
		t.Error("a longer password with the same 72-byte prefix authenticated")
	}
}

func TestUnknownUserDummyMatchesWorkFactor(t *testing.T) {
	d := mustParse(t, `users:
  a: {password: "`+testHash(t, "aaaaaaaa")+`"}
  b: {password: "`+testHash(t, "bbbbbbbb")+`"}
  php: {password: "`+phpBcrypt+`"}
`)
	d.Authenticate("nobody", "x")
	cost, err := bcrypt.Cost([]byte(d.dummy))
	if err != nil {
		t.Fatalf("dummy hash %q: %v", d.dummy, err)
	}
	if cost != bcrypt.MinCost {
		t.Errorf("dummy cost %d, want the cost most users have (%d)", cost, bcrypt.MinCost)
	}
	empty := mustParse(t, "users: {}\n")
	empty.Authenticate("nobody", "x")
	if c, _ := bcrypt.Cost([]byte(empty.dummy)); c != DefaultCost {
		t.Errorf("dummy cost for an empty directory %d, want %d", c, DefaultCost)
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse", bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := bcrypt.Cost([]byte(h)); c != bcrypt.MinCost {
		t.Errorf("cost %d", c)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("correct horse")) != nil {
		t.Error("hash does not verify")
	}
	for _, bad := range []string{"", "short", strings.Repeat("x", 73)} {
		if _, err := HashPassword(bad, bcrypt.MinCost); err == nil {
			t.Errorf("HashPassword accepted a %d-byte password", len(bad))
		}
	}
	for _, cost := range []int{3, MaxCost + 1} {
		if _, err := HashPassword("correct horse", cost); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("cost %d: %v", cost, err)
		}
	}
}

func TestUserDBReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("users:\n  a: {password: \"" + testHash(t, "aaaaaaaa") + "\"}\n")
	db, err := NewUserDB(path)
	if err != nil {
		t.Fatal(err)
	}
	first := db.Current()
	if !first.HasUser("a") {
		t.Fatal("user a missing")
	}
	write("users:\n  a: {password: \"" + testHash(t, "aaaaaaaa") + "\"}\n  b: {password: plain}\n")
	err = db.Reload()
	if err == nil || !strings.Contains(err.Error(), path+":3:") {
		t.Fatalf("Reload of a bad file: %v, want an error naming %s:3", err, path)
	}
	if db.Current() != first {
		t.Error("a failed reload replaced the directory")
	}
	write("users:\n  b: {password: \"" + testHash(t, "bbbbbbbb") + "\"}\n")
	if err := db.Reload(); err != nil {
		t.Fatal(err)
	}
	if d := db.Current(); d.HasUser("a") || !d.Authenticate("b", "bbbbbbbb") {
		t.Error("reload did not take the new file")
	}
	if !first.HasUser("a") {
		t.Error("the old directory changed")
	}

	static := NewStaticUserDB(first)
	if static.Reload() == nil || static.Current() != first {
		t.Error("static UserDB: Reload should fail and keep the directory")
	}
	if _, err := NewUserDB(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("NewUserDB of a missing file succeeded")
	}
}

// BenchmarkAuthenticate compares a wrong password for a known user with any
// password for an unknown one at the default cost: the two should take about
// the same time (PROTOCOL 2).
func BenchmarkAuthenticate(b *testing.B) {
	h, err := HashPassword("right-password", DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	d, err := ParseUsers([]byte("users:\n  alice: {password: \""+h+"\"}\n"), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	d.Authenticate("warm-up", "x") // make the dummy hash outside the timing
	b.Run("known-user-wrong-password", func(b *testing.B) {
		for b.Loop() {
			d.Authenticate("alice", "wrong-password")
		}
	})
	b.Run("unknown-user", func(b *testing.B) {
		for b.Loop() {
			d.Authenticate("mallory", "wrong-password")
		}
	})
}
