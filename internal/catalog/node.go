package catalog

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/qconnect/qconnect"
)

// entry is one key/value pair of a YAML mapping.
type entry struct{ key, val *yaml.Node }

// deref follows aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// kindName describes a node for messages: "a list", "a mapping", ...
func kindName(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty (null)"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return n.Value
		}
		return "a string"
	}
	return "empty"
}

// entries returns the pairs of a mapping in order. It reports a node that
// is not a mapping, keys that are not plain names, merge keys and
// duplicate keys (the later one is dropped).
func (l *loader) entries(n *yaml.Node, what string) ([]entry, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s must be a mapping (name: value lines), not %s", what, kindName(n))
		return nil, false
	}
	out := make([]entry, 0, len(n.Content)/2)
	first := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			l.errorf(k, "a key of %s is %s; keys must be plain names", what, kindName(k))
			continue
		case k.ShortTag() == "!!merge":
			l.errorf(k, "merge keys (<<) are not supported in %s; write the keys out", what)
			continue
		}
		if line, dup := first[k.Value]; dup {
			l.errorf(k, "%q appears twice in %s (first at line %d); remove or rename one", k.Value, what, line)
			continue
		}
		first[k.Value] = k.Line
		out = append(out, entry{k, v})
	}
	return out, true
}

// fields reads a mapping whose keys must be among allowed; an unknown key is
// reported with the closest allowed key.
func (l *loader) fields(n *yaml.Node, what string, allowed ...string) (map[string]entry, bool) {
	list, ok := l.entries(n, what)
	if !ok {
		return nil, false
	}
	out := make(map[string]entry, len(list))
	for _, e := range list {
		if !contains(allowed, e.key.Value) {
			hint := "the keys are " + strings.Join(allowed, ", ")
			if s := suggest(e.key.Value, allowed); s != "" {
				hint = "did you mean " + strconv.Quote(s) + "?"
			}
			l.errorf(e.key, "unknown key %q in %s; %s", e.key.Value, what, hint)
			continue
		}
		out[e.key.Value] = e
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// text reads a scalar as text; numbers and booleans are taken as written.
func (l *loader) text(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		l.errorf(n, "%s must be a string, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// name reads an identifier: a group, method, parameter, column or table name.
func (l *loader) name(n *yaml.Node, what string) (string, bool) {
	s, ok := l.text(n, what)
	if ok && !qconnect.ValidName(s) {
		l.errorf(n, "%s %q is not valid; use letters, digits and _ (not starting with a digit), at most 64 characters", what, s)
		return s, false
	}
	return s, ok
}

func (l *loader) backend(n *yaml.Node) string {
	s, _ := l.name(n, "backend")
	return s
}

func (l *loader) boolean(n *yaml.Node, what string) bool {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		l.errorf(n, "%s must be true or false, not %s", what, kindName(n))
		return false
	}
	return strings.EqualFold(n.Value, "true")
}

// duration reads a Go duration with a unit, like 30s.
func (l *loader) duration(n *yaml.Node, what string) (time.Duration, bool) {
	n = deref(n)
	d, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		l.errorf(n, "%s %s is not a duration; write it with a unit, like 30s, 500ms or 1h30m", what, shown(n))
		return 0, false
	}
	return d, true
}

func (l *loader) positiveDuration(n *yaml.Node, what string) time.Duration {
	d, ok := l.duration(n, what)
	if ok && d <= 0 {
		l.errorf(n, "%s must be positive; remove it to use the default", what)
		return 0
	}
	return d
}

// positiveInt reads a whole number > 0; without tells what leaving the
// key out means ("use the default").
func (l *loader) positiveInt(n *yaml.Node, what, without string) int64 {
	n = deref(n)
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		l.errorf(n, "%s must be a whole number, not %s", what, shown(n))
		return 0
	}
	if v <= 0 {
		l.errorf(n, "%s must be positive; remove it to %s", what, without)
		return 0
	}
	return v
}

// number reads a YAML number.
func (l *loader) number(n *yaml.Node, what string) (float64, bool) {
	n = deref(n)
	var f float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" || n.Decode(&f) != nil || math.IsNaN(f) {
		l.errorf(n, "%s must be a number, not %s", what, shown(n))
		return 0, false
	}
	return f, true
}

// shown is a scalar's text, quoted and shortened, or its kind.
func shown(n *yaml.Node) string {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return kindName(n)
	}
	s := n.Value
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}

// maxDefaultSize bounds the JSON of one default, which also stops aliases
// that expand exponentially.
const maxDefaultSize = 1 << 20

// toJSON converts a YAML value to the JSON a caller would send for it.
// Strings, timestamps and other tagged scalars become JSON strings. budget
// is the number of bytes still allowed.
func toJSON(n *yaml.Node, depth int, budget *int) (json.RawMessage, string) {
	n = deref(n)
	if depth > 32 {
		return nil, "nests too deeply"
	}
	if *budget -= len(n.Value) + 2; *budget < 0 {
		return nil, "is larger than 1 MiB"
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := []byte{'['}
		for i, c := range n.Content {
			if i > 0 {
				out = append(out, ',')
			}
			v, prob := toJSON(c, depth+1, budget)
			if prob != "" {
				return nil, prob
			}
			out = append(out, v...)
		}
		return append(out, ']'), ""
	case yaml.MappingNode:
		out := []byte{'{'}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k.Kind != yaml.ScalarNode || seen[k.Value] {
				return nil, "has a key that is not a plain name or appears twice"
			}
			seen[k.Value] = true
			if i > 0 {
				out = append(out, ',')
			}
			kb, _ := json.Marshal(k.Value)
			out = append(append(out, kb...), ':')
			v, prob := toJSON(n.Content[i+1], depth+1, budget)
			if prob != "" {
				return nil, prob
			}
			out = append(out, v...)
		}
		return append(out, '}'), ""
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return json.RawMessage("null"), ""
		case "!!bool":
			return json.RawMessage(strconv.FormatBool(strings.EqualFold(n.Value, "true"))), ""
		case "!!int":
			var i int64
			if n.Decode(&i) != nil {
				return nil, "is an integer out of range"
			}
			return json.RawMessage(strconv.FormatInt(i, 10)), ""
		case "!!float":
			var f float64
			if n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, "is a number JSON cannot represent"
			}
			return json.RawMessage(strconv.FormatFloat(f, 'g', -1, 64)), ""
		}
		b, _ := json.Marshal(n.Value)
		return b, ""
	}
	return nil, "is empty"
}

// suggest returns the candidate closest to s if it is close enough to be a
// likely typo (case differences, or an edit distance of at most 2; 1 for
// candidates of up to 4 letters).
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if strings.EqualFold(s, c) {
			return c
		}
		limit := 2 // edits allowed: 1 for words of up to 4 letters
		if len(c) <= 4 {
			limit = 1
		}
		if d := distance(strings.ToLower(s), strings.ToLower(c)); d <= limit && d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
