package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// newUsersFile is the content of a users file AddUser creates.
const newUsersFile = `# qconnect users file. Passwords are stored as bcrypt hashes only:
# manage it with ` + "`qconnect users add|passwd|remove --users FILE`" + `.
# A group grants methods in allow (call), write (publish) and deny (wins over
# both); each entry is "*", a method group ("monPublic") or one method
# ("monPublic/getMem").
users: {}
groups: {}
`

// UndefinedGroup returns an error naming the first of groups that is not
// among the groups defined in the users file at path, or nil.
func UndefinedGroup(path string, defined, groups []string) error {
	for _, g := range groups {
		if !slices.Contains(defined, g) {
			have := "none are defined yet"
			if len(defined) > 0 {
				have = "defined: " + strings.Join(defined, ", ")
			}
			return fmt.Errorf("group %q is not defined in %s (%s); define it under groups: first or fix the name", g, path, have)
		}
	}
	return nil
}

// AddUser adds username with a bcrypt hash of password (cost 0 means
// DefaultCost) and the given groups to the users file at path, creating the
// file if it is missing. It fails if the user exists or a group is not
// defined in the file. Comments and order are kept; the file is replaced
// atomically with mode 0600.
func AddUser(path, username, password string, groups []string, cost int) error {
	if !ValidUsername(username) {
		return fmt.Errorf("invalid username %q: use 1 to 64 letters, digits or _ . @ + -", username)
	}
	return editFile(path, true, func(doc *editDoc) error {
		users, err := doc.section("users")
		if err != nil {
			return err
		}
		if _, v := findKey(users, username); v != nil {
			return fmt.Errorf("user %q already exists in %s; change the password with `qconnect users passwd --users %s %s`", username, path, path, username)
		}
		if err := UndefinedGroup(path, doc.keys("groups"), groups); err != nil {
			return err
		}
		hash, err := HashPassword(password, cost)
		if err != nil {
			return err
		}
		u := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		u.Content = append(u.Content, strNode("password"), hashNode(hash))
		if len(groups) > 0 {
			seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
			for _, g := range groups {
				seq.Content = append(seq.Content, strNode(g))
			}
			u.Content = append(u.Content, strNode("groups"), seq)
		}
		users.Content = append(users.Content, strNode(username), u)
		return nil
	})
}

// SetPassword replaces the password hash of username in the users file at
// path with a bcrypt hash of password (cost 0 means DefaultCost). It works
// on a file whose only problem is that user's password (a plaintext one, for
// instance), which is how such a file is repaired.
func SetPassword(path, username, password string, cost int) error {
	return editFile(path, false, func(doc *editDoc) error {
		users, err := doc.section("users")
		if err != nil {
			return err
		}
		_, u := findKey(users, username)
		if u == nil {
			return fmt.Errorf("there is no user %q in %s; add it with `qconnect users add --users %s %s`", username, path, path, username)
		}
		hash, err := HashPassword(password, cost)
		if err != nil {
			return err
		}
		if isNull(u) {
			*u = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: u.HeadComment, LineComment: u.LineComment, FootComment: u.FootComment}
		}
		if u.Kind != yaml.MappingNode {
			return fmt.Errorf("%s:%d: user %q must be a mapping with password: and groups:; fix it by hand", path, u.Line, username)
		}
		if _, pw := findKey(u, "password"); pw != nil {
			pw.Kind, pw.Tag, pw.Style, pw.Value, pw.Content, pw.Alias = yaml.ScalarNode, "!!str", yaml.DoubleQuotedStyle, hash, nil, nil
			return nil
		}
		u.Content = append([]*yaml.Node{strNode("password"), hashNode(hash)}, u.Content...)
		return nil
	})
}

// RemoveUser removes username and its comments from the users file at path.
func RemoveUser(path, username string) error {
	return editFile(path, false, func(doc *editDoc) error {
		users, err := doc.section("users")
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(users.Content); i += 2 {
			if users.Content[i].Value == username {
				users.Content = slices.Delete(users.Content, i, i+2)
				return nil
			}
		}
		return fmt.Errorf("there is no user %q in %s; `qconnect users list --users %s` shows who there is", username, path, path)
	})
}

// editDoc is a users file being edited as a YAML node tree.
type editDoc struct {
	path string
	root *yaml.Node // the top-level mapping
}

// section returns the mapping under key in the root, creating it (or turning
// a null or empty flow mapping into a block one) as needed.
func (d *editDoc) section(key string) (*yaml.Node, error) {
	_, v := findKey(d.root, key)
	switch {
	case v == nil:
		v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		d.root.Content = append(d.root.Content, strNode(key), v)
	case isNull(v):
		*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", LineComment: v.LineComment}
	case v.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("%s:%d: %s: must be a mapping of name: value; fix it by hand", d.path, v.Line, key)
	case len(v.Content) == 0:
		v.Style = 0 // "users: {}" grows as a block mapping
	}
	return v, nil
}

// keys lists the keys of the mapping under key in the root.
func (d *editDoc) keys(key string) []string {
	_, v := findKey(d.root, key)
	if v == nil || v.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(v.Content); i += 2 {
		out = append(out, v.Content[i].Value)
	}
	return out
}

// findKey returns the key and value nodes of key in mapping m.
func findKey(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func hashNode(h string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: h, Style: yaml.DoubleQuotedStyle}
}

// editFile reads the users file at path (a missing or blank one is a new
// file when create is set), applies edit to its node tree and replaces the
// file atomically. A file that was valid before must be valid after; a file
// that already had problems is still written (that is how passwd repairs
// it) and the remaining problems are returned.
func editFile(path string, create bool, edit func(*editDoc) error) error {
	if path == "" {
		return errors.New("no users file given; pass --users FILE or set QCONNECT_USERS")
	}
	target := path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		target = real // edit the file a symlink points at, keep the link
	}
	orig, err := readBounded(target)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		orig = nil
	case err != nil:
		return err
	}
	src := orig
	if len(bytes.TrimSpace(src)) == 0 {
		if !create {
			return fmt.Errorf("%s is empty; add a user first with `qconnect users add --users %s NAME`", path, path)
		}
		src = []byte(newUsersFile)
	}
	_, validBefore := ParseUsers(src, path)
	node, err := decodeYAML(src, path)
	if err != nil {
		return fmt.Errorf("%w; fix the YAML by hand, then run the command again", err)
	}
	if node.Kind != yaml.DocumentNode || len(node.Content) == 0 || node.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: the users file must be a mapping with users: and groups:; fix it by hand", path)
	}
	if err := edit(&editDoc{path: path, root: node.Content[0]}); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, validAfter := ParseUsers(buf.Bytes(), path)
	if validBefore == nil && validAfter != nil {
		return fmt.Errorf("refusing to write %s: the edit would make it invalid (a bug, please report it): %w", path, validAfter)
	}
	if err := writeAtomic(target, orig, buf.Bytes()); err != nil {
		return err
	}
	if validAfter != nil {
		return fmt.Errorf("%s was updated but still has problems the gateway will refuse; fix them:\n%w", path, validAfter)
	}
	return nil
}

// writeAtomic replaces path with data through a temporary file in the same
// directory and a rename, so that a reader sees the old or the new file,
// never a part. The file gets mode 0600. If path no longer holds orig (nil:
// did not exist) the write is refused, so that two concurrent edits do not
// silently lose one.
func writeAtomic(path string, orig, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w; check that its directory is writable", path, err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	now, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		now, err = nil, nil
	}
	if err != nil || !bytes.Equal(now, orig) || (orig == nil) != (now == nil) {
		return fmt.Errorf("%s changed while it was being edited; run the command again", path)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}
