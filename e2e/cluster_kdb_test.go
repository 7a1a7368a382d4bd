package e2e

import (
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/fakeq"
	"github.com/qconnect/qconnect/internal/testenv"
)

// TestClusterKDBPublishOnce: three gateways sharing one redis-server, all
// serving the kdb+ example catalog from one tickerplant (the fake q of
// internal/fakeq: not kdb+, a stand-in speaking the real IPC protocol). A
// publish through one gateway is sent to the tickerplant exactly once
// (one .u.upd, not one per gateway), and the tickerplant's own push brings
// it to the subscribers of every gateway, once each, in order.
func TestClusterKDBPublishOnce(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	q, cfg := kdbConfig(t, "examples/kdb/catalog.yaml")
	needFakeQ(t, q)
	var gws []*testenv.Gateway
	for range 3 {
		gws = append(gws, testenv.StartGateway(t, "--config", cfg, "--redis", r.URL()))
	}
	var subs []*rawWS
	for _, g := range gws {
		w := dialRaw(t, g, 0)
		w.login("kxSupport", "12345678")
		w.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_B"}})
		if f := w.expect("SnapshotMsg"); f.Reset {
			t.Fatal("a reset as the first snapshot")
		}
		subs = append(subs, w)
	}
	waitFor(t, "every gateway to subscribe to the tickerplant", func() bool { return q.Subscribers("monMem") == 3 })

	s := login(t, gws[1], "kxSupport", "12345678")
	at := fakeq.Base.Add(10 * time.Second)
	res := s.call("/connect/api/monPublic/pubMem", []any{map[string]any{"rows": []map[string]any{memRow(at, "server_B", 10), memRow(at, "server_B", 11)}}})
	if res.Status != 200 || !res.Env.Success {
		t.Fatalf("publish: %d %s", res.Status, res.Body)
	}
	// A marker pushed by the tickerplant itself after the publish: once
	// every subscriber has it, any further copy of the publish would have
	// arrived before it.
	if err := q.Publish("monMem", memTable("server_B", 12)); err != nil {
		t.Fatal(err)
	}
	for i, w := range subs {
		t.Logf("subscriber on gateway %d", i)
		expectUpdate(t, w, 1, "server_B", 10, 11)
		expectUpdate(t, w, 2, "server_B", 12)
	}
	if n := q.Calls(".u.upd"); n != 1 {
		t.Fatalf("the tickerplant got %d .u.upd calls for one publish through one of three gateways, want 1", n)
	}
}
