package duckdb

import "github.com/qconnect/qconnect"

// PoolStats reports the engine's connection pool (connections in use and
// idle, the limit, waits for a free one): the backend pool state of the
// gateway's metrics.
func (e *Engine) PoolStats() qconnect.PoolStats {
	p := e.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	return qconnect.PoolStats{InUse: p.inUse, Idle: len(p.idle), Max: cap(p.slots), Waits: p.waits, WaitTime: p.waitTime}
}
