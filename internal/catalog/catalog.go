// Package catalog loads and validates the catalog file (docs/ARCHITECTURE.md,
// "Catalog file") into the domain's methods. Every problem of a file is
// reported at once, one line each, as "file:line: what is wrong; how to fix".
//
// Precedence of method settings: the method's own timeout, rowCap and
// backend, then the file's defaults: block, then the Defaults passed in by
// the caller (server flags and configuration).
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/qconnect/qconnect"
)

// MaxFileSize bounds the size of a catalog file read by Load.
const MaxFileSize = 8 << 20

// maxProblems bounds the lines of one Error; further problems are counted.
const maxProblems = 100

// DefaultBackend is the backend of a method when neither the method, the
// file's defaults nor Defaults name one.
const DefaultBackend = qconnect.DefaultBackend

// Defaults supply what neither a method nor the file's defaults: block set.
type Defaults struct {
	// Backend names the engine; "" means DefaultBackend.
	Backend string
	// Timeout bounds one call; zero leaves Method.Timeout zero, which means
	// the server's own default. Negative is an error.
	Timeout time.Duration
	// RowCap is the largest result; zero leaves Method.RowCap zero, which
	// means the server's own default. Negative is an error.
	RowCap int64
}

// Problem is one thing wrong with a catalog file.
type Problem struct {
	Pos     qconnect.Position
	Message string // what is wrong; how to fix it
}

func (p Problem) String() string { return p.Pos.String() + ": " + p.Message }

// Error lists every problem of a catalog file, sorted by line.
type Error struct {
	Problems []Problem // at most 100
	Omitted  int       // problems beyond those listed
}

// Error returns one line per problem.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n... and %d more problems; fix the ones above first", e.Omitted)
	}
	return b.String()
}

// Load reads the catalog file at path (at most MaxFileSize bytes) and
// parses it as Parse does; positions name path. A file that cannot be read
// or is too large is a plain error, not an *Error.
func Load(path string, def Defaults) (*qconnect.Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the catalog: %w; check the catalog path", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the catalog: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: the catalog is larger than %d MiB; split it or check that the path names the catalog", path, MaxFileSize>>20)
	}
	return Parse(data, path, def)
}

// Parse parses and validates a catalog; filename is used in positions and
// messages only. Methods come in declaration order, each with Pos set to
// the line of its name, typed Param.Default values (converted with
// qconnect.ConvertValue), Timeout, RowCap and Backend filled in from the
// file's defaults: block and def where the method sets none.
//
// A catalog with problems returns an *Error listing every one of them.
func Parse(data []byte, filename string, def Defaults) (*qconnect.Catalog, error) {
	if def.Timeout < 0 || def.RowCap < 0 {
		return nil, fmt.Errorf("catalog defaults: timeout (%v) and rowCap (%d) must not be negative", def.Timeout, def.RowCap)
	}
	l := &loader{file: filename, def: def}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.problemAt(1, "the catalog is empty; declare methods under groups: <group>: methods: (see docs/ARCHITECTURE.md)")
		} else {
			l.syntax(err, data)
		}
		return nil, l.err()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.problemAt(extra.Line, "a second YAML document starts here; the catalog is one document, remove the --- separator")
	} else if !errors.Is(err, io.EOF) {
		l.syntax(err, data)
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = deref(root.Content[0])
	}
	top, ok := l.fields(root, "the catalog", "defaults", "groups")
	if !ok {
		return nil, l.err()
	}
	if d, ok := top["defaults"]; ok {
		l.defaults(d.val)
	}
	var methods []*qconnect.Method
	var groups []qconnect.Group
	if g, ok := top["groups"]; ok {
		methods, groups = l.groups(g.val)
	} else {
		l.errorf(root, "the catalog has no groups: key; declare methods under groups: <group>: methods:")
	}
	if len(l.problems) > 0 {
		return nil, l.err()
	}
	cat, err := qconnect.NewCatalog(methods)
	if err != nil {
		return nil, err
	}
	cat.Groups = groups
	return cat, nil
}

// loader collects the problems of one file.
type loader struct {
	file     string
	def      Defaults
	problems []Problem
}

func (l *loader) pos(n *yaml.Node) qconnect.Position {
	return qconnect.Position{File: l.file, Line: n.Line}
}

