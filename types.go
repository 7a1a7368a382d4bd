package qconnect

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DefaultBackend is the name of the backend of a method that names none:
// the embedded DuckDB engine. It is the one place this name is written.
const DefaultBackend = "duckdb"

// Type is a parameter or column type of PROTOCOL.md sections 4.2 and 4.3.
type Type string

// The types of PROTOCOL.md 4.2 (parameters) and 4.3 (columns).
const (
	Boolean   Type = "boolean"
	Long      Type = "long"
	Int       Type = "int"
	Short     Type = "short"
	Float     Type = "float"
	Real      Type = "real"
	String    Type = "string"
	Symbol    Type = "symbol"
	Char      Type = "char"
	Timestamp Type = "timestamp"
	Date      Type = "date"
	Time      Type = "time"
	Timespan  Type = "timespan"
	GUID      Type = "guid"
	Dict      Type = "dict"
)

// ParamTypes are the element types a parameter may declare (PROTOCOL 4.2).
var paramTypes = map[Type]bool{Boolean: true, Long: true, Float: true, String: true,
	Symbol: true, Timestamp: true, Date: true, Timespan: true, Dict: true}

// columnTypes are the types a result column may declare (PROTOCOL 4.3).
var columnTypes = map[Type]bool{Boolean: true, Long: true, Int: true, Short: true,
	Float: true, Real: true, String: true, Symbol: true, Char: true, Timestamp: true,
	Date: true, Time: true, Timespan: true, GUID: true}

// ValidParamType reports whether t may be declared as a parameter's element type.
func ValidParamType(t Type) bool { return paramTypes[t] }

// ValidColumnType reports whether t may be declared as a result column's type.
func ValidColumnType(t Type) bool { return columnTypes[t] }

// Column is one column of a method's result table.
type Column struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
}

// Param declares one parameter of a method (PROTOCOL 4.2).
type Param struct {
	Name        string
	Type        Type // element type when List is true
	List        bool // the parameter is a list of Type ("symbol[]")
	Required    bool
	Default     any    // typed default (see the package doc), nil if none
	DefaultDoc  string // human description of a computed default, e.g. "now"
	Description string
	Enum        []string // allowed values (string-like types), empty = any
	Min, Max    *float64 // inclusive bounds for numbers, nil = unbounded
	MaxLen      int      // maximum string length or list length, 0 = unbounded
	Secret      bool     // the value is redacted in the audit log (catalog "secret: true")
}

// TypeName is the declared type as written in the catalog: "symbol" or "symbol[]".
func (p Param) TypeName() string {
	if p.List {
		return string(p.Type) + "[]"
	}
	return string(p.Type)
}

// Position locates a declaration in a source file, for error messages.
type Position struct {
	File string
	Line int
}

func (p Position) String() string {
	if p.File == "" {
		return "<unknown>"
	}
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Method is one callable analytic of the catalog. A Method is immutable once
// the catalog is loaded; every transport, the entitlement checks and the
// generated documentation read the same value.
type Method struct {
	Group       string
	Name        string
	Description string
	Params      []Param
	Columns     []Column

	// Backend names the engine that runs this method (DefaultBackend when
	// empty).
	Backend string
	// Query is the backend binding: for DuckDB a SQL query with named
	// parameters ($name) that are bound, never spliced into the text.
	Query string

	// Timeout bounds one call; zero means the server default.
	Timeout time.Duration
	// RowCap is the largest number of rows returned; a longer result is cut
	// with meta.truncated = true. Zero means the server default.
	RowCap int64

	// Streaming marks a method that is only available as a WebSocket
	// subscription (PROTOCOL 7). Stream holds its declaration.
	Streaming bool
	Stream    *StreamSpec
	// Publish marks a method that appends rows to Stream.Table.
	Publish bool

	Pos Position
}

// StreamSpec declares a streaming or publishing method's source.
type StreamSpec struct {
	Table    string            // the source table
	Key      string            // the key column used for filters and conflation (e.g. "sym")
	Filters  map[string]string // parameter name → the column it filters (e.g. "syms" → "sym")
	Snapshot string            // optional SQL for the snapshot, parameters bound by name
	Conflate time.Duration     // default conflation interval; zero = every update
	// Retention bounds the rows a publishing method's table keeps
	// (retention.go); nil = kept until the gateway stops.
	Retention *Retention
}

// FullName is "group/name".
func (m *Method) FullName() string { return m.Group + "/" + m.Name }

// Path is the REST path of the method: /connect/api/<group>/<name>.
func (m *Method) Path() string { return "/connect/api/" + m.Group + "/" + m.Name }

// Param returns the parameter declaration of that name.
func (m *Method) Param(name string) (Param, bool) {
	for _, p := range m.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ValidName reports whether s is a valid group or method name (PROTOCOL 0).
func ValidName(s string) bool { return nameRE.MatchString(s) }

// ReservedGroup reports whether the group name is reserved by the protocol.
func ReservedGroup(g string) bool { return g == "auth" || g == "meta" }

// Group is a method group of the catalog.
type Group struct {
	Name        string
	Description string
}

// Catalog is the set of declared methods, in declaration order.
type Catalog struct {
	Methods []*Method
	// Groups describes the method groups in declaration order; it may be
	// empty when the catalog was built without group declarations.
	Groups []Group
	byName map[string]*Method
}

// GroupDescription returns the description of a group, "" if none.
func (c *Catalog) GroupDescription(name string) string {
	for _, g := range c.Groups {
		if g.Name == name {
			return g.Description
		}
	}
	return ""
}

// NewCatalog indexes methods. It returns an error naming the position of a
// duplicate group/name.
func NewCatalog(methods []*Method) (*Catalog, error) {
	c := &Catalog{Methods: methods, byName: make(map[string]*Method, len(methods))}
	for _, m := range methods {
		k := m.FullName()
		if prev, ok := c.byName[k]; ok {
			return nil, fmt.Errorf("%s: method %s is declared twice (first at %s); rename one of them", m.Pos, k, prev.Pos)
		}
		c.byName[k] = m
	}
	return c, nil
}

// Lookup finds a method by group and name.
func (c *Catalog) Lookup(group, name string) (*Method, bool) {
	m, ok := c.byName[group+"/"+name]
	return m, ok
}

// LookupFull finds a method by "group/name".
func (c *Catalog) LookupFull(full string) (*Method, bool) {
	g, n, ok := strings.Cut(full, "/")
	if !ok {
		return nil, false
	}
	return c.Lookup(g, n)
}
