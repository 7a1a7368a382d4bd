//go:build duckdb_arrow

package main

import (
	"context"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/engine/duckdb"
)

func init() { duckdbArrow = arrowIPC }

// arrowIPC converts every chunk of the result with DuckDB's own Arrow
// conversion and writes it as a record batch of an Arrow IPC stream to
// io.Discard: DuckDB's Arrow export of the query, to compare with the
// gateway's Arrow encoder fed by the engine's cursor.
func arrowIPC(ctx context.Context, eng *duckdb.Engine, call qconnect.Call) (int64, time.Time, error) {
	var w *ipc.Writer
	var first time.Time
	n, err := eng.DuckDBArrow(ctx, call, func(rec arrow.RecordBatch) error {
		if w == nil {
			first = time.Now()
			w = ipc.NewWriter(io.Discard, ipc.WithSchema(rec.Schema()))
		}
		return w.Write(rec)
	})
	if w != nil {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	return n, first, err
}
