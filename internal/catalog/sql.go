package catalog

// ref is one $name reference in SQL text.
type ref struct {
	name   string
	offset int // byte offset of the $
}

// sqlRefs returns the $name references of a DuckDB query, in order, skipping
// string literals ('...'), quoted identifiers ("..."), dollar-quoted strings
// ($$...$$), line comments (--) and block comments (/* */). Positional
// parameters ($1) are not references.
func sqlRefs(q string) []ref {
	var out []ref
	skipTo := func(i int, end string) int {
		for j := i; j+len(end) <= len(q); j++ {
			if q[j:j+len(end)] == end {
				return j + len(end)
			}
		}
		return len(q)
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			// A doubled quote inside ('it''s') ends one literal and starts
			// the next, which skips it correctly.
			i = skipTo(i+1, string(c))
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			i = skipTo(i+2, "\n")
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = skipTo(i+2, "*/")
		case c == '$' && i+1 < len(q) && q[i+1] == '$':
			i = skipTo(i+2, "$$")
		case c == '$' && i+1 < len(q) && isIdentStart(q[i+1]):
			j := i + 2
			for j < len(q) && (isIdentStart(q[j]) || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			out = append(out, ref{name: q[i+1 : j], offset: i})
			i = j
		default:
			i++
		}
	}
	return out
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
