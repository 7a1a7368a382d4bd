package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer that records every write.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	gate   chan struct{} // when not nil, each write waits for a value
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	if l.gate != nil {
		<-l.gate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func TestLinesWholeInOrderAndFlushedByClose(t *testing.T) {
	t.Parallel()
	out := &lockedBuffer{}
	w := New(out, 256, -1)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	w.Close()
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.b.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines written, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d line %d", &g, &i); err != nil {
			t.Fatalf("line %q is not whole: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	// After Close, writes go straight through.
	fmt.Fprint(w, "late\n")
	if !strings.HasSuffix(out.b.String(), "late\n") {
		t.Fatal("a write after Close was not written")
	}
}

// While the underlying writer is stuck, lines gather and go out in one
// write once it returns.
func TestPendingLinesGoOutTogether(t *testing.T) {
	t.Parallel()
	out := &lockedBuffer{gate: make(chan struct{})}
	w := New(out, 1<<20, 0)
	fmt.Fprint(w, "first\n") // taken by the loop, which now waits on the gate
	for i := range 100 {
		fmt.Fprintf(w, "l%d\n", i)
	}
	close(out.gate)
	w.Close()
	if out.writes > 3 {
		t.Fatalf("%d writes for 101 lines written while the output was stuck; want them gathered", out.writes)
	}
	if n := strings.Count(out.b.String(), "\n"); n != 101 {
		t.Fatalf("%d lines, want 101", n)
	}
}

// Flush writes what is pending before it returns, after what went before.
func TestFlush(t *testing.T) {
	t.Parallel()
	out := &lockedBuffer{}
	w := New(out, 1<<20, time.Hour) // nothing would be written for an hour
	defer w.Close()
	fmt.Fprint(w, "one\n")
	fmt.Fprint(w, "two\n")
	w.Flush()
	out.mu.Lock()
	got := out.b.String()
	out.mu.Unlock()
	if got != "one\ntwo\n" {
		t.Fatalf("after Flush: %q", got)
	}
}
