package qconnect

import (
	"context"
	"time"
)

// Retention bounds what a published table keeps (catalog: publish.retention).
// Rows are ordered by age by TimeColumn. A zero bound is no bound.
type Retention struct {
	MaxAge     time.Duration // rows whose TimeColumn is before now - MaxAge are deleted
	MaxRows    int64         // beyond it, the oldest rows are deleted
	TimeColumn string        // a timestamp column of the table
}

// Pruner is implemented by backends that can delete published rows beyond
// a Retention. Prune deletes the rows of table older than now - MaxAge and
// the oldest beyond MaxRows (rows tied at the cut-off time are kept, so a
// table may hold a few more than MaxRows) and reports how many it deleted.
// It must not block queries of the table while it runs.
type Pruner interface {
	Prune(ctx context.Context, table string, r Retention, now time.Time) (deleted int64, err error)
}
