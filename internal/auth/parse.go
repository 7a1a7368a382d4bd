package auth

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	qconnect "github.com/qconnect/qconnect"
	"go.yaml.in/yaml/v3"
)

// maxProblems bounds the problems one parse reports.
const maxProblems = 20

// FileError is one problem in a users file.
type FileError struct {
	File string
	Line int // 0 when the problem is not at one line
	Msg  string
}

func (e *FileError) Error() string {
	return qconnect.Position{File: e.File, Line: e.Line}.String() + ": " + e.Msg
}

// usersFile is the validated content of a users file.
type usersFile struct {
	users  []parsedUser // file order
	groups map[string]*groupDef
}

type parsedUser struct {
	name   string
	line   int
	hash   string
	kind   hashKind
	groups []string
}

type groupDef struct {
	line               int
	allow, deny, write []string
}

// parser collects the problems of one file.
type parser struct {
	file     string
	problems []*FileError
}

func (p *parser) errorf(line int, format string, args ...any) {
	if len(p.problems) < maxProblems {
		p.problems = append(p.problems, &FileError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeYAML parses data into a document node, turning YAML syntax errors
// into FileErrors.
func decodeYAML(data []byte, filename string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, &FileError{File: filename, Line: line, Msg: "invalid YAML: " + msg}
	}
	return &doc, nil
}

func parseFile(data []byte, filename string) (*usersFile, error) {
	doc, err := decodeYAML(data, filename)
	if err != nil {
		return nil, err
	}
	p := &parser{file: filename}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &FileError{File: filename, Msg: "the users file is empty; add a user with `qconnect users add --users " + filename + " NAME`"}
	}
	f := &usersFile{groups: map[string]*groupDef{}}
	root := deref(doc.Content[0])
	if isNull(root) {
		return nil, &FileError{File: filename, Line: root.Line, Msg: "the users file is empty; add a user with `qconnect users add --users " + filename + " NAME`"}
	}
	var usersNode *yaml.Node
	p.mapping(root, "the users file", func(key string, k, v *yaml.Node) {
		switch key {
		case "users":
			usersNode = v
		case "groups":
			p.mapping(v, "groups", func(name string, k, v *yaml.Node) {
				if !qconnect.ValidName(name) {
					p.errorf(k.Line, "invalid group name %q: use a letter or _ then up to 63 letters, digits or _", name)
					return
				}
				f.groups[name] = p.group(name, k.Line, v)
			})
		default:
			p.errorf(k.Line, "unknown key %q; a users file has only users: and groups:", key)
		}
	})
	if usersNode != nil {
		p.mapping(usersNode, "users", func(name string, k, v *yaml.Node) {
			if u, ok := p.user(name, k, v, f.groups); ok {
				f.users = append(f.users, u)
			}
		})
	}
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b *FileError) int { return a.Line - b.Line })
		errs := make([]error, len(p.problems))
		for i, e := range p.problems {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

func (p *parser) user(name string, k, v *yaml.Node, groups map[string]*groupDef) (parsedUser, bool) {
	u := parsedUser{name: name, line: k.Line}
	if !ValidUsername(name) {
		p.errorf(k.Line, "invalid username %q: use 1 to 64 letters, digits or _ . @ + -", name)
		return u, false
	}
	ok := true
	var pwNode *yaml.Node
	p.mapping(v, fmt.Sprintf("user %q", name), func(key string, k, v *yaml.Node) {
		switch key {
		case "password":
			pwNode = v
		case "groups":
			u.groups = p.strings(v, fmt.Sprintf("user %q: groups", name), func(line int, g string) bool {
				if _, ok := groups[g]; !ok {
					p.errorf(line, "user %q is in group %q, which is not defined; define it under groups: or fix the name", name, g)
					return false
				}
				return true
			})
		default:
			p.errorf(k.Line, "unknown key %q in user %q; a user has only password: and groups:", key, name)
			ok = false
		}
	})
	fix := fmt.Sprintf("set it with `qconnect users passwd --users %s %s`", p.file, name)
	switch {
	case pwNode == nil:
		p.errorf(k.Line, "user %q has no password; %s", name, fix)
		return u, false
	case pwNode.Kind != yaml.ScalarNode || pwNode.Tag == "!!null":
		p.errorf(pwNode.Line, "user %q: password must be a bcrypt or argon2id hash; %s", name, fix)
		return u, false
	}
	kind, err := parseHash(pwNode.Value)
	if err != nil {
		if errors.Is(err, errNotAHash) {
			p.errorf(pwNode.Line, "user %q: password must be a bcrypt or argon2id hash; %s", name, fix)
		} else {
			p.errorf(pwNode.Line, "user %q: %v; %s", name, err, fix)
		}
		return u, false
	}
	u.hash, u.kind = pwNode.Value, kind
	return u, ok
}

func (p *parser) group(name string, line int, v *yaml.Node) *groupDef {
	g := &groupDef{line: line}
	p.mapping(v, fmt.Sprintf("group %q", name), func(key string, k, v *yaml.Node) {
		list := func() []string {
			return p.strings(v, fmt.Sprintf("group %q: %s", name, key), func(line int, s string) bool {
				if err := checkGrant(s); err != nil {
					p.errorf(line, "group %q: %s: %v", name, key, err)
					return false
				}
				return true
			})
		}
		switch key {
		case "allow":
			g.allow = list()
		case "deny":
			g.deny = list()
		case "write":
			g.write = list()
		case "description":
			if v.Kind != yaml.ScalarNode {
				p.errorf(v.Line, "group %q: description must be a string", name)
			}
		default:
			p.errorf(k.Line, "unknown key %q in group %q; a group has allow:, deny:, write: and description:", key, name)
		}
	})
	return g
}

// checkGrant validates a grant pattern: "*", "group" or "group/method".
func checkGrant(s string) error {
	if s == "*" {
		return nil
	}
	g, m, isMethod := strings.Cut(s, "/")
	if qconnect.ValidName(g) && (!isMethod || qconnect.ValidName(m)) {
		if qconnect.ReservedGroup(g) {
			return fmt.Errorf("%q is a reserved group that every signed-in user may use; remove it", g)
		}
		return nil
	}
	return fmt.Errorf(`invalid grant %q: use "*", a method group like "monPublic" or one method like "monPublic/getMem"`, s)
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// mapping calls f for each key of a mapping node in order, reporting
// non-mappings, non-scalar keys and duplicate keys. A null value counts as
// an empty mapping.
func (p *parser) mapping(n *yaml.Node, what string, f func(key string, k, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, "%s must be a mapping of name: value", what)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k.Line, "%s: keys must be plain names", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k.Line, "%s: duplicate key %q (first at line %d); keep one", what, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		f(k.Value, k, v)
	}
}

// strings reads a sequence of strings, keeping the items check accepts. A
// null value is an empty list.
func (p *parser) strings(n *yaml.Node, what string, check func(line int, s string) bool) []string {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n.Line, "%s must be a list like [a, b]", what)
		return nil
	}
	var out []string
	for _, it := range n.Content {
		it = deref(it)
		if it.Kind != yaml.ScalarNode || isNull(it) {
			p.errorf(it.Line, "%s: each item must be a string", what)
			continue
		}
		if check(it.Line, it.Value) {
			out = append(out, it.Value)
		}
	}
	return out
}
