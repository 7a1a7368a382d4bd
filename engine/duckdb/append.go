package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"
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
	conn, err := e.db.Conn(ctx)
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
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	// Cached results that read the table are stale once the rows are in:
	// the bump follows the commit and precedes the return.
	defer func() { e.cache.bump(name) }()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return e.appendError(ctx, table, err)
	}
	err = conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return internalError("duckdb: unexpected driver connection %T", dc)
		}
		app, err := duck.NewAppenderWithColumns(dconn, catalog, "main", name, names)
		if err != nil && catalog == "" {
			// Not in the default database: an attached file's table.
			var ferr error
			if catalog, name, ferr = findTable(ctx, conn, table); ferr != nil {
				return ferr
			}
			app, err = duck.NewAppenderWithColumns(dconn, catalog, "main", name, names)
		}
		if err != nil {
			return err
		}
		vals := make([]driver.Value, len(cols))
		for r, row := range rows {
			if len(row) != len(cols) {
				app.Close()
				return internalError("duckdb: Append: row %d has %d values for %d columns", r, len(row), len(cols))
			}
			for i, c := range cols {
				vals[i] = appendValue(c.Type, row[i])
			}
			if err := app.AppendRow(vals...); err != nil {
				app.Close()
				return fmt.Errorf("row %d: %w", r, err)
			}
			if r%4096 == 4095 && ctx.Err() != nil {
				app.Close()
				return ctx.Err()
			}
		}
		return app.CloseWithCancel(ctx)
	})
	if err != nil {
		// The rollback runs even when ctx has ended: the connection goes
		// back to the pool and must not keep the transaction open.
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return e.appendError(ctx, table, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return e.appendError(ctx, table, err)
	}
	return nil
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
func findTable(ctx context.Context, conn *sql.Conn, table string) (catalog, name string, err error) {
	err = conn.QueryRowContext(ctx, `SELECT database_name, table_name FROM duckdb_tables()
WHERE lower(table_name) = lower($t) AND schema_name = 'main' AND NOT temporary
ORDER BY database_name <> 'memory', table_name <> $t LIMIT 1`, sql.Named("t", table)).Scan(&catalog, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", &qconnect.Error{Code: qconnect.CodeAnalyticError, Cause: errNoTable,
			Message: "there is no table " + table + " to store published rows in; create it (or fix the publish table in the catalog)"}
	}
	return catalog, name, err
}

// appendValue converts a value of the qconnect conventions to what the
// appender takes for the column type.
func appendValue(t qconnect.Type, v any) driver.Value {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return x.UTC()
	case time.Duration:
		if t == qconnect.Time {
			return time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(x)
		}
		return duck.Interval{Micros: x.Microseconds()}
	case [16]byte:
		return duck.UUID(x)
	case int:
		return int64(x)
	}
	return v
}
