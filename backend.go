package qconnect

import (
	"context"
	"time"
)

// Call is one validated method call handed to a backend.
type Call struct {
	Method *Method
	// Params holds a typed value (see the package doc) for every declared
	// parameter: the caller's value, the declared default, or nil.
	Params map[string]any
	// User is the authenticated caller, for backends that audit or filter.
	User string
	// Now is the server clock at the start of the call; computed defaults
	// ("end defaults to now") use it so a call sees one instant.
	Now time.Time
	// Limit, when positive, lets the backend stop after that many rows. The
	// server asks for one row more than the method's row cap, so it can tell
	// a result that was cut from one that fitted.
	Limit int64
}

// Backend runs method calls. Implementations must honour ctx: when it is
// cancelled (client gone, timeout) the running query is cancelled and Query or
// Rows.Next return promptly.
type Backend interface {
	// Query starts the call and returns its rows. Errors are *Error values
	// with a wire code (analyticError for failures of the analytic itself).
	Query(ctx context.Context, call Call) (Rows, error)
}

// Rows is a result streamed in columnar batches. Memory held by an
// implementation is bounded by the batch size, not by the result size.
type Rows interface {
	// Columns describes the result: every batch has one Vector per column,
	// in this order, of the column's Type (see Type.Storage).
	Columns() []Column
	// Next returns the next batch, or (nil, io.EOF) at the end. A batch
	// holds at least one row. It belongs to the Rows and is only valid
	// until the following call to Next or Close (Batch.Clone keeps it).
	Next(ctx context.Context) (*Batch, error)
	// Close releases the result; it is safe to call more than once.
	Close() error
}

// Pinger is implemented by backends that can report readiness.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Appender is implemented by backends that accept published rows
// (PROTOCOL 7, publishing methods). Append stores all rows or none: a
// failure leaves the table as it was.
type Appender interface {
	Append(ctx context.Context, table string, cols []Column, rows [][]any) error
}

// LiveSource is implemented by backends that supply the updates of
// streaming methods themselves (a kdb+ tickerplant, an upstream feed), as
// opposed to rows published through an Appender. The gateway's stream hub
// opens one Feed per distinct subscription (same method, same parameters)
// and fans its events out to every subscriber exactly as it fans out
// published rows: seq numbering, conflation and the slow-consumer rules
// are the hub's, not the source's.
type LiveSource interface {
	// Live starts the live stream of call.Method for call.Params. It
	// returns once the stream is established (or failed to be); events then
	// arrive through the Feed until it is closed or ctx is cancelled.
	Live(ctx context.Context, call Call) (Feed, error)
}

// LocalLive is implemented by a LiveSource whose feeds carry only the rows
// appended through this process (the demo's in-process source) and
// reports true. A LiveSource without it is taken to be one system that
// every gateway of a deployment reads (a kdb+ tickerplant): with shared
// state (--redis) a publish to it is sent once, by the gateway that
// received it, and reaches every gateway's subscribers through the
// source's own feed.
type LocalLive interface {
	LocalLive() bool
}

// Feed is one live stream of a LiveSource.
type Feed interface {
	// Columns describes every batch of the feed.
	Columns() []Column
	// Next blocks until the next event. The first event may be a
	// LiveSnapshot; then LiveUpdate events in the source's order. After a
	// LiveReset (the upstream was lost and re-established, so updates may
	// have been missed) a fresh LiveSnapshot may follow. Next returns an
	// error when the stream ends for good (a *Error with a wire code) or
	// ctx is cancelled. The event's Batch belongs to the caller: the source
	// never reuses it.
	Next(ctx context.Context) (LiveEvent, error)
	// Close ends the stream upstream; it is safe to call more than once.
	Close() error
}

// LiveKind tells what a LiveEvent carries.
type LiveKind uint8

// The kinds of LiveEvent.
const (
	LiveSnapshot LiveKind = iota + 1 // the current state for the parameters
	LiveUpdate                       // new rows, in order
	LiveReset                        // continuity was lost: a gap is possible
)

// LiveEvent is one event of a Feed. Batch is nil for LiveReset.
type LiveEvent struct {
	Kind  LiveKind
	Batch *Batch
}

// PoolStats is a backend's connection pool at one moment, for metrics:
// connections in use and idle, the size limit, and the calls that had to
// wait for a free connection (counted, and their total wait).
type PoolStats struct {
	InUse, Idle, Max int
	Waits            int64
	WaitTime         time.Duration
}
