package server

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/qconnect/qconnect"
)

// Calls that find the backend out of memory wait their turn (PROTOCOL
// appendix 37). A backend answers busy when it ran out of a shared
// resource, DuckDB's memory or spill space for one; while other calls are
// running, some of it comes back when one of them ends. So a REST call
// whose query fails busy before anything was sent runs its query again
// after the next call ends, until it succeeds, fails otherwise, or its
// deadline passes; it is answered busy only when no other call is running
// (it does not fit on its own). Nothing has been written to the client
// before the retry, so the client sees one answer.

// callEnds counts the backend calls running and tells waiters when one
// ends.
type callEnds struct {
	mu      sync.Mutex
	running int           // calls started and not ended
	waiting int           // of those, the ones in wait
	ended   chan struct{} // closed at the next end; nil until someone waits
}

// start counts a call; end ends it (once per start).
func (c *callEnds) start() {
	c.mu.Lock()
	c.running++
	c.mu.Unlock()
}

func (c *callEnds) end() {
	c.mu.Lock()
	c.running--
	if c.ended != nil {
		close(c.ended)
		c.ended = nil
	}
	c.mu.Unlock()
}

// wait blocks until another call ends and reports true; it reports false
// at once when no call other than the caller's own is running (calls
// waiting here do not count: they free nothing), and when ctx ends first.
func (c *callEnds) wait(ctx context.Context) bool {
	c.mu.Lock()
	if c.running-c.waiting <= 1 {
		c.mu.Unlock()
		return false
	}
	c.waiting++
	if c.ended == nil {
		c.ended = make(chan struct{})
	}
	ended := c.ended
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.waiting--
		c.mu.Unlock()
	}()
	select {
	case <-ended:
		return true
	case <-ctx.Done():
		return false
	}
}

// queryFirst runs the call's query and fetches its first batch (nil and
// io.EOF for an empty result), retrying a busy failure after other calls
// end, as described above. On success the caller owns rows.
func (s *Server) queryFirst(ctx context.Context, backend qconnect.Backend, call qconnect.Call) (qconnect.Rows, *qconnect.Batch, error) {
	for {
		rows, err := backend.Query(ctx, call)
		if err == nil {
			batch, nextErr := rows.Next(ctx)
			if nextErr == nil || nextErr == io.EOF {
				return rows, batch, nextErr
			}
			rows.Close()
			err = nextErr
		}
		var qe *qconnect.Error
		if !errors.As(err, &qe) || qe.Code != qconnect.CodeBusy || ctx.Err() != nil {
			return nil, nil, err
		}
		if !s.callEnds.wait(ctx) {
			return nil, nil, err
		}
		s.counters.busyRetries.Add(1)
	}
}