func (l *loader) problemAt(line int, msg string) {
	l.problems = append(l.problems, Problem{Pos: qconnect.Position{File: l.file, Line: line}, Message: msg})
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	l.problemAt(n.Line, fmt.Sprintf(format, args...))
}

// err returns the collected problems, sorted by line, as an *Error.
func (l *loader) err() error {
	ps := l.problems
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Pos.Line < ps[j].Pos.Line })
	e := &Error{Problems: ps}
	if len(ps) > maxProblems {
		e.Problems, e.Omitted = ps[:maxProblems], len(ps)-maxProblems
	}
	return e
}

var (
	yamlLineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yamlParserErrors are the messages of yaml's parser (as opposed to its
// scanner). yaml reports them at the 0-based line of the construct that
// holds the problem, and with no line at all for line 0.
var yamlParserErrors = map[string]bool{
	"did not find expected <stream-start>": true, "did not find expected <document start>": true,
	"found undefined tag handle": true, "did not find expected node content": true,
	"did not find expected '-' indicator": true, "did not find expected key": true,
	"did not find expected ',' or ']'": true, "did not find expected ',' or '}'": true,
	"found duplicate %YAML directive": true, "found incompatible YAML document": true,
	"found duplicate %TAG directive": true,
}

// syntax reports a YAML syntax error at its 1-based line. yaml gives the
// line of scanner errors 1-based, except none for line 1; parser errors
// 0-based (see yamlParserErrors); unknown anchors without a line, which is
// found by searching for the alias.
func (l *loader) syntax(err error, data []byte) {
	msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	switch {
	case yamlParserErrors[msg]:
		line++
	case line == 0:
		line = 1
	}
	if m := yamlAnchorRE.FindStringSubmatch(err.Error()); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	hint := "check the indentation (spaces, not tabs) and quote values that contain ': ' or start with a special character"
	if src := strings.Split(string(data), "\n"); line <= len(src) && strings.Contains(src[line-1], "[]") &&
		strings.HasPrefix(msg, "did not find expected ',' or") {
		hint = `inside {...} or [...] quote list types, like type: "symbol[]"`
	}
	l.problemAt(line, "YAML syntax: "+msg+"; "+hint)
}

// defaults reads the file's defaults: block over l.def.
func (l *loader) defaults(n *yaml.Node) {
	f, ok := l.fields(n, "defaults", "backend", "timeout", "rowCap")
	if !ok {
		return
	}
	if e, ok := f["backend"]; ok {
		l.def.Backend = l.backend(e.val)
	}
	if e, ok := f["timeout"]; ok {
		l.def.Timeout = l.positiveDuration(e.val, "timeout")
	}
	if e, ok := f["rowCap"]; ok {
		l.def.RowCap = l.positiveInt(e.val, "rowCap", "use the default")
	}
}

func (l *loader) groups(n *yaml.Node) ([]*qconnect.Method, []qconnect.Group) {
	groups, ok := l.entries(n, "groups")
	if !ok {
		return nil, nil
	}
	var out []qconnect.Group
	if len(groups) == 0 {
		l.errorf(n, "groups is empty; declare at least one group with methods")
	}
	var methods []*qconnect.Method
	for _, g := range groups {
		name := g.key.Value
		switch {
		case !qconnect.ValidName(name):
			l.errorf(g.key, "group name %q is not valid; use letters, digits and _ (not starting with a digit), at most 64 characters", name)
		case qconnect.ReservedGroup(name):
			l.errorf(g.key, "group name %q is reserved by the protocol; choose another name", name)
		}
		f, ok := l.fields(g.val, "group "+name, "description", "methods")
		if !ok {
			continue
		}
		grp := qconnect.Group{Name: name}
		if e, ok := f["description"]; ok {
			grp.Description, _ = l.text(e.val, "description")
		}
		out = append(out, grp)
		ms, ok := f["methods"]
		if !ok {
			l.errorf(g.key, "group %s has no methods: key; declare its methods under methods:", name)
			continue
		}
		list, ok := l.entries(ms.val, "the methods of group "+name)
		if ok && len(list) == 0 {
			l.errorf(ms.key, "group %s declares no methods; add one or remove the group", name)
		}
		for _, m := range list {
			methods = append(methods, l.method(name, m.key, m.val))
		}
	}
	return methods, out
}
