package duckdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unsafe"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// Append stores published rows in table (it implements qconnect.Appender):
// all of them or none, in one transaction with DuckDB's appender. cols
// name the table columns the rows hold, in order; the table's other columns
// get their defaults (NULL). Values follow the qconnect conventions, which
// the appender converts to the column types (an int64 into an INTEGER or a
// DOUBLE column, a time.Time into TIMESTAMP or DATE); a value that does not
// convert fails the whole batch.
//
// The table is looked up by name, case-insensitively, in the in-memory
// database (demo and --data tables) and then in the --duckdb file, which
// must have been opened with Config.ReadWrite: a read-only file refuses
// the write. Errors are *qconnect.Error: analyticError for a missing table
// or a refused write, timeout when ctx ends first.
//
// Concurrent Appends to one table share a transaction (group commit, see
// appendGroups); each still stores all of its rows or none, and returns
// once its rows are committed.
func (e *Engine) Append(ctx context.Context, table string, cols []qconnect.Column, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if len(cols) == 0 {
		return internalError("duckdb: Append of %d rows to %s without columns", len(rows), table)
	}
	for r, row := range rows {
		if len(row) != len(cols) {
			return internalError("duckdb: Append: row %d has %d values for %d columns", r, len(row), len(cols))
		}
	}
	return e.groups.append(ctx, e, table, cols, rows)
}

// appendOnce stores rows in table in one transaction.
func (e *Engine) appendOnce(ctx context.Context, table string, cols []qconnect.Column, rows [][]any) error {
	conn, err := e.pool.get(ctx)
	if err != nil {
		return e.translate(ctx, nil, err)
	}
	defer conn.Close()
	// The demo and --data tables are in the default database ("memory"):
	// try there first, by the exact name of the tables listed at Open,
	// without a catalog query (which costs about a millisecond).
	catalog, name := "", e.tableName(table)
	if name == "" {
		if catalog, name, err = findTable(ctx, conn, table); err != nil {
			return e.appendError(ctx, table, err)
		}
	}
	// Cached results that read the table are stale once the rows are in:
	// the bump follows the commit and precedes the return.
	defer func() { e.cache.bump(name) }()
	for widened := 0; ; widened++ {
		catalog, name, err = appendTx(ctx, conn, catalog, name, table, cols, rows)
		if err == nil {
			return nil
		}
		var miss *enumMissError
		if !errors.As(err, &miss) || (catalog != "" && catalog != "memory") || widened == len(cols) {
			return e.appendError(ctx, table, err)
		}
		// A value outside an ENUM column's values, in a table of the
		// in-memory database (demo, --data: the engine's own tables, never
		// a user's file): the column becomes VARCHAR, which holds every
		// value and compares, sorts and prints the same, and the rows are
		// appended again.
		q := "ALTER TABLE memory.main." + quoteIdent(name) + " ALTER COLUMN " + quoteIdent(miss.column) + " SET DATA TYPE VARCHAR"
		if werr := conn.ExecContext(ctx, q); werr != nil {
			return e.appendError(ctx, table, errors.Join(err, werr))
		}
		e.log.Info("duckdb: a published value is not one of an ENUM column's values: the column is now VARCHAR",
			"table", name, "column", miss.column, "value", miss.value)
	}
}

// appendTx stores rows in one transaction, looking the table up in the
// attached databases when it is not in the default one. It returns the
// catalog and name the table was found under (those given, unless it
// looked). Errors are DuckDB's or the conversions'.
func appendTx(ctx context.Context, conn *conn, catalog, name, table string, cols []qconnect.Column, rows [][]any) (string, string, error) {
	if err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return catalog, name, err
	}
	err := appendRows(ctx, conn, catalog, name, cols, rows)
	if err != nil && catalog == "" && errors.Is(err, errNoAppender) {
		// Not in the default database: an attached file's table.
		var ferr error
		if catalog, name, ferr = findTable(ctx, conn, table); ferr != nil {
			err = ferr
		} else {
			err = appendRows(ctx, conn, catalog, name, cols, rows)
		}
	}
	if err != nil {
		// The rollback runs even when ctx has ended: the connection goes
		// back to the pool and must not keep the transaction open.
		if rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			conn.broken = true
			err = errors.Join(err, rerr)
		}
		return catalog, name, err
	}
	if err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		if rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			conn.broken = true
		}
		return catalog, name, err
	}
	return catalog, name, nil
}

