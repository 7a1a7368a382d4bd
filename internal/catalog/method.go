package catalog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/qconnect/qconnect"
)

var methodKeys = []string{"description", "params", "columns", "query", "function", "backend", "timeout", "rowCap", "streaming", "publish"}

// method reads one method declaration; key is its name node.
func (l *loader) method(group string, key, n *yaml.Node) *qconnect.Method {
	m := &qconnect.Method{Group: group, Name: key.Value, Pos: l.pos(key),
		Backend: l.def.Backend, Timeout: l.def.Timeout, RowCap: l.def.RowCap}
	if m.Backend == "" {
		m.Backend = DefaultBackend
	}
	if !qconnect.ValidName(m.Name) {
		l.errorf(key, "method name %q is not valid; use letters, digits and _ (not starting with a digit), at most 64 characters", m.Name)
	}
	full := m.FullName()
	f, ok := l.fields(n, "method "+full, methodKeys...)
	if !ok {
		return m
	}
	if e, ok := f["description"]; ok {
		m.Description, _ = l.text(e.val, "description")
	}
	if e, ok := f["backend"]; ok {
		m.Backend = l.backend(e.val)
	}
	if e, ok := f["timeout"]; ok {
		m.Timeout = l.positiveDuration(e.val, "timeout")
	}
	if e, ok := f["rowCap"]; ok {
		m.RowCap = l.positiveInt(e.val, "rowCap", "use the default")
	}
	stream, hasStream := f["streaming"]
	publish, hasPublish := f["publish"]
	var paramLines map[string]int
	if e, ok := f["params"]; ok {
		m.Params, paramLines = l.params(e.val, full)
	}
	if e, ok := f["columns"]; ok {
		m.Columns = l.columns(e.val, full)
	} else {
		l.errorf(key, "method %s declares no columns; list its result columns under columns: (name and type each)", full)
	}
	query, hasQuery := f["query"]
	fn, hasFunction := f["function"]
	if hasFunction {
		l.function(fn, m, hasQuery, hasStream || hasPublish)
	}
	switch {
	case hasStream && hasPublish:
		l.errorf(publish.key, "method %s declares both streaming and publish; a method either streams or publishes, split it in two", full)
	case hasStream:
		m.Streaming = true
		m.Stream = l.streaming(stream.val, m)
	case hasPublish:
		m.Publish = true
		m.Stream = l.publish(publish.val, m)
		if e, ok := f["params"]; ok {
			l.errorf(e.key, "publish method %s takes rows shaped by its columns, not parameters; remove params", full)
		}
	}
	switch {
	case hasQuery && (hasStream || hasPublish):
		l.errorf(query.key, "method %s is a streaming or publish method, which has no query; remove query (a streaming method may have streaming.snapshot)", full)
	case hasQuery:
		if q, ok := l.text(query.val, "query"); ok {
			m.Query = q
			l.checkRefs(query.val, m, "query", paramLines)
		}
	case !hasStream && !hasPublish && !hasFunction:
		l.errorf(key, "method %s has no query; add the SQL that produces its columns, with parameters as $name", full)
	}
	return m
}

var paramKeys = []string{"name", "type", "required", "default", "defaultDoc", "description", "enum", "min", "max", "maxLen", "secret"}

// params reads a parameter list; lines has the line of each name.
func (l *loader) params(n *yaml.Node, full string) (_ []qconnect.Param, lines map[string]int) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "params of %s must be a list (- name: ... lines), not %s", full, kindName(n))
		return nil, nil
	}
	var out []qconnect.Param
	first := map[string]int{}
	for _, pn := range n.Content {
		p, nameNode, ok := l.param(pn, full)
		if !ok {
			continue
		}
		if line, dup := first[p.Name]; dup {
			l.errorf(nameNode, "parameter %s is declared twice in %s (first at line %d); remove or rename one", p.Name, full, line)
			continue
		}
		first[p.Name] = nameNode.Line
		out = append(out, p)
	}
	return out, first
}

