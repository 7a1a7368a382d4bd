package testenv

import (
	"testing"
	"time"
)

// WaitFor polls cond until it holds: every millisecond at first, backing
// off to every 50 ms, so that a quick condition is seen at once and a slow
// one (an HTTP call, a process starting) is not asked in a tight loop. If
// cond does not hold within the given time the test fails, naming what it
// waited for. It waits on a condition, never for a length of time.
func WaitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(pause) // the polling tick, not a synchronisation by time
		pause = min(2*pause, 50*time.Millisecond)
	}
}