// errNoAppender marks the failure to create an appender for a table (it
// is not in the database tried).
var errNoAppender = errors.New("no appender")

// appendRows appends rows with DuckDB's appender (duckdb_appender through
// the bindings): the rows are written into data chunks of the table's
// column types (appendCell) and appended a chunk at a time; the appender is
// closed (flushed) at the end. Within the caller's transaction, an error
// leaves nothing stored once the caller rolls back. Errors of DuckDB keep
// their type (duckdb_appender_error_data).
func appendRows(ctx context.Context, conn *conn, catalog, table string, cols []qconnect.Column, rows [][]any) error {
	var app bindings.Appender
	if bindings.AppenderCreateExt(conn.h, catalog, "main", table, &app) == bindings.StateError {
		err := appenderError(app)
		bindings.AppenderDestroy(&app)
		return errors.Join(errNoAppender, err)
	}
	defer bindings.AppenderDestroy(&app)
	for _, c := range cols {
		if bindings.AppenderAddColumn(app, c.Name) == bindings.StateError {
			return appenderError(app)
		}
	}
	types := make([]bindings.LogicalType, len(cols))
	ids := make([]bindings.Type, len(cols))
	enums := make([]*enumColumn, len(cols))
	for i := range cols {
		types[i] = bindings.AppenderColumnType(app, bindings.IdxT(i))
		ids[i] = bindings.GetTypeId(types[i])
		if ids[i] == bindings.TypeEnum {
			enums[i] = newEnumColumn(types[i])
		}
	}
	defer func() {
		for i := range types {
			bindings.DestroyLogicalType(&types[i])
		}
	}()
	chunk := bindings.CreateDataChunk(types)
	defer bindings.DestroyDataChunk(&chunk)
	size := int(bindings.VectorSize())
	for start := 0; start < len(rows); start += size {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := rows[start:min(start+size, len(rows))]
		bindings.DataChunkReset(chunk)
		for j, c := range cols {
			v := bindings.DataChunkGetVector(chunk, bindings.IdxT(j))
			for i, row := range part {
				var err error
				if enums[j] != nil {
					err = enums[j].appendCell(v, c.Name, i, row[j])
				} else {
					err = appendCell(v, ids[j], i, row[j])
				}
				if err != nil {
					return fmt.Errorf("row %d, column %s: %w", start+i, c.Name, err)
				}
			}
		}
		bindings.DataChunkSetSize(chunk, bindings.IdxT(len(part)))
		if bindings.AppendDataChunk(app, chunk) == bindings.StateError {
			return appenderError(app)
		}
	}
	if bindings.AppenderClose(app) == bindings.StateError {
		return appenderError(app)
	}
	return nil
}

// appenderError is the error of an appender, with DuckDB's error type.
func appenderError(app bindings.Appender) error {
	if app.Ptr == nil {
		return errors.New("DuckDB could not create an appender")
	}
	ed := bindings.AppenderErrorData(app)
	defer bindings.DestroyErrorData(&ed)
	if !bindings.ErrorDataHasError(ed) {
		return errors.New("the DuckDB appender failed")
	}
	return &dbError{typ: bindings.ErrorDataErrorType(ed), msg: bindings.ErrorDataMessage(ed)}
}

// appendError translates an append failure, naming the table.
func (e *Engine) appendError(ctx context.Context, table string, err error) error {
	var qe *qconnect.Error
	if errors.As(err, &qe) {
		return qe
	}
	if ctx.Err() != nil || classify(err) != classAnalytic {
		return e.translate(ctx, nil, err)
	}
	return &qconnect.Error{Code: qconnect.CodeAnalyticError, Cause: err,
		Message: "storing the rows in table " + table + " failed, nothing was stored: " + e.safeMessage(err)}
}

// tableName returns the exact name of a table listed at Open that equals
// table case-insensitively (an exact match first), or "".
func (e *Engine) tableName(table string) string {
	found := ""
	for _, t := range e.tables {
		if t == table {
			return t
		}
		if found == "" && strings.EqualFold(t, table) {
			found = t
		}
	}
	return found
}

