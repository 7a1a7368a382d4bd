package auth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestThrottlePerKeyAndRetryAfter(t *testing.T) {
	th := NewThrottle(3, 5*time.Minute, 0)
	for i := range 3 {
		if _, ok, _ := th.Reserve("user:alice", t0.Add(time.Duration(i)*time.Minute)); !ok {
			t.Fatalf("blocked before %d attempts", i)
		}
	}
	// Attempts at 0, 1, 2 min; at 2m30s the key waits until 0 + 5 min.
	retry, ok, _ := th.Reserve("user:alice", t0.Add(150*time.Second))
	if ok || retry != 150*time.Second {
		t.Errorf("Reserve after 3 attempts = %v, %v; want blocked for 2m30s", retry, ok)
	}
	if _, ok, _ := th.Reserve("user:bob", t0.Add(150*time.Second)); !ok {
		t.Error("another key is blocked")
	}
	// At 5m the oldest left the window: this attempt is counted, and the
	// last three are now 1, 2, 5 min, so blocked until 6m.
	if _, ok, _ := th.Reserve("user:alice", t0.Add(5*time.Minute)); !ok {
		t.Error("still blocked once the oldest attempt left the window")
	}
	if retry, ok, _ := th.Reserve("user:alice", t0.Add(5*time.Minute)); ok || retry != time.Minute {
		t.Errorf("sliding window: %v, %v; want blocked for 1m", retry, ok)
	}
	th.Reset("user:alice")
	if _, ok, _ := th.Reserve("user:alice", t0.Add(5*time.Minute)); !ok {
		t.Error("blocked after Reset")
	}
}

func TestThrottleForgive(t *testing.T) {
	th := NewThrottle(2, time.Minute, 0)
	a1, a2 := t0, t0.Add(time.Second)
	th.Reserve("addr:x", a1)
	th.Reserve("addr:x", a2)
	if _, ok, _ := th.Reserve("addr:x", a2); ok {
		t.Fatal("a third attempt passed a limit of 2")
	}
	th.Forgive("addr:x", a1) // that login succeeded
	if _, ok, _ := th.Reserve("addr:x", a2); !ok {
		t.Fatal("a forgiven attempt still counts")
	}
	th.Forgive("addr:x", t0.Add(time.Hour)) // never counted: no effect
	if _, ok, _ := th.Reserve("addr:x", a2); ok {
		t.Fatal("forgiving an attempt that was never counted freed a place")
	}
	th.Forgive("addr:x", a2)
	th.Forgive("addr:x", a2)
	if n := th.Len(); n != 0 {
		t.Errorf("%d keys after every attempt was forgiven", n)
	}
}

func TestThrottleFailuresOutsideWindowDoNotCount(t *testing.T) {
	th := NewThrottle(2, time.Minute, 0)
	th.Reserve("k", t0)
	th.Reserve("k", t0.Add(2*time.Minute)) // the first is out of the window by now
	if _, ok, _ := th.Reserve("k", t0.Add(2*time.Minute)); !ok {
		t.Error("blocked by attempts spread wider than the window")
	}
}

func TestThrottleMaxKeys(t *testing.T) {
	th := NewThrottle(2, time.Minute, 100)
	th.Reserve("victim", t0)
	th.Reserve("victim", t0)
	for i := range 1000 {
		th.Reserve(fmt.Sprint("spray-", i), t0.Add(time.Second))
		if n := th.Len(); n > 100 {
			t.Fatalf("%d keys tracked, want at most 100", n)
		}
	}
	// Keys whose attempts left the window are dropped first.
	th.Reserve("late", t0.Add(2*time.Minute))
	if n := th.Len(); n != 1 {
		t.Errorf("%d keys after the window passed, want only the new one", n)
	}
	th.Sweep(t0.Add(10 * time.Minute))
	if n := th.Len(); n != 0 {
		t.Errorf("%d keys after Sweep", n)
	}
}

func TestThrottleDefaults(t *testing.T) {
	th := NewThrottle(0, 0, 0)
	if th.max != 5 || th.window != 5*time.Minute || th.maxKeys != 100000 {
		t.Errorf("defaults %d %v %d", th.max, th.window, th.maxKeys)
	}
	for range 5 {
		th.Reserve("k", t0)
	}
	if retry, ok, _ := th.Reserve("k", t0); ok || retry != 5*time.Minute {
		t.Errorf("after 5 attempts: %v %v", retry, ok)
	}
}

// TestThrottleReserveIsAtomic: however many Reserve calls race on one key,
// exactly max of them succeed.
func TestThrottleReserveIsAtomic(t *testing.T) {
	th := NewThrottle(5, time.Minute, 0)
	var passed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, ok, _ := th.Reserve("user:alice", t0); ok {
				passed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := passed.Load(); n != 5 {
		t.Errorf("%d of 300 concurrent reservations passed, want exactly 5", n)
	}
}

func TestThrottleConcurrent(t *testing.T) {
	th := NewThrottle(5, time.Minute, 50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprint(g*1000 + i%80)
				th.Reserve(k, t0)
				if i%5 == 0 {
					th.Forgive(k, t0)
				}
				if i%7 == 0 {
					th.Reset(k)
				}
			}
		}()
	}
	wg.Wait()
	if n := th.Len(); n > 50 {
		t.Errorf("%d keys, want at most 50", n)
	}
}
