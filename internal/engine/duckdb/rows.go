package duckdb

import (
	"context"
	"io"
	"sync"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// rows is the qconnect.Rows of a call. It is a handle on a cursor, which
// holds the resources: when a caller drops a rows without closing it, the
// garbage collector's cleanup closes the cursor (see Query).
type rows struct{ *cursor }

// cursor streams a call's result in batches decoded straight from DuckDB's
// data chunks into the vectors of two qconnect.Batches, reused in turn.
//
// Prefetching: the first Next decodes its batch itself. When the result
// goes on, a producer goroutine then decodes the next batch into the other
// slot while the caller encodes the one it was given, so that DuckDB's
// fetch and the caller's encoding overlap (on a multi-core machine they
// otherwise alternate on one goroutine). At most one batch is decoded
// ahead: the producer is handed a slot only when Next is called again,
// which is when the caller gives up the batch it held (the Rows.Next
// contract), so no batch is written while the caller may read it.
// Between hand-offs only the producer touches the stream and the fill
// state (st, vecs, left, eof); the channels order those accesses.
type cursor struct {
	mu     sync.Mutex
	engine *Engine
	method *qconnect.Method
	qctx   context.Context // the context of Query, which bounds the whole call
	conn   *conn           // held until released; nil after
	st     *stream
	plan   columnPlan
	size   int   // rows per batch
	left   int64 // rows the call still wants when it has a Limit; -1 without
	vecs   []vec // the current chunk's vector of each declared column
	slots  [2]slot
	cur    int   // the slot of the batch the last Next returned
	err    error // sticky
	eof    bool

	work     chan int      // slots to fill, to the producer; nil until it starts
	done     chan fillDone // the producer's outcome of each slot
	inflight bool          // a slot was handed to the producer and its outcome not received

	intr      interrupter
	stopWatch func() bool // stops the watch of qctx
}

// slot is one batch and the decoders' memory for it.
type slot struct {
	batch   *qconnect.Batch
	targets []target // per column: the batch vector and its reused memory
}

// fillDone is the outcome of filling a slot: rows decoded, and the error
// that stopped the fill.
type fillDone struct {
	n   int
	err error
}

// interrupter interrupts the statement running on a connection, until it
// is disarmed: after that the connection may serve another call, which no
// interrupt must reach.
type interrupter struct {
	mu   sync.Mutex
	conn bindings.Connection // zero when disarmed
}

func (i *interrupter) arm(conn bindings.Connection) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.conn = conn
}

// disarm waits for an interrupt being sent; none is sent after it.
func (i *interrupter) disarm() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.conn = bindings.Connection{}
}

// interrupt asks DuckDB to abandon the statement running on the
// connection. It reports false when disarmed.
func (i *interrupter) interrupt() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.conn.Ptr == nil {
		return false
	}
	bindings.Interrupt(i.conn)
	return true
}

// Columns implements qconnect.Rows.
func (c *cursor) Columns() []qconnect.Column { return c.plan.cols }

// Next implements qconnect.Rows: up to the batch size of rows (and no more
// than the call's Limit in all), converted to the qconnect conventions;
// (nil, io.EOF) at the end. The connection is released at the end or at
// the first error, before Close. An error of DuckDB met after some rows of
// a batch were decoded is returned by the following call, after those
// rows.
func (c *cursor) Next(ctx context.Context) (*qconnect.Batch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.err != nil:
		return nil, c.err
	case !c.inflight && c.eof:
		return nil, io.EOF
	case c.conn == nil:
		return nil, internalError("duckdb: Rows.Next after Close")
	}
	if err := c.ctxErr(ctx); err != nil {
		return nil, c.fail(ctx, err)
	}
	if c.work == nil {
		return c.first(ctx)
	}
	// The producer is filling the other slot: wait for it. When this
	// call's own context ends first, interrupt the statement, and wait
	// for the producer to stop.
	var d fillDone
	select {
	case d = <-c.done:
	case <-ctx.Done():
		c.intr.interrupt()
		<-c.done
		c.inflight = false
		return nil, c.fail(ctx, ctx.Err())
	}
	c.inflight = false
	return c.settle(ctx, 1-c.cur, d.n, d.err)
}

// settle ends a Next whose fill of slot filled gave n rows and err: an
// error, or the end of the result, is returned when the slot is empty;
// otherwise the producer (started after the first batch) refills the
// other slot, whose batch the caller has given up, while this one is
// encoded.
func (c *cursor) settle(ctx context.Context, filled, n int, err error) (*qconnect.Batch, error) {
	switch {
	case err != nil:
		c.fail(ctx, err)
		if n == 0 {
			return nil, c.err
		}
	case c.eof:
		c.release()
		if n == 0 {
			return nil, io.EOF
		}
	default:
		if c.work == nil {
			c.work = make(chan int, 1)
			c.done = make(chan fillDone, 1)
			go c.produce(c.work, c.done)
		}
		c.inflight = true
		c.work <- 1 - filled
	}
	c.cur = filled
	return c.slots[filled].batch, nil
}

