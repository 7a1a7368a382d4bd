package redisstate

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// recorder is an Applier that records what a gateway applies; block, when
// set, holds ApplyPublished until closed (a gateway falling behind).
type recorder struct {
	mu    sync.Mutex
	rows  []string
	lost  []string
	block chan struct{}
	seen  chan struct{}
}

func newRecorder() *recorder { return &recorder{seen: make(chan struct{}, 1000)} }

func (r *recorder) ApplyPublished(_ context.Context, method string, rows []byte) error {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	r.rows = append(r.rows, method+" "+string(rows))
	r.mu.Unlock()
	r.seen <- struct{}{}
	return nil
}

func (r *recorder) StreamLost(table string) {
	r.mu.Lock()
	r.lost = append(r.lost, table)
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.rows...), append([]string(nil), r.lost...)
}

func TestStreamsMiniredis(t *testing.T) { t.Parallel(); streamSuite(t, miniServer) }
func TestStreamsRedisServer(t *testing.T) {
	t.Parallel()
	streamSuite(t, realServer)
}

func streamSuite(t *testing.T, newServer func(*testing.T) server) {
	t.Run("every gateway applies every publish in order", func(t *testing.T) { testRelayOrder(t, newServer(t)) })
	t.Run("a gateway that fell behind is told", func(t *testing.T) { testRelayLost(t, newServer(t)) })
}

func runRelay(t *testing.T, r *StreamRelay, a Applier, tables ...string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, tables, a); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	if err := r.Ready(rctx, tables); err != nil {
		t.Fatal(err)
	}
}

func testRelayOrder(t *testing.T, srv server) {
	a, b := NewStreamRelay(open(t, srv), 100, nil), NewStreamRelay(open(t, srv), 100, nil)
	ra, rb := newRecorder(), newRecorder()
	runRelay(t, a, ra, "Trade")
	runRelay(t, b, rb, "trade")
	ctx := context.Background()
	var want []string
	for i := range 20 {
		relay := a
		if i%2 == 1 {
			relay = b
		}
		rows := fmt.Sprintf(`[{"n":%d}]`, i)
		if err := relay.Publish(ctx, "trade", "m/pub", []byte(rows)); err != nil {
			t.Fatal(err)
		}
		want = append(want, "m/pub "+rows)
	}
	for _, r := range []*recorder{ra, rb} {
		for range want {
			select {
			case <-r.seen:
			case <-time.After(5 * time.Second):
				t.Fatal("a gateway did not apply every publish")
			}
		}
		got, lost := r.snapshot()
		if fmt.Sprint(got) != fmt.Sprint(want) || len(lost) != 0 {
			t.Fatalf("applied %v (lost %v), want %v in order", got, lost, want)
		}
	}
}

func testRelayLost(t *testing.T, srv server) {
	pub, slow := NewStreamRelay(open(t, srv), 5, nil), NewStreamRelay(open(t, srv), 5, nil)
	rs := newRecorder()
	rs.block = make(chan struct{})
	runRelay(t, slow, rs, "quote")
	// The first entry is read and held in ApplyPublished; 20 more arrive
	// meanwhile and the stream keeps only 5.
	runRelay(t, pub, newRecorder(), "quote")
	for i := range 21 {
		if err := pub.Publish(context.Background(), "quote", "m/pub", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	close(rs.block)
	deadline := time.After(5 * time.Second)
	for {
		_, lost := rs.snapshot()
		if len(lost) > 0 {
			if lost[0] != "quote" {
				t.Fatalf("lost %v", lost)
			}
			break
		}
		select {
		case <-rs.seen:
		case <-deadline:
			got, _ := rs.snapshot()
			t.Fatalf("the gateway that fell behind was not told; it applied %v", got)
		}
	}
	got, _ := rs.snapshot()
	if len(got) >= 21 {
		t.Fatalf("applied %d publishes although the stream kept 5", len(got))
	}
}