// errNoTable is the cause of an append to a table that does not exist.
var errNoTable = errors.New("no such table")

// findTable returns the database and exact name of table: the in-memory
// database first, then an attached file.
func findTable(ctx context.Context, conn *conn, table string) (catalog, name string, err error) {
	rows, err := conn.queryStrings(ctx, `SELECT database_name, table_name FROM duckdb_tables()
WHERE lower(table_name) = lower($t) AND schema_name = 'main' AND NOT temporary
ORDER BY database_name <> 'memory', table_name <> $t LIMIT 1`, named("t", table))
	if err != nil {
		return "", "", err
	}
	if len(rows) == 0 {
		return "", "", &qconnect.Error{Code: qconnect.CodeAnalyticError, Cause: errNoTable,
			Message: "there is no table " + table + " to store published rows in; create it (or fix the publish table in the catalog)"}
	}
	return rows[0][0], rows[0][1], nil
}

// appendCell writes v, a value of the qconnect conventions, into row i of
// the appender chunk's vector v of DuckDB type typ, converting it as the
// column needs (an int64 into an INTEGER or a DOUBLE column, a time.Time
// into TIMESTAMP or DATE, a time.Duration into TIME or INTERVAL). A value
// that does not convert is an error.
//
// The vector's memory is DuckDB's (duckdb_vector_get_data through the
// bindings' public API), laid out as duckdb.h's C types; writing it, like
// reading result vectors (decode.go), is this package's only use of
// unsafe.
func appendCell(vec bindings.Vector, typ bindings.Type, i int, v any) error {
	if v == nil {
		bindings.VectorEnsureValidityWritable(vec)
		bindings.ValiditySetRowInvalid(bindings.VectorGetValidity(vec), bindings.IdxT(i))
		return nil
	}
	if m := bindings.VectorGetValidity(vec); m != nil {
		bindings.ValiditySetRowValid(m, bindings.IdxT(i))
	}
	data := bindings.VectorGetData(vec)
	if x, ok := v.(int); ok {
		v = int64(x)
	}
	switch typ {
	case bindings.TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return mismatch(v, "BOOLEAN")
		}
		put(data, i, b)
	case bindings.TypeTinyInt:
		return putInt[int8](data, i, v, math.MinInt8, math.MaxInt8)
	case bindings.TypeSmallInt:
		return putInt[int16](data, i, v, math.MinInt16, math.MaxInt16)
	case bindings.TypeInteger:
		return putInt[int32](data, i, v, math.MinInt32, math.MaxInt32)
	case bindings.TypeBigInt:
		return putInt[int64](data, i, v, math.MinInt64, math.MaxInt64)
	case bindings.TypeUTinyInt:
		return putInt[uint8](data, i, v, 0, math.MaxUint8)
	case bindings.TypeUSmallInt:
		return putInt[uint16](data, i, v, 0, math.MaxUint16)
	case bindings.TypeUInteger:
		return putInt[uint32](data, i, v, 0, math.MaxUint32)
	case bindings.TypeFloat, bindings.TypeDouble:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		default:
			return mismatch(v, "DOUBLE")
		}
		if typ == bindings.TypeFloat {
			put(data, i, float32(f))
		} else {
			put(data, i, f)
		}
	case bindings.TypeVarchar, bindings.TypeBlob:
		switch x := v.(type) {
		case string:
			bindings.VectorAssignStringElement(vec, bindings.IdxT(i), x)
		case []byte:
			bindings.VectorAssignStringElementLen(vec, bindings.IdxT(i), x)
		default:
			return mismatch(v, "VARCHAR")
		}
	case bindings.TypeTimestamp, bindings.TypeTimestampTZ, bindings.TypeTimestampNS,
		bindings.TypeTimestampMS, bindings.TypeTimestampS, bindings.TypeDate:
		t, ok := v.(time.Time)
		if !ok {
			return mismatch(v, "TIMESTAMP")
		}
		t = t.UTC()
		switch typ {
		case bindings.TypeTimestampNS:
			put(data, i, t.UnixNano())
		case bindings.TypeTimestampMS:
			put(data, i, t.UnixMilli())
		case bindings.TypeTimestampS:
			put(data, i, t.Unix())
		case bindings.TypeDate:
			put(data, i, int32(t.Unix()/86400-boolInt(t.Unix()%86400 < 0)))
		default:
			put(data, i, t.UnixMicro())
		}
	case bindings.TypeTime:
		switch x := v.(type) {
		case time.Duration:
			put(data, i, x.Microseconds())
		case time.Time:
			y, m, d := x.Date()
			put(data, i, x.Sub(time.Date(y, m, d, 0, 0, 0, 0, x.Location())).Microseconds())
		default:
			return mismatch(v, "TIME")
		}
	case bindings.TypeInterval:
		d, ok := v.(time.Duration)
		if !ok {
			return mismatch(v, "INTERVAL")
		}
		put(data, i, interval{micros: d.Microseconds()})
	case bindings.TypeUUID:
		u, ok := v.([16]byte)
		if !ok {
			return mismatch(v, "UUID")
		}
		// DuckDB stores a UUID as a hugeint with the top bit flipped.
		put(data, i, hugeint{lower: binary.BigEndian.Uint64(u[8:]), upper: binary.BigEndian.Uint64(u[:8]) ^ 1<<63})
	default:
		return fmt.Errorf("the column's DuckDB type (%d) cannot be published to; store such values through a view or a column of another type", typ)
	}
	return nil
}

