package catalog

import (
	"regexp"

	"github.com/qconnect/qconnect"
)

// qNameRE is a q function name: an optionally dotted, namespaced name
// (.monPublic.getMem, getMem, .u.upd).
var qNameRE = regexp.MustCompile(`^\.?[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)

// function reads a kdb+ method's function: the q function the gateway
// calls with one dictionary of the typed parameters (engine/kdb). It is
// kept in Method.Query, the method's backend binding.
func (l *loader) function(e entry, m *qconnect.Method, hasQuery, streamOrPublish bool) {
	full := m.FullName()
	switch {
	case hasQuery:
		l.errorf(e.key, "method %s has both query and function; a DuckDB method has a query, a kdb+ method a function: keep one", full)
		return
	case m.Backend == DefaultBackend:
		l.errorf(e.key, "method %s names a q function but its backend is %s; add backend: <the name of a kdb connection of the settings file>", full, DefaultBackend)
		return
	case streamOrPublish:
		l.errorf(e.key, "method %s streams or publishes, which reads or writes its table (a tickerplant's for a kdb+ backend); remove function", full)
		return
	}
	s, ok := l.text(e.val, "function")
	if !ok {
		return
	}
	if !qNameRE.MatchString(s) {
		l.errorf(e.val, "function %q of %s is not a q function name; write a name like .monPublic.getMem (no q code: parameters are passed as one dictionary)", s, full)
		return
	}
	m.Query = s
}
