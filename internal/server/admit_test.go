package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// TestAdmissionInOrder: with two shares taken, waiters are admitted one per
// release, oldest first.
func TestAdmissionInOrder(t *testing.T) {
	t.Parallel()
	a := newAdmission(2, 10, time.Hour, time.Second)
	never := make(chan time.Time)
	a.after = func(time.Duration) <-chan time.Time { return never }
	r1, err1 := a.acquire(context.Background())
	r2, err2 := a.acquire(context.Background())
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	const n = 5
	admitted := make(chan int, n)
	releases := make(chan func(), n)
	for i := range n {
		go func() {
			r, err := a.acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			admitted <- i
			releases <- r
		}()
		// Queue them in a known order.
		for a.waiting() != i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case i := <-admitted:
		t.Fatalf("waiter %d admitted while both shares are held", i)
	default:
	}
	r1()
	r1() // a second release is a no-op, not a second share
	next := []func(){r2}
	for want := range n {
		if got := <-admitted; got != want {
			t.Fatalf("admitted waiter %d, want %d (arrival order)", got, want)
		}
		select {
		case i := <-admitted:
			t.Fatalf("waiter %d admitted too: only one share was released", i)
		default:
		}
		next = append(next, <-releases)
		next[0]()
		next = next[1:]
	}
}

func TestAdmissionTimesOutWithBusy(t *testing.T) {
	t.Parallel()
	a := newAdmission(1, 1, 30*time.Second, 2*time.Second)
	fire := make(chan time.Time)
	var asked time.Duration
	a.after = func(d time.Duration) <-chan time.Time { asked = d; return fire }
	hold, err := a.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := a.acquire(context.Background())
		errc <- err
	}()
	for a.waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	// The queue holds one: a further call is busy at once.
	_, err = a.acquire(context.Background())
	var qe *qconnect.Error
	if !errors.As(err, &qe) || qe.Code != qconnect.CodeBusy || qe.RetryAfter != 2*time.Second {
		t.Fatalf("call beyond a full queue: %v, want busy with Retry-After 2s", err)
	}
	fire <- time.Time{} // the queue timeout passes
	err = <-errc
	if !errors.As(err, &qe) || qe.Code != qconnect.CodeBusy {
		t.Fatalf("after the queue timeout: %v, want busy", err)
	}
	if asked != 30*time.Second {
		t.Errorf("timer set to %v, want the configured 30s", asked)
	}
	if a.waiting() != 0 {
		t.Errorf("%d still queued after the timeout", a.waiting())
	}
	// The share is still held by the first call; released, it is free.
	hold()
	r, err := a.acquire(context.Background())
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r()
}

// TestMemoryShareDefault: a call's default share is an eighth of the budget,
// but never less than MinMemoryPerCall (nor more than the whole budget).
func TestMemoryShareDefault(t *testing.T) {
	for _, c := range []struct{ budget, want int64 }{
		{1 << 30, 1 << 27},              // 1 GiB: an eighth
		{100_000_000, MinMemoryPerCall}, // the demo's 100MB: 32 MiB, so 2 calls at once
		{16 << 20, 16 << 20},            // below the floor: the whole budget
	} {
		cfg := Config{MemoryBudget: c.budget}
		cfg.setDefaults()
		if cfg.MemoryPerCall != c.want {
			t.Errorf("budget %d: share %d, want %d", c.budget, cfg.MemoryPerCall, c.want)
		}
	}
}