// enumColumn writes strings into an ENUM column as the indexes of its
// dictionary.
type enumColumn struct {
	internal bindings.Type    // UTINYINT, USMALLINT or UINTEGER
	index    map[string]int64 // value → index
	values   []string         // the dictionary, for error messages
}

func newEnumColumn(lt bindings.LogicalType) *enumColumn {
	c := &enumColumn{}
	c.internal, c.values = enumDict(lt)
	c.index = make(map[string]int64, len(c.values))
	for i, v := range c.values {
		c.index[v] = int64(i)
	}
	return c
}

// appendCell stores the string v (a string or []byte) as its index; a
// string outside the dictionary is an error naming the allowed values (an
// ENUM's values are fixed when the column is created).
func (c *enumColumn) appendCell(vec bindings.Vector, column string, i int, v any) error {
	if v == nil {
		return appendCell(vec, bindings.TypeVarchar, i, nil)
	}
	var k int64
	var ok bool
	switch x := v.(type) {
	case string:
		k, ok = c.index[x]
	case []byte:
		k, ok = c.index[string(x)] // no allocation for the lookup
	default:
		return mismatch(v, "ENUM")
	}
	if !ok {
		allowed := c.values
		if len(allowed) > 20 {
			allowed = append(allowed[:20:20], "...")
		}
		return &enumMissError{column: column, value: fmt.Sprintf("%s", v), allowed: allowed}
	}
	return appendCell(vec, c.internal, i, k) // the index, in the ENUM's storage type
}

// enumMissError is a published value outside an ENUM column's values.
type enumMissError struct {
	column, value string
	allowed       []string
}

func (e *enumMissError) Error() string {
	return fmt.Sprintf("%q is not one of the column's values (%s): an ENUM column takes only those", e.value, strings.Join(e.allowed, ", "))
}

// put stores x as element i of a vector's data of element type T.
func put[T any](data unsafe.Pointer, i int, x T) {
	*(*T)(unsafe.Add(data, uintptr(i)*unsafe.Sizeof(x))) = x
}

// putInt stores an integer value (an int64, or a float64 without a
// fraction) as T, within [lo, hi].
func putInt[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](data unsafe.Pointer, i int, v any, lo, hi int64) error {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case float64:
		if x != math.Trunc(x) || x < -(1<<63) || x >= 1<<63 {
			return fmt.Errorf("%v is not an integer", x)
		}
		n = int64(x)
	case bool:
		n = boolInt(x)
	default:
		return mismatch(v, "an integer")
	}
	if n < lo || n > hi {
		return fmt.Errorf("%d is out of the column's range [%d, %d]", n, lo, hi)
	}
	put(data, i, T(n))
	return nil
}

func mismatch(v any, want string) error {
	return fmt.Errorf("a %T cannot be stored as %s", v, want)
}
