package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect/client"
)

// TestWSSlowConsumer: a subscriber that stops reading is cut off with
// SubscriptionEndMsg slowConsumer and close 4008 once it is 8 MiB (the
// default queue) behind, while a subscriber of the same stream keeps
// receiving every update in order, and the gateway's memory stays bounded.
//
// The slow socket holds 16 subscriptions on 16 different upstreams (each
// with its own filter that the published rows pass), so the gateway encodes
// 16 copies of every update for it: about 380 MB for the 24 MB published.
// Were the queue not bounded, the gateway would hold all of that; bounded,
// it holds at most 8 MiB for the socket. The test asserts growth under
// 200 MB and logs the figures.
func TestWSSlowConsumer(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("publishes about 24 MB of rows, fanned out 17 times")
	}
	g := wsGateway(t)
	ctx := ctxFor(t, 3*time.Minute)
	pub := sdkLogin(t, g, "trader", "pw-trader")

	fast, err := pub.Subscribe(ctx, "marketData/subTrades", map[string]any{"syms": []string{"ZSLOW"}})
	if err != nil {
		t.Fatal(err)
	}
	// The slow one: a raw socket with a 32 KiB receive buffer that reads
	// nothing until the publishing is over.
	slow := dialRaw(t, g, 32<<10)
	slow.login("trader", "pw-trader")
	const slowSubs = 16
	seqs := map[string]uint64{}
	for i := range slowSubs {
		id := slow.subscribe("marketData/subTrades", map[string]any{"syms": []string{"ZSLOW", fmt.Sprintf("ZX%d", i)}})
		seqs[id] = 0
	}

	const batches, perBatch = 60, 4000 // 240,000 rows ≈ 24 MB of UpdateMsg per upstream
	fastDone := make(chan error, 1)
	go func() {
		rows := 0
		var last uint64
		for rows < batches*perBatch {
			m, err := fast.Next(ctx)
			if err != nil {
				fastDone <- err
				return
			}
			if m.Seq != last+1 {
				fastDone <- fmt.Errorf("fast subscriber: seq %d after %d", m.Seq, last)
				return
			}
			last = m.Seq
			rows += len(m.Rows)
		}
		fastDone <- nil
	}()

	now := time.Now().UTC()
	batch := make([]map[string]any, perBatch)
	publish := func(i int) {
		for j := range batch {
			batch[j] = tradeRow(now.Add(time.Duration(i*perBatch+j)*time.Microsecond), "ZSLOW", 100+float64(j%100)/100, 100)
		}
		if _, err := pub.Publish(ctx, "marketData/pubTrades", batch); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	// Warm up, then measure the gateway's resident memory around the flood.
	publish(0)
	rssBefore := vmKB(t, g.PID(), "VmRSS")
	start := time.Now()
	for i := 1; i < batches; i++ {
		publish(i)
	}
	elapsed := time.Since(start)
	select {
	case err := <-fastDone:
		if err != nil {
			t.Fatalf("the fast subscriber: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the fast subscriber did not get every row")
	}
	rssAfter := vmKB(t, g.PID(), "VmRSS")
	hwm := vmKB(t, g.PID(), "VmHWM")
	t.Logf("published %d rows (%d updates) in %s; a fast subscriber got them all; a socket with %d subscriptions read nothing; gateway VmRSS %d MiB before, %d MiB after, VmHWM %d MiB (peak growth at most %d MiB)",
		batches*perBatch, batches, elapsed.Round(time.Millisecond), slowSubs, rssBefore>>10, rssAfter>>10, hwm>>10, (hwm-rssBefore)>>10)
	if grown := max(rssAfter, hwm) - rssBefore; grown > 200<<10 {
		t.Errorf("the gateway grew by %d MiB; a slow consumer must not hold more than its 8 MiB queue", grown>>10)
	}

	// The slow subscriber now reads: contiguous updates per subscription,
	// then one SubscriptionEndMsg slowConsumer per subscription, then close
	// 4008.
	ended := map[string]bool{}
	updates := 0
	for {
		f, err := slow.read(70 * time.Second)
		if err != nil {
			if code := websocket.CloseStatus(err); code != 4008 {
				t.Fatalf("the slow subscriber was closed with %d (%v), want 4008", code, err)
			}
			break
		}
		last, ok := seqs[f.SubscriptionID]
		if !ok {
			t.Fatalf("a %s for unknown subscription %q", f.Type, f.SubscriptionID)
		}
		switch f.Type {
		case "UpdateMsg":
			if ended[f.SubscriptionID] || f.Seq != last+1 {
				t.Fatalf("slow subscription %s: seq %d after %d (ended %v)", f.SubscriptionID, f.Seq, last, ended[f.SubscriptionID])
			}
			seqs[f.SubscriptionID] = f.Seq
			updates++
		case "SubscriptionEndMsg":
			if f.code() != "slowConsumer" {
				t.Fatalf("end message %+v", f.Error)
			}
			ended[f.SubscriptionID] = true
		default:
			t.Fatalf("the slow subscriber got a %s", f.Type)
		}
	}
	if len(ended) != slowSubs {
		t.Fatalf("%d of %d subscriptions got SubscriptionEndMsg slowConsumer before the close", len(ended), slowSubs)
	}
	if updates >= batches*slowSubs {
		t.Fatalf("the slow socket got all %d updates; it was never cut off", updates)
	}
	t.Logf("the slow socket got %d of %d updates, then slowConsumer for each subscription and close 4008", updates, batches*slowSubs)

	// The fast one still works afterwards.
	publish(batches)
	m, err := fast.Next(ctx)
	if err != nil || m.Kind != client.Update {
		t.Fatalf("the fast subscriber after the slow one was cut: %+v %v", m, err)
	}
}
