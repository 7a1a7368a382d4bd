package server

import (
	"context"
	"sync"
	"time"

	"github.com/qconnect/qconnect"
)

// admission shares the gateway's memory budget between calls: each call
// running against a backend holds one share (MemoryPerCall), so at most
// MemoryBudget/MemoryPerCall calls run at once. A call that finds no share
// free waits in a FIFO queue of at most MemoryQueue calls and is admitted
// in arrival order as shares are released; it gets busy (with Retry-After)
// only when the queue is full or it waited MemoryQueueTimeout. A nil
// admission admits everything at once.
type admission struct {
	maxQueue int
	timeout  time.Duration
	retry    time.Duration
	// after is the timer of the queue timeout (time.After; tests inject
	// their own).
	after func(time.Duration) <-chan time.Time

	mu    sync.Mutex
	free  int
	queue []*admitWaiter // FIFO
}

type admitWaiter struct {
	ready   chan struct{} // closed when granted
	granted bool          // under admission.mu
}

func newAdmission(shares, maxQueue int, timeout, retry time.Duration) *admission {
	return &admission{free: max(shares, 1), maxQueue: maxQueue, timeout: timeout, retry: retry, after: time.After}
}

// acquire waits for a share. The returned release must be called exactly
// once; it hands the share to the oldest waiter.
func (a *admission) acquire(ctx context.Context) (release func(), err error) {
	if a == nil {
		return func() {}, nil
	}
	a.mu.Lock()
	if len(a.queue) == 0 && a.free > 0 {
		a.free--
		a.mu.Unlock()
		return a.releaser(), nil
	}
	if len(a.queue) >= a.maxQueue {
		a.mu.Unlock()
		return nil, &qconnect.Error{Code: qconnect.CodeBusy, RetryAfter: a.retry,
			Message: "the gateway's memory budget is in use and its queue of waiting calls is full; retry after the Retry-After delay"}
	}
	w := &admitWaiter{ready: make(chan struct{})}
	a.queue = append(a.queue, w)
	a.mu.Unlock()

	var gone error
	select {
	case <-w.ready:
		return a.releaser(), nil
	case <-ctx.Done():
		gone = ctx.Err()
	case <-a.after(a.timeout):
		gone = &qconnect.Error{Code: qconnect.CodeBusy, RetryAfter: a.retry,
			Message: "the call waited " + a.timeout.String() + " for a share of the gateway's memory budget; retry after the Retry-After delay"}
	}
	a.mu.Lock()
	if w.granted {
		// Granted just as it gave up: pass the share on.
		a.mu.Unlock()
		a.releaser()()
		return nil, gone
	}
	for i, q := range a.queue {
		if q == w {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			break
		}
	}
	a.mu.Unlock()
	return nil, gone
}

func (a *admission) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if len(a.queue) > 0 {
				w := a.queue[0]
				a.queue[0] = nil
				a.queue = a.queue[1:]
				w.granted = true
				close(w.ready)
				return
			}
			a.free++
		})
	}
}

// waiting returns the number of queued calls, for tests and metrics.
func (a *admission) waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
}
