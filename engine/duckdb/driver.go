package duckdb

import (
	"fmt"
	"reflect"
	"unsafe"

	bindings "github.com/duckdb/duckdb-go-bindings"
	duck "github.com/duckdb/duckdb-go/v2"
)

// driverVersion is the duckdb-go release whose unexported fields
// connHandle and stmtHandle read. duckdb-go executes queries only to
// materialised results, so Query prepares and binds through the driver
// (reusing its value conversion) and then runs the statement itself with
// DuckDB's streaming C API, which needs the C handles the driver keeps in
// unexported fields. TestDriverInternals fails when an upgrade renames or
// retypes them; update these functions and this constant together.
const driverVersion = "github.com/duckdb/duckdb-go/v2 v2.10506.0 (duckdb-go-bindings v0.10506.0)"

// connHandle returns the C connection of a driver connection (field
// Conn.conn). It stays valid while the connection is open.
func connHandle(c *duck.Conn) (bindings.Connection, error) {
	return unexportedField[bindings.Connection](c, "conn")
}

// stmtHandle returns the C prepared statement of a driver statement (field
// Stmt.preparedStmt). It stays valid until the statement is closed.
func stmtHandle(s *duck.Stmt) (bindings.PreparedStatement, error) {
	p, err := unexportedField[*bindings.PreparedStatement](s, "preparedStmt")
	if err != nil {
		return bindings.PreparedStatement{}, err
	}
	if p == nil || p.Ptr == nil {
		return bindings.PreparedStatement{}, fmt.Errorf("duckdb: the driver statement has no prepared statement")
	}
	return *p, nil
}

// unexportedField reads the field name, of type T, of the struct ptr points
// to. It fails, rather than reading memory of another type, when the driver
// no longer has such a field.
func unexportedField[T any](ptr any, name string) (T, error) {
	var zero T
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return zero, fmt.Errorf("duckdb: %T is not a pointer to a struct", ptr)
	}
	f := v.Elem().FieldByName(name)
	if want := reflect.TypeFor[T](); !f.IsValid() || f.Type() != want {
		return zero, fmt.Errorf("duckdb: %T has no field %s of type %v: the DuckDB driver changed (qconnect is built against %s); update engine/duckdb/driver.go",
			ptr, name, want, driverVersion)
	}
	return *(*T)(unsafe.Pointer(f.UnsafeAddr())), nil
}