// first decodes the first batch on the caller's goroutine (so that errors
// at the start of the result, a sort that fails, come from it), and starts
// the producer for the following ones when the result goes on.
func (c *cursor) first(ctx context.Context) (*qconnect.Batch, error) {
	// unwatch stops the watch of ctx and reports whether it interrupted.
	unwatch := func() bool { return false }
	if done := ctx.Done(); done != nil && done != c.qctx.Done() {
		// This call has a context of its own: a fetch that blocks (a sort
		// producing its first chunk) must end with it too.
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(fired)
			c.intr.interrupt()
		})
		unwatch = func() bool {
			if stop() {
				return false
			}
			<-fired // no interrupt arrives after this
			return true
		}
	}
	n, err := c.fillSlot(ctx, &c.slots[0])
	if unwatch() && err == nil {
		// The interrupt may have come after the last fetch: the statement
		// would fail on the next one. The call is over anyway.
		err = ctx.Err()
	}
	return c.settle(ctx, 0, n, err)
}

// produce fills each slot it is handed, under the call's context (a
// Next with a context of its own interrupts the statement itself), until
// work is closed.
func (c *cursor) produce(work <-chan int, done chan<- fillDone) {
	for i := range work {
		n, err := c.fillSlot(c.qctx, &c.slots[i])
		done <- fillDone{n, err}
	}
}

// fillSlot decodes the next rows of the result into slot s's batch.
func (c *cursor) fillSlot(ctx context.Context, s *slot) (int, error) {
	if s.batch == nil {
		s.batch = qconnect.NewBatch(c.plan.cols, c.size)
		s.targets = make([]target, len(c.plan.cols))
	}
	for j := range s.batch.Cols {
		s.batch.Cols[j].Reset(c.size)
		s.targets[j].v, s.targets[j].size = &s.batch.Cols[j], c.size
	}
	n, err := c.fill(ctx, s.targets)
	s.batch.Len = n
	for j := range s.batch.Cols {
		truncate(&s.batch.Cols[j], n)
	}
	return n, err
}

// truncate cuts the fixed-width slices of a vector sized for a whole batch
// to the n rows filled.
func truncate(v *qconnect.Vector, n int) {
	switch v.Type.Storage() {
	case qconnect.StorageBool:
		v.Bools = v.Bools[:n]
	case qconnect.StorageInt:
		v.Ints = v.Ints[:n]
	case qconnect.StorageFloat:
		v.Floats = v.Floats[:n]
	case qconnect.StorageBytes:
		if v.Dict != nil {
			v.Codes = v.Codes[:n]
		}
	case qconnect.StorageGUID:
		v.GUIDs = v.GUIDs[:n]
	}
}

// fill decodes rows into the batch until it is full, the call's Limit is
// reached or the result ends (c.eof). It returns the rows decoded and the
// error that stopped it.
func (c *cursor) fill(ctx context.Context, targets []target) (int, error) {
	n := 0
	for n < c.size && c.left != 0 {
		if c.st.pos >= c.st.size {
			if err := c.ctxErr(ctx); err != nil {
				return n, err
			}
			more, err := c.st.advance()
			if err != nil {
				return n, err
			}
			if !more {
				c.eof = true
				return n, nil
			}
			for j, src := range c.plan.src {
				c.vecs[j] = c.st.vector(src)
			}
		}
		k := min(c.size-n, c.st.size-c.st.pos)
		if c.left > 0 {
			k = int(min(int64(k), c.left))
		}
		for j, dec := range c.plan.dec {
			if err := dec(&targets[j], c.vecs[j], c.st.pos, k, n); err != nil {
				return n, qconnect.Errorf(qconnect.CodeAnalyticError, "method %s: column %s: %v", c.method.FullName(), c.plan.cols[j].Name, err)
			}
		}
		n += k
		c.st.pos += k
		if c.left > 0 {
			c.left -= int64(k)
		}
	}
	if c.left == 0 {
		c.eof = true
	}
	return n, nil
}

// ctxErr is the error of ctx or of the call's context, nil while neither
// has ended.
func (c *cursor) ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.qctx.Err()
}

// fail records a translated error and releases the connection.
func (c *cursor) fail(ctx context.Context, err error) error {
	if c.qctx.Err() != nil && ctx.Err() == nil {
		ctx = c.qctx // the call ended: say so, rather than "interrupted"
	}
	c.err = c.engine.translate(ctx, c.method, err)
	c.release()
	return c.err
}

// Close implements qconnect.Rows; it is safe to call more than once.
func (c *cursor) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.release()
	return nil
}

// release stops the producer (interrupting the statement when it is
// decoding a batch ahead), stops the interrupts, destroys the result and
// statement and returns the connection to the pool, exactly once.
func (c *cursor) release() {
	if c.conn == nil {
		return
	}
	if c.inflight {
		c.intr.interrupt()
		<-c.done
		c.inflight = false
	}
	if c.work != nil {
		close(c.work)
	}
	if c.stopWatch != nil {
		c.stopWatch()
	}
	c.intr.disarm()
	if c.st != nil {
		c.st.close()
	}
	_ = c.conn.Close()
	c.conn = nil
}
