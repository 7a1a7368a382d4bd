package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestThrottlePerKeyAndRetryAfter(t *testing.T) {
	th := NewThrottle(3, 5*time.Minute, 0)
	for i := range 3 {
		if _, ok := th.Allow("user:alice", t0.Add(time.Duration(i)*time.Minute)); !ok {
			t.Fatalf("blocked before %d failures", i)
		}
		th.Fail("user:alice", t0.Add(time.Duration(i)*time.Minute))
	}
	// Failures at 0, 1, 2 min; at 2m30s the key waits until 0 + 5 min.
	retry, ok := th.Allow("user:alice", t0.Add(150*time.Second))
	if ok || retry != 150*time.Second {
		t.Errorf("Allow after 3 failures = %v, %v; want blocked for 2m30s", retry, ok)
	}
	if _, ok := th.Allow("user:bob", t0.Add(150*time.Second)); !ok {
		t.Error("another key is blocked")
	}
	if _, ok := th.Allow("user:alice", t0.Add(5*time.Minute)); !ok {
		t.Error("still blocked once the oldest failure left the window")
	}
	// A fourth failure at 5m: the last three are 1, 2, 5 min, so blocked until 6m.
	th.Fail("user:alice", t0.Add(5*time.Minute))
	if retry, ok := th.Allow("user:alice", t0.Add(5*time.Minute)); ok || retry != time.Minute {
		t.Errorf("sliding window: %v, %v; want blocked for 1m", retry, ok)
	}
	th.Reset("user:alice")
	if _, ok := th.Allow("user:alice", t0.Add(5*time.Minute)); !ok {
		t.Error("blocked after Reset")
	}
}

func TestThrottleFailuresOutsideWindowDoNotCount(t *testing.T) {
	th := NewThrottle(2, time.Minute, 0)
	th.Fail("k", t0)
	th.Fail("k", t0.Add(2*time.Minute)) // the first is out of the window by now
	if _, ok := th.Allow("k", t0.Add(2*time.Minute)); !ok {
		t.Error("blocked by failures spread wider than the window")
	}
}

func TestThrottleMaxKeys(t *testing.T) {
	th := NewThrottle(2, time.Minute, 100)
	th.Fail("victim", t0)
	th.Fail("victim", t0)
	for i := range 1000 {
		th.Fail(fmt.Sprint("spray-", i), t0.Add(time.Second))
		if n := th.Len(); n > 100 {
			t.Fatalf("%d keys tracked, want at most 100", n)
		}
	}
	// Keys whose failures left the window are dropped first.
	th.Fail("late", t0.Add(2*time.Minute))
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
		th.Fail("k", t0)
	}
	if retry, ok := th.Allow("k", t0); ok || retry != 5*time.Minute {
		t.Errorf("after 5 failures: %v %v", retry, ok)
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
				th.Allow(k, t0)
				th.Fail(k, t0)
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
