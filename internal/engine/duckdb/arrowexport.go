//go:build duckdb_arrow

package duckdb

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// DuckDBArrow runs call's query as Query does (same wrapping, binding and
// connection settings) and hands each of DuckDB's result chunks to each,
// converted to an Arrow record batch by DuckDB itself
// (duckdb_data_chunk_to_arrow, with the connection's Arrow options). It is
// the benchmarks' baseline for the gateway's own Arrow path
// (bench/export/fetch -mode duckdb-arrow), built only with the
// duckdb_arrow build tag; the server never calls it. The record batch is
// valid only during each. It returns the rows handed over.
func (e *Engine) DuckDBArrow(ctx context.Context, call qconnect.Call, each func(arrow.RecordBatch) error) (int64, error) {
	m := call.Method
	conn, err := e.pool.get(ctx)
	if err != nil {
		return 0, e.translate(ctx, m, err)
	}
	defer conn.Close()
	st, err := startCall(ctx, conn, call, func() {})
	if err != nil {
		return 0, e.translate(ctx, m, err)
	}
	defer st.close()
	opts := bindings.ResultGetArrowOptions(&st.res)
	defer bindings.DestroyArrowOptions(&opts)
	types := make([]bindings.LogicalType, len(st.cols))
	names := make([]string, len(st.cols))
	for i := range types {
		types[i] = bindings.ColumnLogicalType(&st.res, bindings.IdxT(i))
		names[i] = st.cols[i].name
	}
	defer func() {
		for i := range types {
			bindings.DestroyLogicalType(&types[i])
		}
	}()
	schema, ed := bindings.NewArrowSchema(opts, types, names)
	if err := errorData(ed); err != nil {
		return 0, err
	}
	var n int64
	for {
		more, err := st.advance()
		if err != nil {
			return n, e.translate(ctx, m, err)
		}
		if !more {
			return n, nil
		}
		rec, ed := bindings.DataChunkToArrowArray(opts, schema, st.chunk)
		if err := errorData(ed); err != nil {
			return n, err
		}
		err = each(rec)
		n += rec.NumRows()
		rec.Release()
		st.pos = st.size
		if err != nil {
			return n, err
		}
	}
}

// errorData turns a DuckDB error data into an error (nil without one) and
// destroys it.
func errorData(ed bindings.ErrorData) error {
	defer bindings.DestroyErrorData(&ed)
	if !bindings.ErrorDataHasError(ed) {
		return nil
	}
	return errors.New(bindings.ErrorDataMessage(ed))
}
