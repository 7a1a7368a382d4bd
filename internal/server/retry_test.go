package server

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// poolBackend is a fake backend whose queries each need the one unit of a
// shared resource (as DuckDB's sorts need its memory): a query that finds
// it taken fails busy, as DuckDB does when it runs out of memory; the
// unit comes back when the result is closed. The real engine cannot be
// made to run out of memory at an exact moment, which is what this test
// needs; the e2e and bench runs (bench/budget.sh) use the real one.
type poolBackend struct {
	mu      sync.Mutex
	held    bool
	queries int
}

func (b *poolBackend) Query(ctx context.Context, call qconnect.Call) (qconnect.Rows, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queries++
	if b.held {
		return nil, &qconnect.Error{Code: qconnect.CodeBusy, Message: "out of memory", RetryAfter: time.Second}
	}
	b.held = true
	return &poolRows{b: b}, nil
}

type poolRows struct {
	b    *poolBackend
	once sync.Once
}

func (r *poolRows) Columns() []qconnect.Column { return nil }
func (r *poolRows) Next(ctx context.Context) (*qconnect.Batch, error) {
	return nil, io.EOF
}
func (r *poolRows) Close() error {
	r.once.Do(func() {
		r.b.mu.Lock()
		r.b.held = false
		r.b.mu.Unlock()
	})
	return nil
}

// TestBusyWaitsForAnotherCall: a query that fails busy while another call
// runs is run again when that call ends, and succeeds; alone, busy is the
// answer at once; calls that only wait do not count as running, so two
// calls refused by a resource no call holds both get busy (no deadlock).
func TestBusyWaitsForAnotherCall(t *testing.T) {
	s := &Server{}
	b := &poolBackend{}
	ctx := t.Context()

	s.callEnds.start()
	rowsA, _, err := s.queryFirst(ctx, b, qconnect.Call{})
	if err != io.EOF || rowsA == nil {
		t.Fatalf("first call: %v", err)
	}

	s.callEnds.start()
	done := make(chan error, 1)
	go func() {
		rows, _, err := s.queryFirst(ctx, b, qconnect.Call{})
		if rows != nil {
			rows.Close()
		}
		done <- err
	}()
	// B finds the unit taken and waits for A: wait until it does.
	for {
		s.callEnds.mu.Lock()
		waiting := s.callEnds.waiting
		s.callEnds.mu.Unlock()
		if waiting == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the second call did not wait for the first: %v", err)
		default:
		}
		runtime.Gosched()
	}
	rowsA.Close()
	s.callEnds.end()
	if err := <-done; err != io.EOF {
		t.Fatalf("the second call after the first ended: %v, want its rows", err)
	}
	s.callEnds.end()
	if n := s.counters.busyRetries.Load(); n != 1 {
		t.Errorf("busy retries %d, want 1", n)
	}

	// Alone: busy at once.
	b.held = true
	s.callEnds.start()
	_, _, err = s.queryFirst(ctx, b, qconnect.Call{})
	var qe *qconnect.Error
	if !errors.As(err, &qe) || qe.Code != qconnect.CodeBusy {
		t.Fatalf("alone: %v, want busy", err)
	}
	s.callEnds.end()

	// Two calls, the unit held by no call: each sees only a waiter or
	// nothing besides itself, and both get busy.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.callEnds.start()
			defer s.callEnds.end()
			_, _, errs[i] = s.queryFirst(ctx, b, qconnect.Call{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.As(err, &qe) || qe.Code != qconnect.CodeBusy {
			t.Errorf("call %d with the resource held outside: %v, want busy", i, err)
		}
	}
}