// param reads one parameter. ok is false when the entry has no usable name.
func (l *loader) param(n *yaml.Node, full string) (p qconnect.Param, nameNode *yaml.Node, ok bool) {
	f, ok := l.fields(n, "a parameter of "+full, paramKeys...)
	if !ok {
		return p, nil, false
	}
	ne, ok := f["name"]
	if !ok {
		l.errorf(n, "a parameter of %s has no name; add name:", full)
		return p, nil, false
	}
	nameNode = ne.val
	if p.Name, ok = l.name(ne.val, "parameter name"); !ok {
		return p, nil, false
	}
	if p.Name == "now" {
		l.errorf(ne.val, "parameter name \"now\" is reserved: the engine binds $now to the call's clock; rename the parameter")
	}
	what := "parameter " + p.Name
	te, hasType := f["type"]
	if !hasType {
		l.errorf(ne.val, "%s has no type; add type: (one of %s, with [] for a list)", what, strings.Join(paramTypeNames, ", "))
	} else if s, ok := l.text(te.val, what+": type"); ok {
		p.Type, p.List, hasType = l.paramType(te.val, s, what)
	}
	if e, ok := f["description"]; ok {
		p.Description, _ = l.text(e.val, what+": description")
	}
	if e, ok := f["required"]; ok {
		p.Required = l.boolean(e.val, what+": required")
	}
	if e, ok := f["secret"]; ok {
		p.Secret = l.boolean(e.val, what+": secret")
	}
	if e, ok := f["defaultDoc"]; ok {
		p.DefaultDoc, _ = l.text(e.val, what+": defaultDoc")
		if p.Required {
			l.errorf(e.key, "%s is required, so it has no default; remove defaultDoc or required", what)
		}
	}
	l.constraints(f, &p, hasType)
	if e, ok := f["default"]; ok && deref(e.val).ShortTag() != "!!null" {
		switch {
		case p.Required:
			l.errorf(e.key, "%s is both required and has a default; remove one of them", what)
		case hasType:
			l.defaultValue(e.val, &p)
		}
	}
	return p, nameNode, true
}

var paramTypeNames = []string{"boolean", "long", "float", "string", "symbol", "timestamp", "date", "timespan", "dict"}

// columnOnly maps column types to the parameter type to use instead.
var columnOnly = map[string]string{"int": "long", "short": "long", "real": "float", "char": "string", "time": "timespan", "guid": "string"}

func (l *loader) paramType(n *yaml.Node, s, what string) (qconnect.Type, bool, bool) {
	elem, list := strings.CutSuffix(s, "[]")
	if qconnect.ValidParamType(qconnect.Type(elem)) {
		return qconnect.Type(elem), list, true
	}
	hint := "use one of " + strings.Join(paramTypeNames, ", ") + ", with [] for a list"
	if use, ok := columnOnly[elem]; ok {
		hint = "it is a column type; use " + use
	} else if strings.HasSuffix(elem, "[]") {
		hint = "lists of lists are not supported"
	} else if s := suggest(elem, paramTypeNames); s != "" {
		hint = "did you mean " + strconv.Quote(s) + "?"
	}
	l.errorf(n, "%s: type %q is not a parameter type; %s", what, s, hint)
	return "", false, false
}

// constraints reads enum, min, max and maxLen and checks that they suit p's
// type (known when typed is true).
func (l *loader) constraints(f map[string]entry, p *qconnect.Param, typed bool) {
	what := "parameter " + p.Name
	t := p.Type
	stringy := t == qconnect.String || t == qconnect.Symbol
	if e, ok := f["enum"]; ok {
		if typed && !stringy {
			l.errorf(e.key, "%s: enum applies to string and symbol parameters, not %s; remove enum", what, p.TypeName())
		} else {
			p.Enum = l.enum(e.val, what)
		}
	}
	var bounds [2]*float64
	for i, k := range []string{"min", "max"} {
		e, ok := f[k]
		if !ok {
			continue
		}
		switch {
		case typed && t != qconnect.Long && t != qconnect.Float && t != qconnect.Timespan:
			l.errorf(e.key, "%s: %s applies to long, float and timespan parameters, not %s; remove %s", what, k, p.TypeName(), k)
		case t == qconnect.Timespan && deref(e.val).ShortTag() == "!!str":
			d, err := qconnect.ConvertValue(qconnect.Param{Name: k, Type: qconnect.Timespan}, mustJSON(deref(e.val).Value))
			if err != nil {
				l.errorf(e.val, "%s: %s; a timespan bound is a duration or a number of seconds", what, qconnect.AsError(err).Message)
				continue
			}
			v := d.(time.Duration).Seconds()
			bounds[i] = &v
		default:
			if v, ok := l.number(e.val, what+": "+k); ok {
				bounds[i] = &v
			}
		}
	}
	p.Min, p.Max = bounds[0], bounds[1]
	if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
		l.errorf(f["max"].val, "%s: max %g is below min %g; swap them", what, *p.Max, *p.Min)
	}
	if e, ok := f["maxLen"]; ok {
		if typed && !stringy && !p.List {
			l.errorf(e.key, "%s: maxLen applies to string, symbol and list parameters, not %s; remove maxLen", what, p.TypeName())
		} else {
			p.MaxLen = int(l.positiveInt(e.val, what+": maxLen", "allow any length"))
		}
	}
}

