package main

import (
	"context"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/engine/kdb"
)

// kdbBackend adapts engine/kdb to the current qconnect.Backend, whose
// Rows.Next returns boxed rows. TEMPORARY: once the backend contract v2
// (batches) is merged, delete this file and register the *kdb.Engine
// itself (its Rows.Next already returns *qconnect.Batch). Ping, Append and
// Live are the engine's own.
type kdbBackend struct{ *kdb.Engine }

func asBackend(e *kdb.Engine) qconnect.Backend { return kdbBackend{e} }

func (b kdbBackend) Query(ctx context.Context, call qconnect.Call) (qconnect.Rows, error) {
	r, err := b.QueryRows(ctx, call)
	if err != nil {
		return nil, err
	}
	return &kdbRows{r: r}, nil
}

type kdbRows struct{ r *kdb.Rows }

func (r *kdbRows) Columns() []qconnect.Column { return r.r.Columns() }
func (r *kdbRows) Close() error               { return r.r.Close() }

func (r *kdbRows) Next(ctx context.Context) ([][]any, error) {
	b, err := r.r.Next(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([][]any, b.Len)
	for i := range rows {
		rows[i] = b.Row(i)
	}
	return rows, nil
}
