package auth

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxUsersFileSize bounds the users file LoadUsers reads.
const MaxUsersFileSize = 16 << 20

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_.@+-]{1,64}$`)

// ValidUsername reports whether s may be a username: 1 to 64 characters of
// letters, digits and _ . @ + - (printable, no spaces and no ':', so that it
// travels unchanged in the Authorization value of PROTOCOL 3.1).
func ValidUsername(s string) bool { return usernameRE.MatchString(s) }

// Directory is an immutable, parsed users file: users with their password
// hashes and groups, and what each group grants. It is safe for concurrent
// use.
type Directory struct {
	users  map[string]*userEntry
	names  []string // sorted
	groups []string // sorted

	// The hash checked for unknown users, made on first use with the work
	// factor most users have, so that an unknown name costs the same time.
	dummyKind hashKind
	dummyOnce sync.Once
	dummy     string

	verified atomic.Int64 // password hashes checked by Authenticate
}

type userEntry struct {
	hash   string
	groups []string
	allow  grantSet // union of the groups' allow
	deny   grantSet
	write  grantSet
}

// grantSet is a union of grant patterns.
type grantSet struct {
	all     bool
	groups  map[string]bool // "monPublic"
	methods map[string]bool // "monPublic/getMem"
}

func (g *grantSet) add(pattern string) {
	switch grp, _, isMethod := strings.Cut(pattern, "/"); {
	case pattern == "*":
		g.all = true
	case isMethod:
		if g.methods == nil {
			g.methods = map[string]bool{}
		}
		g.methods[pattern] = true
	default:
		if g.groups == nil {
			g.groups = map[string]bool{}
		}
		g.groups[grp] = true
	}
}

func (g *grantSet) match(group, method string) bool {
	return g.all || g.groups[group] || g.methods[group+"/"+method]
}

// LoadUsers reads and parses the users file at path (see ParseUsers). Errors
// name the file and line.
func LoadUsers(path string) (*Directory, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	return ParseUsers(data, path)
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the users file: %w; check --users (or QCONNECT_USERS), or create it with `qconnect users add --users %s NAME`", err, path)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxUsersFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the users file %s: %w", path, err)
	}
	if len(data) > MaxUsersFileSize {
		return nil, fmt.Errorf("%s: the users file is larger than %d MiB; is --users pointing at the right file?", path, MaxUsersFileSize>>20)
	}
	return data, nil
}

// ParseUsers parses a users file (format in the package doc). filename is
// used in error messages only. Every problem is reported as "file:line:
// what is wrong; what to do": plaintext or unrecognised password hashes,
// unknown or duplicate keys, invalid user or group names, users in
// undefined groups and invalid grant patterns. All problems found are
// returned together (errors.Join), at most 20.
func ParseUsers(data []byte, filename string) (*Directory, error) {
	f, err := parseFile(data, filename)
	if err != nil {
		return nil, err
	}
	return f.directory(), nil
}

func (f *usersFile) directory() *Directory {
	d := &Directory{users: make(map[string]*userEntry, len(f.users))}
	kinds := map[hashKind]int{}
	for _, u := range f.users {
		e := &userEntry{hash: u.hash, groups: u.groups}
		for _, g := range u.groups {
			def := f.groups[g]
			for _, p := range def.allow {
				e.allow.add(p)
			}
			for _, p := range def.deny {
				e.deny.add(p)
			}
			for _, p := range def.write {
				e.write.add(p)
			}
		}
		d.users[u.name] = e
		d.names = append(d.names, u.name)
		kinds[u.kind]++
	}
	for g := range f.groups {
		d.groups = append(d.groups, g)
	}
	slices.Sort(d.names)
	slices.Sort(d.groups)
	d.dummyKind = hashKind{alg: "bcrypt", cost: DefaultCost}
	best := 0
	for k, n := range kinds {
		if n > best || (n == best && kindLess(k, d.dummyKind)) {
			d.dummyKind, best = k, n
		}
	}
	return d
}

// kindLess orders hash kinds so the dummy choice does not depend on map order.
func kindLess(a, b hashKind) bool {
	return fmt.Sprint(a) < fmt.Sprint(b)
}

// Authenticate reports whether password is the password of username. An
// unknown username is checked against a dummy hash of the same work factor
// as most users', so that it takes about the same time as a wrong password.
func (d *Directory) Authenticate(username, password string) bool {
	d.verified.Add(1)
	u, ok := d.users[username]
	if !ok {
		d.dummyOnce.Do(func() { d.dummy = dummyHash(d.dummyKind) })
		verifyHash(d.dummy, password)
		return false
	}
	return verifyHash(u.hash, password)
}

// Verifications is the number of password checks (each one a hash
// computation) Authenticate has made on this Directory: the real work a
// login flood costs, for tests and metrics.
func (d *Directory) Verifications() int64 { return d.verified.Load() }

// CredentialsChanged returns, sorted, the users of d who are missing from
// next or whose password hash differs there: the users whose sessions must
// end when next replaces d (a `users passwd` or `users remove` followed by
// a reload). A change of groups alone is not in the list; entitlements are
// checked against the current Directory on every call.
func (d *Directory) CredentialsChanged(next *Directory) []string {
	var out []string
	for _, name := range d.names {
		if n, ok := next.users[name]; !ok || n.hash != d.users[name].hash {
			out = append(out, name)
		}
	}
	return out
}

// HasUser reports whether username is in the directory.
func (d *Directory) HasUser(username string) bool {
	_, ok := d.users[username]
	return ok
}

// Allowed reports whether username may call group/method: some of the
// user's groups allow it and none denies it. Unknown users may call nothing.
func (d *Directory) Allowed(username, group, method string) bool {
	u, ok := d.users[username]
	return ok && u.allow.match(group, method) && !u.deny.match(group, method)
}

// CanWrite reports whether username may publish to group/method: some of
// the user's groups grant it in write and none denies it.
func (d *Directory) CanWrite(username, group, method string) bool {
	u, ok := d.users[username]
	return ok && u.write.match(group, method) && !u.deny.match(group, method)
}

// Users returns the usernames, sorted.
func (d *Directory) Users() []string { return slices.Clone(d.names) }

// Groups returns the names of the groups the file defines, sorted.
func (d *Directory) Groups() []string { return slices.Clone(d.groups) }

// UserGroups returns the groups of username in file order, nil for an
// unknown user.
func (d *Directory) UserGroups(username string) []string {
	if u, ok := d.users[username]; ok {
		return slices.Clone(u.groups)
	}
	return nil
}
