package duckdb

import (
	"context"
	"errors"

	bindings "github.com/duckdb/duckdb-go-bindings"
)

// stream is one execution of a prepared statement with a streaming result:
// DuckDB produces the result a chunk (2048 rows) at a time as it is
// fetched, holding a small buffer of chunks ahead, instead of building all
// of it before the first row is read.
//
// Deprecated C functions: duckdb_pending_prepared_streaming and
// duckdb_result_is_streaming carry DuckDB's "scheduled for removal"
// notice (deprecated in v1.0.0) and have no streaming replacement yet.
// They were exposed in duckdb-go-bindings for that reason
// (github.com/duckdb/duckdb-go-bindings/pull/61); the request for
// streaming results in the Go driver, which would track their replacement,
// is github.com/duckdb/duckdb-go/issues/100. duckdb_fetch_chunk is not
// deprecated.
//
// A stream is not safe for concurrent use, and its statement's connection
// must not run anything else until close; only bindings.Interrupt may be
// called concurrently.
type stream struct {
	stmt    *stmt // nil once closed
	pending bindings.PendingResult
	res     bindings.Result
	cols    []colType
	// streaming reports whether DuckDB made a streaming result (it always
	// does for a SELECT); a materialised one is read the same way.
	streaming bool

	chunk bindings.DataChunk // the current chunk; Ptr is nil when there is none
	size  int                // rows in chunk
	pos   int                // next row of chunk to read
}

// startStream binds args to stmt and executes it. The stream owns stmt from
// then on: on error stmt is closed. Errors are DuckDB's (or of binding),
// with DuckDB's message.
//
// A caller that interrupts the statement when ctx ends (conn.watch) may
// send that interrupt before DuckDB starts the statement, which clears it;
// so startStream checks ctx once the statement has started, and an
// interrupt sent after that point stops it. One interrupt is therefore
// enough: no ticker re-sends it.
func startStream(ctx context.Context, stmt *stmt, args []arg) (*stream, error) {
	s := &stream{stmt: stmt}
	if err := stmt.Bind(args); err != nil {
		s.close()
		return nil, err
	}
	if bindings.PendingPreparedStreaming(stmt.ps, &s.pending) == bindings.StateError {
		err := errors.New(bindings.PendingError(s.pending))
		s.close()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		s.close()
		return nil, err
	}
	if bindings.ExecutePending(s.pending, &s.res) == bindings.StateError {
		err := resultError(&s.res)
		s.close()
		return nil, err
	}
	s.streaming = bindings.ResultIsStreaming(s.res)
	n := int(bindings.ColumnCount(&s.res))
	s.cols = make([]colType, n)
	for i := range s.cols {
		lt := bindings.ColumnLogicalType(&s.res, bindings.IdxT(i))
		s.cols[i] = describeColumn(bindings.ColumnName(&s.res, bindings.IdxT(i)), lt)
		bindings.DestroyLogicalType(&lt)
	}
	return s, nil
}

// advance makes the current chunk hold unread rows, fetching the next one
// when it is exhausted; it returns false at the end of the result. An
// error is DuckDB's error of the query (a conversion failing in a later
// chunk, an interrupt).
func (s *stream) advance() (bool, error) {
	for s.pos >= s.size {
		bindings.DestroyDataChunk(&s.chunk)
		s.size, s.pos = 0, 0
		s.chunk = bindings.FetchChunk(s.res)
		if s.chunk.Ptr == nil {
			if msg := bindings.ResultError(&s.res); msg != "" {
				return false, resultError(&s.res)
			}
			return false, nil
		}
		s.size = int(bindings.DataChunkGetSize(s.chunk))
	}
	return true, nil
}

// vector returns result column col of the current chunk.
func (s *stream) vector(col int) vec { return vectorOf(s.chunk, col) }

// close destroys the chunk, the result, the pending result and the
// statement; it is safe to call more than once.
func (s *stream) close() {
	bindings.DestroyDataChunk(&s.chunk)
	bindings.DestroyResult(&s.res)
	bindings.DestroyPending(&s.pending)
	if s.stmt != nil {
		_ = s.stmt.Close()
		s.stmt = nil
	}
	s.size, s.pos = 0, 0
}
