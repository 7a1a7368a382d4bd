package auth

import (
	"errors"
	"fmt"
	"runtime"
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
	// The three share one bucket (width 3 s), dropped when its newest id
	// (t0+2s) leaves the window: still full just before, room from then on.
	if err := r.Check("s1", "id-3", t0.Add(time.Minute+2*time.Second-time.Nanosecond)); !errors.Is(err, ErrReplayCacheFull) {
		t.Errorf("before the bucket expired: %v, want ErrReplayCacheFull", err)
	}
	if err := r.Check("s1", "id-3", t0.Add(time.Minute+2*time.Second)); err != nil {
		t.Errorf("after the bucket expired: %v", err)
	}
}

func TestReplayMemoryBounded(t *testing.T) {
	// Ids are held for the window plus at most one bucket (1/20 of it):
	// 1,050 ids at one per millisecond.
	r := NewReplayCache(time.Second, 1050)
	now := t0
	for i := range 100000 {
		now = now.Add(time.Millisecond)
		if err := r.Check("s1", fmt.Sprint(i), now); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if _, ids := r.Len(); ids < 1000 || ids > 1050 {
		t.Errorf("%d ids held, want one window's worth plus at most one bucket (1000..1050)", ids)
	}
	if s := r.sessions["s1"]; len(s.sealed) > ReplayBuckets || cap(s.sealed) > 2*ReplayBuckets {
		t.Errorf("%d sealed buckets (capacity %d), want at most %d", len(s.sealed), cap(s.sealed), ReplayBuckets)
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

// uuidAt returns a distinct lower-case UUID v4-shaped id for i.
func uuidAt(i int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i*2654435761%(1<<32), i%65536, i%4096, (i>>12)%4096, i)
}

func TestReplayAcrossBucketBoundaries(t *testing.T) {
	const window = 10 * time.Minute
	width := window / ReplayBuckets
	r := NewReplayCache(window, 0)
	// One id per 7 s over two windows: ids land in many buckets, which are
	// sealed as time passes.
	var ids []string
	var at []time.Time
	for i := 0; i < 2*int(window/(7*time.Second)); i++ {
		now := t0.Add(time.Duration(i) * 7 * time.Second)
		id := uuidAt(i)
		if i%3 == 0 {
			id = fmt.Sprintf("not-a-uuid-%d", i) // the fallback
		} else if i%3 == 1 {
			id = fmt.Sprintf("%032X", i) // 32 hex digits, upper case
		}
		if err := r.Check("s", id, now); err != nil {
			t.Fatalf("fresh id %d: %v", i, err)
		}
		ids, at = append(ids, id), append(at, now)
		// Every earlier id still in its window is refused, whichever bucket
		// (sealed or current) holds it.
		for j := range ids {
			err := r.Check("s", ids[j], now)
			if now.Sub(at[j]) < window && !errors.Is(err, ErrReplayed) {
				t.Fatalf("at %v: replay of id %d (seen %v ago, bucket width %v): %v", now.Sub(t0), j, now.Sub(at[j]), width, err)
			}
			if now.Sub(at[j]) >= window {
				if err != nil {
					t.Fatalf("id %d after its window: %v", j, err)
				}
				at[j] = now // recorded again
			}
		}
	}
	if s := r.sessions["s"]; len(s.sealed) < ReplayBuckets-1 {
		t.Errorf("only %d sealed buckets: the test did not cross bucket boundaries", len(s.sealed))
	}
}

func TestReplayExpiryAtExactlyTwiceSkew(t *testing.T) {
	const skew = 300 * time.Second
	r := NewReplayCache(2*skew, 0)
	// Seen in the middle of a bucket, with other ids around it so that its
	// bucket is sealed and others are opened.
	seen := t0.Add(12*time.Second + 345*time.Millisecond + 678)
	ids := []string{"0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5BD9CB469FA16570867728950E", "plain-id"}
	for _, id := range ids {
		if err := r.Check("s", id, seen); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < 55; i++ {
		r.Check("s", uuidAt(i), seen.Add(time.Duration(i)*10*time.Second))
	}
	for _, id := range ids {
		if err := r.Check("s", id, seen.Add(2*skew-time.Nanosecond)); !errors.Is(err, ErrReplayed) {
			t.Errorf("%s 1 ns before 2×skew: %v, want ErrReplayed", id, err)
		}
		if err := r.Check("s", id, seen.Add(2*skew)); err != nil {
			t.Errorf("%s at exactly 2×skew: %v, want accepted", id, err)
		}
		if err := r.Check("s", id, seen.Add(2*skew+time.Second)); !errors.Is(err, ErrReplayed) {
			t.Errorf("%s after being accepted again: %v, want ErrReplayed", id, err)
		}
	}
}

func TestReplayCompactFormsAreDistinct(t *testing.T) {
	r := NewReplayCache(time.Minute, 0)
	// The same 16 bytes written five ways are five different ids; a
	// mixed-case UUID is kept as a string.
	ids := []string{
		"0f8fad5b-d9cb-469f-a165-70867728950e",
		"0F8FAD5B-D9CB-469F-A165-70867728950E",
		"0f8fad5bd9cb469fa16570867728950e",
		"0F8FAD5BD9CB469FA16570867728950E",
		"0f8fad5b-D9CB-469f-a165-70867728950e",
		"00000000-0000-0000-0000-000000000000",
		"00000000000000000000000000000000",
	}
	for _, id := range ids {
		if err := r.Check("s", id, t0); err != nil {
			t.Errorf("%s: %v, want accepted (a different id)", id, err)
		}
	}
	for _, id := range ids {
		if err := r.Check("s", id, t0.Add(time.Second)); !errors.Is(err, ErrReplayed) {
			t.Errorf("replay of %s: %v", id, err)
		}
	}
	for _, id := range []string{"0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950g", "0f8fad5b_d9cb_469f_a165_70867728950e"} {
		if _, _, ok := parseCompact(id); ok {
			t.Errorf("%q parsed as compact", id)
		}
	}
}

func TestReplayBoundAtDefaultSustains2000PerSecond(t *testing.T) {
	if testing.Short() {
		t.Skip("1.3M checks")
	}
	// 2,000 calls/s on one session for 11 minutes with the default bound and
	// window (2 × 300 s): never full, and the ids held level off.
	r := NewReplayCache(600*time.Second, 0)
	step := time.Second / 2000
	var peak int
	for i := 0; i < 2000*660; i++ {
		if err := r.Check("s", uuidAt(i), t0.Add(time.Duration(i)*step)); err != nil {
			t.Fatalf("call %d (%v in): %v", i, time.Duration(i)*step, err)
		}
		if i%10000 == 0 {
			_, n := r.Len()
			peak = max(peak, n)
		}
	}
	if limit := 2000 * 630; peak > limit {
		t.Errorf("peak %d ids held, want at most 2,000/s × 630 s = %d", peak, limit)
	}
	if peak > DefaultReplayMaxPerSession {
		t.Errorf("peak %d over the default bound", peak)
	}
}

// BenchmarkReplayBytesPerID reports the heap bytes per remembered UUID id
// at steady state: one session at 2,000 ids/s over a 10-minute window, so
// about 1.2M ids held, most in sealed buckets and one bucket's worth in the
// current map.
func BenchmarkReplayBytesPerID(b *testing.B) {
	const n = 2000 * 600
	ids := make([]string, n+2000*60)
	for i := range ids {
		ids[i] = uuidAt(i)
	}
	step := time.Second / 2000
	var bytesPerID, heldIDs float64
	b.ResetTimer()
	for range b.N {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		r := NewReplayCache(600*time.Second, 0)
		for i, id := range ids {
			if err := r.Check("s", id, t0.Add(time.Duration(i)*step)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		_, held := r.Len()
		bytesPerID = float64(m1.HeapAlloc-m0.HeapAlloc) / float64(held)
		heldIDs = float64(held)
		runtime.KeepAlive(r)
	}
	b.ReportMetric(bytesPerID, "bytes/id")
	b.ReportMetric(heldIDs, "ids")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/check")
}
