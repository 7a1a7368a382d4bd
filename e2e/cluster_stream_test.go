package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/testenv"
)

// TestClusterStreams: a row published through one gateway reaches the
// subscribers of the others in publish order with their own gap-free seq;
// identical subscriptions share one upstream per gateway; a client whose
// gateway dies reconnects to another with its session; a gateway that
// falls behind what Redis keeps tells its subscribers (slowConsumer).
func TestClusterStreams(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "--redis-stream-length", "50")
	a, b, gc := c.gw[0], c.gw[1], c.gw[2]
	ctx := ctxFor(t, 2*time.Minute)
	pub := sdkLogin(t, b, "trader", "pw-trader")

	t.Run("publish through B reaches A and C in order with contiguous seq", func(t *testing.T) {
		params := map[string]any{"syms": []string{"server_X"}}
		var subs []*client.Subscription
		for _, g := range []*testenv.Gateway{a, a, gc} { // two identical subscriptions on A
			s := sdkLogin(t, g, "trader", "pw-trader")
			sub, err := s.Subscribe(ctx, "monPublic/sub", params)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := sub.Next(ctx); err != nil || m.Kind != client.Snapshot {
				t.Fatalf("first message: %+v %v", m, err)
			}
			subs = append(subs, sub)
		}
		at := time.Now().UTC().Truncate(time.Microsecond)
		const n = 20
		for i := range n {
			rows := []map[string]any{memRow(at.Add(time.Duration(i)*time.Millisecond), "server_X", float64(i))}
			if k, err := pub.Publish(ctx, "monPublic/pubMem", rows); err != nil || k != 1 {
				t.Fatalf("publish %d via B: %d %v", i, k, err)
			}
		}
		for j, sub := range subs {
			for i := range n {
				m, err := sub.Next(ctx)
				if err != nil {
					t.Fatalf("subscriber %d, update %d: %v", j, i+1, err)
				}
				if m.Kind != client.Update || m.Seq != uint64(i+1) || len(m.Rows) != 1 || m.Rows[0][2] != float64(i) {
					t.Fatalf("subscriber %d: update %d = seq %d %v; want seq %d with usedMB %d", j, i+1, m.Seq, m.Rows, i+1, i)
				}
			}
		}
		// One upstream on A for the two identical subscriptions.
		opened := `msg="stream upstream opened" method=monPublic/sub user=trader`
		joined := `msg="stream subscription joined upstream" method=monPublic/sub user=trader`
		// Log lines reach stderr up to --log-delay after the event.
		waitFor(t, "A's log of the upstream", func() bool {
			return strings.Contains(a.Stderr(), opened) && strings.Contains(a.Stderr(), joined)
		})
		if o, j := strings.Count(a.Stderr(), opened), strings.Count(a.Stderr(), joined); o != 1 || j != 1 {
			t.Fatalf("A opened %d upstreams and joined %d; want 1 and 1", o, j)
		}
		// Stored on every gateway: C's queries see rows published through B.
		s := sdkLogin(t, gc, "trader", "pw-trader")
		res, err := s.Call(ctx, "monPublic/getMem", map[string]any{"syms": []string{"server_X"},
			"start": at.Add(-time.Millisecond), "end": at.Add(time.Second)})
		if err != nil || len(res.Rows) != n {
			t.Fatalf("getMem via C: %v rows, %v; want the %d rows published via B", len(res.Rows), err, n)
		}
	})

	t.Run("a gateway dies mid-stream; its client reconnects elsewhere with its session", func(t *testing.T) {
		s := login(t, b, "trader", "pw-trader")
		w := dialRaw(t, gc, 0)
		if f := w.authReq("trader", s.sid); !f.Success {
			t.Fatalf("AuthReq on C: %+v", f.Error)
		}
		w.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_K"}})
		w.expect("SnapshotMsg")
		at := time.Now().UTC()
		if _, err := pub.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at, "server_K", 1)}); err != nil {
			t.Fatal(err)
		}
		if f := w.expect("UpdateMsg"); f.Seq != 1 {
			t.Fatalf("update on C: seq %d", f.Seq)
		}
		if err := gc.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if _, err := w.read(10 * time.Second); err == nil {
			t.Fatal("the socket to the killed gateway still delivers")
		}
		// Reconnect to A with the same session and subscribe again.
		w2 := dialRaw(t, a, 0)
		if f := w2.authReq("trader", s.sid); !f.Success {
			t.Fatalf("AuthReq on A with the session from B: %+v", f.Error)
		}
		// A stores the rows of other gateways as it reads them from Redis:
		// wait until it has the first one, so that the snapshot holds it and
		// the next update is the second row (otherwise the first may still
		// come as an update).
		sa := sdkLogin(t, a, "trader", "pw-trader")
		waitFor(t, "A storing the row published before the gateway died", func() bool {
			res, err := sa.Call(ctx, "monPublic/getMem", map[string]any{"syms": []string{"server_K"},
				"start": at.Add(-time.Millisecond), "end": at.Add(time.Second)})
			return err == nil && len(res.Rows) == 1
		})
		w2.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_K"}})
		w2.expect("SnapshotMsg")
		if _, err := pub.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at.Add(time.Second), "server_K", 2)}); err != nil {
			t.Fatal(err)
		}
		if f := w2.expect("UpdateMsg"); f.Seq != 1 || len(f.Msg) != 1 || !strings.Contains(string(f.Msg[0]), `"usedMB":2`) {
			t.Fatalf("update after reconnecting: %+v %s", f, f.Msg)
		}
	})

	t.Run("a gateway that fell behind what Redis keeps ends its subscriptions with slowConsumer", func(t *testing.T) {
		w := dialRaw(t, a, 0)
		w.login("trader", "pw-trader")
		id := w.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_L"}})
		w.expect("SnapshotMsg")
		if err := a.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC()
		for i := range 60 { // more than the 50 entries Redis keeps
			if _, err := pub.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at.Add(time.Duration(i)*time.Millisecond), "server_L", float64(i))}); err != nil {
				a.Signal(syscall.SIGCONT)
				t.Fatal(err)
			}
		}
		if err := a.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		// Updates A had already received before it stopped may come first
		// (contiguous); then the end, never a gap.
		var f wsFrame
		for seq := uint64(1); ; seq++ {
			var err error
			if f, err = w.read(20 * time.Second); err != nil {
				t.Fatalf("waiting for SubscriptionEndMsg: %v", err)
			}
			if f.Type != "UpdateMsg" {
				break
			}
			if f.Seq != seq {
				t.Fatalf("update seq %d, want %d", f.Seq, seq)
			}
		}
		if f.Type != "SubscriptionEndMsg" || f.SubscriptionID != id || f.code() != "slowConsumer" {
			t.Fatalf("SubscriptionEndMsg %+v, want slowConsumer for %s", f, id)
		}
	})
}
