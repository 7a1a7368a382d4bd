package auth

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2019, 7, 26, 16, 59, 0, 0, time.UTC)

func TestReplayDuplicate(t *testing.T) {
	r := NewReplayCache(10*time.Minute, 0)
	if err := r.Check("s1", "id-1", t0); err != nil {
		t.Fatal(err)
	}
	if err := r.Check("s1", "id-1", t0.Add(time.Minute)); !errors.Is(err, ErrReplayed) {
		t.Errorf("second use: %v, want ErrReplayed", err)
	}
	if err := r.Check("s2", "id-1", t0.Add(time.Minute)); err != nil {
		t.Errorf("the same id on another session: %v", err)
	}
	if err := r.Check("s1", "id-2", t0.Add(time.Minute)); err != nil {
		t.Errorf("a fresh id: %v", err)
	}
	// A clock that steps back must not reopen an id.
	if err := r.Check("s1", "id-2", t0); !errors.Is(err, ErrReplayed) {
		t.Errorf("replay with an earlier now: %v", err)
	}
}

func TestReplayWindowExpiry(t *testing.T) {
	r := NewReplayCache(10*time.Minute, 0)
	r.Check("s1", "id-1", t0)
	if err := r.Check("s1", "id-1", t0.Add(10*time.Minute-time.Nanosecond)); !errors.Is(err, ErrReplayed) {
		t.Errorf("inside the window: %v", err)
	}
	if err := r.Check("s1", "id-1", t0.Add(10*time.Minute)); err != nil {
		t.Errorf("at the end of the window: %v, want accepted", err)
	}
	// ... and it is remembered again from then on.
	if err := r.Check("s1", "id-1", t0.Add(11*time.Minute)); !errors.Is(err, ErrReplayed) {
		t.Errorf("reuse after re-recording: %v", err)
	}
}

func TestReplayFullNeverEvictsLiveIDs(t *testing.T) {
	r := NewReplayCache(time.Minute, 3)
	for i := range 3 {
		if err := r.Check("s1", fmt.Sprint("id-", i), t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Check("s1", "id-3", t0.Add(5*time.Second)); !errors.Is(err, ErrReplayCacheFull) {
		t.Errorf("fourth id: %v, want ErrReplayCacheFull", err)
	}
	// The oldest id was not evicted to make room: replaying it still fails.
	if err := r.Check("s1", "id-0", t0.Add(6*time.Second)); !errors.Is(err, ErrReplayed) {
		t.Errorf("replay of the oldest id while full: %v, want ErrReplayed", err)
	}
	if err := r.Check("s2", "id-3", t0.Add(6*time.Second)); err != nil {
		t.Errorf("another session is not affected: %v", err)
	}
	// Once the oldest leaves the window there is room again.
	if err := r.Check("s1", "id-3", t0.Add(time.Minute)); err != nil {
		t.Errorf("after the oldest expired: %v", err)
	}
}

func TestReplayMemoryBounded(t *testing.T) {
	r := NewReplayCache(time.Second, 1000)
	now := t0
	for i := range 100000 {
		now = now.Add(time.Millisecond)
		if err := r.Check("s1", fmt.Sprint(i), now); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if _, ids := r.Len(); ids > 1000 {
		t.Errorf("%d ids held, want at most one window's worth (1000)", ids)
	}
	if s := r.sessions["s1"]; cap(s.queue) > 4096 {
		t.Errorf("queue capacity grew to %d", cap(s.queue))
	}
	r.Check("s2", "x", now)
	r.Forget("s2")
	if sessions, _ := r.Len(); sessions != 1 {
		t.Errorf("%d sessions after Forget, want 1", sessions)
	}
	r.Sweep(now.Add(time.Second))
	if sessions, ids := r.Len(); sessions != 0 || ids != 0 {
		t.Errorf("after Sweep past the window: %d sessions, %d ids", sessions, ids)
	}
}

func TestReplayConcurrent(t *testing.T) {
	r := NewReplayCache(time.Minute, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if r.Check("s", fmt.Sprint(i), t0) == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if accepted != 500 {
		t.Errorf("%d ids accepted by 8 racing goroutines, want each of the 500 exactly once", accepted)
	}
}