func (l *loader) enum(n *yaml.Node, what string) []string {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s: enum must be a list of allowed values, like [a, b], not %s", what, kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		l.errorf(n, "%s: enum is empty; list the allowed values or remove enum", what)
		return nil
	}
	var out []string
	for _, v := range n.Content {
		s, ok := l.text(v, what+": an enum value")
		if !ok {
			continue
		}
		if contains(out, s) {
			l.errorf(v, "%s: enum value %q is listed twice; remove one", what, s)
			continue
		}
		out = append(out, s)
	}
	return out
}

// defaultValue converts a literal default through qconnect.ConvertValue,
// with p's type and constraints, so a bad default fails at load.
func (l *loader) defaultValue(n *yaml.Node, p *qconnect.Param) {
	budget := maxDefaultSize
	raw, prob := toJSON(n, 0, &budget)
	if prob != "" {
		l.errorf(n, "default of parameter %s %s; write the value a caller would send in JSON (PROTOCOL 4.2)", p.Name, prob)
		return
	}
	v, err := qconnect.ConvertValue(*p, raw)
	if err != nil {
		msg := strings.TrimPrefix(qconnect.AsError(err).Message, p.Name+": ")
		if strings.HasPrefix(msg, "expected ") {
			msg += "; write the value a caller would send in JSON (PROTOCOL 4.2), quoting strings that look like numbers"
		}
		l.errorf(n, "default of parameter %s: %s", p.Name, msg)
		return
	}
	p.Default = v
}

func mustJSON(s string) []byte {
	return []byte(strconv.Quote(s))
}

var columnTypeNames = []string{"boolean", "long", "int", "short", "float", "real", "string", "symbol", "char", "timestamp", "date", "time", "timespan", "guid"}

func (l *loader) columns(n *yaml.Node, full string) []qconnect.Column {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "columns of %s must be a list (- {name: ..., type: ...} lines), not %s", full, kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		l.errorf(n, "method %s declares no columns; list its result columns under columns: (name and type each)", full)
	}
	var out []qconnect.Column
	first := map[string]int{}
	for _, cn := range n.Content {
		f, ok := l.fields(cn, "a column of "+full, "name", "type")
		if !ok {
			continue
		}
		ne, hasName := f["name"]
		te, hasType := f["type"]
		if !hasName || !hasType {
			l.errorf(cn, "a column of %s needs both name and type, like {name: time, type: timestamp}", full)
			continue
		}
		name, ok1 := l.name(ne.val, "column name")
		ts, ok2 := l.text(te.val, "column type")
		if ok2 && !qconnect.ValidColumnType(qconnect.Type(ts)) {
			hint := "use one of " + strings.Join(columnTypeNames, ", ")
			if strings.HasSuffix(ts, "[]") {
				hint = "columns cannot be lists; " + hint
			} else if ts == string(qconnect.Dict) {
				hint = "dict is for parameters only; " + hint
			} else if s := suggest(ts, columnTypeNames); s != "" {
				hint = "did you mean " + strconv.Quote(s) + "?"
			}
			l.errorf(te.val, "column %s: type %q is not a column type; %s", name, ts, hint)
			ok2 = false
		}
		if !ok1 || !ok2 {
			continue
		}
		if line, dup := first[name]; dup {
			l.errorf(ne.val, "column %s is declared twice in %s (first at line %d); remove or rename one", name, full, line)
			continue
		}
		first[name] = ne.val.Line
		out = append(out, qconnect.Column{Name: name, Type: qconnect.Type(ts)})
	}
	return out
}

func (l *loader) streaming(n *yaml.Node, m *qconnect.Method) *qconnect.StreamSpec {
	s := &qconnect.StreamSpec{}
	f, ok := l.fields(n, "streaming of "+m.FullName(), "table", "key", "filters", "snapshot", "conflate")
	if !ok {
		return s
	}
	s.Table = l.table(f, n, "streaming of "+m.FullName())
	hasColumn := func(c string) bool {
		for _, col := range m.Columns {
			if col.Name == c {
				return true
			}
		}
		return false
	}
	if e, ok := f["key"]; ok {
		if k, ok := l.name(e.val, "streaming key"); ok {
			if !hasColumn(k) && len(m.Columns) > 0 {
				l.errorf(e.val, "streaming key %s is not a declared column; use one of the columns", k)
			}
			s.Key = k
		}
	}
	if e, ok := f["filters"]; ok {
		list, _ := l.entries(e.val, "streaming filters")
		s.Filters = make(map[string]string, len(list))
		for _, fe := range list {
			param := fe.key.Value
			if _, ok := m.Param(param); !ok {
				l.errorf(fe.key, "filter %s names no declared parameter; filters map a parameter to the column it filters (%s: sym)", param, param)
			}
			col, ok := l.name(fe.val, "filter column")
			if ok && !hasColumn(col) && len(m.Columns) > 0 {
				l.errorf(fe.val, "filter %s: column %s is not a declared column; use one of the columns", param, col)
			}
			s.Filters[param] = col
		}
	}
	if e, ok := f["snapshot"]; ok {
		if q, ok := l.text(e.val, "snapshot"); ok {
			s.Snapshot = q
			l.checkRefs(e.val, m, "snapshot", nil)
		}
	}
	if e, ok := f["conflate"]; ok {
		if d, ok := l.duration(e.val, "conflate"); ok {
			if d < 0 {
				l.errorf(e.val, "conflate must not be negative; use 0s to send every update")
			}
			s.Conflate = d
		}
	}
	return s
}

