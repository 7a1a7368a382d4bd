package duckdb

import (
	"context"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
)

var _ qconnect.Pruner = (*Engine)(nil)

// Prune deletes the rows of a published table beyond its retention
// (qconnect.Pruner): those whose time column is before now - MaxAge, then
// those older than the MaxRows newest (rows tied with the newest kept one
// stay). Each DELETE is its own transaction; DuckDB's MVCC lets queries of
// the table go on meanwhile.
func (e *Engine) Prune(ctx context.Context, table string, r qconnect.Retention, now time.Time) (int64, error) {
	if r.TimeColumn == "" || (r.MaxAge <= 0 && r.MaxRows <= 0) {
		return 0, nil
	}
	conn, err := e.pool.get(ctx)
	if err != nil {
		return 0, e.translate(ctx, nil, err)
	}
	defer conn.Close()
	catalog, name := "", e.tableName(table)
	if name == "" {
		if catalog, name, err = findTable(ctx, conn, table); err != nil {
			return 0, err
		}
	}
	// Cached results that read the table are stale once rows are deleted:
	// the bump follows the deletes and precedes the return.
	defer func() { e.cache.bump(name) }()
	t := quoteIdent(name)
	if catalog != "" {
		t = quoteIdent(catalog) + ".main." + t
	}
	col := quoteIdent(r.TimeColumn)
	var deleted int64
	if r.MaxAge > 0 {
		n, err := conn.exec(ctx, "DELETE FROM "+t+" WHERE "+col+" < $cutoff", named("cutoff", now.Add(-r.MaxAge).UTC()))
		if err != nil {
			return deleted, e.translate(ctx, nil, err)
		}
		deleted += n
	}
	if r.MaxRows > 0 {
		_, rows, err := conn.queryRows(ctx, "SELECT count(*) FROM "+t)
		if err != nil {
			return deleted, e.translate(ctx, nil, err)
		}
		if count, _ := rows[0][0].(int64); count > r.MaxRows {
			// The time of the MaxRows-th newest row: everything older goes.
			n, err := conn.exec(ctx, "DELETE FROM "+t+" WHERE "+col+" < (SELECT "+col+" FROM "+t+
				" ORDER BY "+col+" DESC NULLS LAST LIMIT 1 OFFSET $keep)", named("keep", r.MaxRows-1))
			if err != nil {
				return deleted, e.translate(ctx, nil, err)
			}
			deleted += n
		}
	}
	return deleted, nil
}

// quoteIdent quotes a SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
