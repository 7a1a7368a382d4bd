package redisstate

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/qconnect/qconnect/internal/testenv"
)

// holders counts the processes running a lease's work; max is the most at
// once.
type holders struct {
	now, max atomic.Int32
	mu       sync.Mutex
	who      []string
}

func (h *holders) work(name string) func(ctx context.Context) {
	return func(ctx context.Context) {
		n := h.now.Add(1)
		for {
			m := h.max.Load()
			if n <= m || h.max.CompareAndSwap(m, n) {
				break
			}
		}
		h.mu.Lock()
		h.who = append(h.who, name)
		h.mu.Unlock()
		<-ctx.Done()
		h.now.Add(-1)
	}
}

func (h *holders) last() (string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.who) == 0 {
		return "", 0
	}
	return h.who[len(h.who)-1], len(h.who)
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, what, 10*time.Second, cond)
}

// TestLease: of two gateways, one holds the lease and runs the work; when
// it leaves (context ended) the other takes over at once; when the holder
// dies (can no longer reach Redis, key left behind) it stops its work, and
// the other takes over once the key has expired. Never two at once.
func TestLease(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	srv := server{url: "redis://" + m.Addr() + "/0"}
	log := slog.New(slog.DiscardHandler)
	const ttl = 600 * time.Millisecond
	var h holders
	run := func(name string, c *Client) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { NewLease(c, "feed", ttl, log).Run(ctx, h.work(name)); close(done) }()
		return func() { cancel(); <-done }
	}
	ca, cb := open(t, srv), open(t, srv)
	stopA := run("a", ca)
	waitCond(t, "a to hold the lease", func() bool { w, _ := h.last(); return w == "a" })
	stopB := run("b", cb)
	defer stopB()

	// A leaves: B takes over without waiting for the TTL.
	stopA()
	waitCond(t, "b to take over after a left", func() bool { w, n := h.last(); return w == "b" && n == 2 })

	// B dies: its client cannot reach Redis any more, its key stays.
	cc := open(t, srv)
	stopC := run("c", cc)
	defer stopC()
	cb.Close()
	waitCond(t, "b to stop its work", func() bool { return h.now.Load() == 0 })
	if w, n := h.last(); n != 2 {
		t.Fatalf("%s took the lease while b's key had not expired", w)
	}
	m.FastForward(ttl) // the key of the dead holder expires
	waitCond(t, "c to take over after b's key expired", func() bool { w, n := h.last(); return w == "c" && n == 3 })
	if mx := h.max.Load(); mx != 1 {
		t.Fatalf("%d holders at once", mx)
	}
}