func (l *loader) publish(n *yaml.Node, m *qconnect.Method) *qconnect.StreamSpec {
	full := m.FullName()
	s := &qconnect.StreamSpec{}
	if f, ok := l.fields(n, "publish of "+full, "table", "retention"); ok {
		s.Table = l.table(f, n, "publish of "+full)
		if e, ok := f["retention"]; ok {
			s.Retention = l.retention(e.val, m)
		}
	}
	return s
}

// retention reads publish.retention: {maxAge: 24h, maxRows: 1000000,
// timeColumn: time}; timeColumn defaults to the method's first timestamp
// column.
func (l *loader) retention(n *yaml.Node, m *qconnect.Method) *qconnect.Retention {
	what := "retention of " + m.FullName()
	f, ok := l.fields(n, what, "maxAge", "maxRows", "timeColumn")
	if !ok {
		return nil
	}
	r := &qconnect.Retention{}
	if e, ok := f["maxAge"]; ok {
		r.MaxAge = l.positiveDuration(e.val, what+": maxAge")
	}
	if e, ok := f["maxRows"]; ok {
		r.MaxRows = l.positiveInt(e.val, what+": maxRows", "keep any number of rows")
	}
	if _, a := f["maxAge"]; !a {
		if _, b := f["maxRows"]; !b {
			l.errorf(n, "%s sets no bound; give maxAge (like 24h), maxRows, or both", what)
		}
	}
	if e, ok := f["timeColumn"]; ok {
		r.TimeColumn, _ = l.text(e.val, what+": timeColumn")
		found := false
		for _, c := range m.Columns {
			if c.Name == r.TimeColumn && c.Type == qconnect.Timestamp {
				found = true
			}
		}
		if !found {
			l.errorf(e.val, "%s: timeColumn %q is not a timestamp column of %s", what, r.TimeColumn, m.FullName())
		}
	} else {
		for _, c := range m.Columns {
			if c.Type == qconnect.Timestamp {
				r.TimeColumn = c.Name
				break
			}
		}
		if r.TimeColumn == "" {
			l.errorf(n, "%s needs a timestamp column to order rows by age; %s has none", what, m.FullName())
		}
	}
	return r
}

func (l *loader) table(f map[string]entry, n *yaml.Node, block string) string {
	e, ok := f["table"]
	if !ok {
		l.errorf(n, "%s has no table; add table: (the source table of the rows)", block)
		return ""
	}
	t, _ := l.name(e.val, "table")
	return t
}

// checkRefs reports $name references in a query or snapshot (what) that
// name no parameter and, when paramLines is not nil, parameters that the
// query never uses: a parameter the query ignores would silently drop a
// caller's filter. paramLines has the line of each parameter's name.
func (l *loader) checkRefs(n *yaml.Node, m *qconnect.Method, what string, paramLines map[string]int) {
	n = deref(n)
	used := map[string]bool{}
	for _, r := range sqlRefs(n.Value) {
		used[r.name] = true
		if _, ok := m.Param(r.name); ok || r.name == "now" {
			continue
		}
		line := n.Line
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line += 1 + strings.Count(n.Value[:r.offset], "\n")
		}
		names := make([]string, len(m.Params))
		for i, p := range m.Params {
			names[i] = p.Name
		}
		hint := "declare it under params or fix the name"
		if s := suggest(r.name, names); s != "" {
			hint = fmt.Sprintf("did you mean $%s?", s)
		}
		l.problemAt(line, fmt.Sprintf("the %s of %s uses $%s, which is not a parameter; %s", what, m.FullName(), r.name, hint))
	}
	if paramLines == nil {
		return
	}
	for _, p := range m.Params {
		if !used[p.Name] {
			l.problemAt(paramLines[p.Name], fmt.Sprintf("parameter %s of %s is not used by its query; use $%s in the query or remove the parameter", p.Name, m.FullName(), p.Name))
		}
	}
}
