package duckdb

import "database/sql"

// PoolStats reports the engine's connection pool (open, in use, idle
// connections; waits for a free one): the backend pool state of the
// gateway's metrics.
func (e *Engine) PoolStats() sql.DBStats { return e.db.Stats() }
