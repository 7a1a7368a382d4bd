// Package logbuf is a log writer that takes the write system call off the
// request path: lines are gathered for up to a short delay (a few
// milliseconds) and written together by one goroutine, so that a busy
// gateway makes one write per delay rather than one per request. Nothing
// is dropped: when MaxPending bytes wait, writers wait for the file (as
// they would writing to it directly). Close writes what is pending.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// Defaults of New.
const (
	DefaultMaxPending = 1 << 20              // bytes that may wait before writers block
	DefaultDelay      = 2 * time.Millisecond // longest a line waits to be written
)

// Writer gathers writes for one goroutine that writes them to the
// underlying writer in order. Each Write is kept whole (a log handler's
// line stays one piece). Safe for concurrent use.
type Writer struct {
	out   io.Writer
	max   int
	delay time.Duration

	wmu     sync.Mutex // held while taking pending bytes and writing them: writes stay in order
	spare   []byte     // under wmu: the last written buffer, reused for the next pending bytes
	mu      sync.Mutex
	written *sync.Cond // broadcast after each write to out
	buf     []byte     // pending, in arrival order
	closed  bool       // after Close: writes go straight to out

	wake     chan struct{} // cap 1: buf became non-empty
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// New starts a Writer in front of out that writes a line at most delay
// after it was written to it (< 0: at once; 0: DefaultDelay) and holds at
// most maxPending bytes (<= 0: DefaultMaxPending) before writers wait.
func New(out io.Writer, maxPending int, delay time.Duration) *Writer {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	if delay == 0 {
		delay = DefaultDelay
	}
	w := &Writer{out: out, max: maxPending, delay: delay, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	w.written = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write queues a copy of p; it returns at once unless MaxPending bytes are
// waiting. Write errors of the underlying writer are not reported (a log
// has no one to tell). After Close it writes to the underlying writer
// directly.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for len(w.buf) >= w.max && !w.closed {
		w.written.Wait()
	}
	if w.closed {
		defer w.mu.Unlock()
		return w.out.Write(p)
	}
	wasEmpty := len(w.buf) == 0
	w.buf = append(w.buf, p...)
	w.mu.Unlock()
	if wasEmpty {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (w *Writer) loop() {
	defer close(w.done)
	var gather *time.Timer
	if w.delay > 0 {
		gather = time.NewTimer(w.delay)
		gather.Stop()
	}
	for {
		select {
		case <-w.wake:
			if gather != nil { // let the lines of the next moment join this write
				gather.Reset(w.delay)
				select {
				case <-gather.C:
				case <-w.stop:
					gather.Stop()
				}
			}
		case <-w.stop:
			w.writePending(true)
			return
		}
		w.writePending(false)
	}
}

// writePending writes the bytes pending now to out, in order after every
// earlier write, and wakes the writers waiting for room. closing also
// marks the Writer closed, in the same step under mu: later Writes go to
// out directly (under mu), so what was pending is written before them.
func (w *Writer) writePending(closing bool) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	b := w.buf
	if closing {
		w.closed, w.buf = true, nil
		if len(b) > 0 {
			_, _ = w.out.Write(b)
		}
		w.written.Broadcast()
		w.mu.Unlock()
		return
	}
	w.buf = w.spare[:0]
	w.mu.Unlock()
	if len(b) > 0 {
		_, _ = w.out.Write(b)
	}
	w.spare = nil
	if cap(b) <= 4*w.max {
		w.spare = b
	}
	w.mu.Lock()
	w.written.Broadcast()
	w.mu.Unlock()
}

// Flush writes what is pending now, in order after what was written
// before, and returns when it is written (the gateway calls it before it
// announces that it listens, so that its start-up lines come first).
func (w *Writer) Flush() { w.writePending(false) }

// Close writes what is pending and stops the goroutine; later writes go
// straight to the underlying writer. It does not close that writer.
func (w *Writer) Close() error {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
	return nil
}
