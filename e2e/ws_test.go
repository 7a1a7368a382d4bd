package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/testenv"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// memRow is a monMem sample in its JSON form.
func memRow(at time.Time, sym string, used float64) map[string]any {
	return map[string]any{"time": at.UTC().Format(time.RFC3339Nano), "sym": sym, "usedMB": used, "freeMB": 1000 - used, "cpuLoad": 0.5}
}

// TestWSSubscribePublish: the snapshot is the latest sample per server;
// published rows arrive as updates, filtered, exactly as published, with
// seq 1, 2; they are stored (later queries see them); after Unsubscribe
// nothing more arrives.
func TestWSSubscribePublish(t *testing.T) {
	t.Parallel()
	g := wsGateway(t)
	s := sdkLogin(t, g, "trader", "pw-trader")
	ctx := ctxFor(t, time.Minute)

	sub, err := s.Subscribe(ctx, "monPublic/sub", map[string]any{"syms": []string{"server_A", "server_B"}})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := sub.Next(ctx)
	if err != nil || snap.Kind != client.Snapshot {
		t.Fatalf("first message: %+v, %v; want the snapshot", snap, err)
	}
	if len(snap.Rows) != 2 || snap.Rows[0][1] != "server_A" || snap.Rows[1][1] != "server_B" {
		t.Fatalf("snapshot rows %v: want the latest sample of server_A and server_B", snap.Rows)
	}
	// The latest per server: the last row getMem returns for server_A.
	hist, err := s.Call(ctx, "monPublic/getMem", map[string]any{"syms": []string{"server_A"}})
	if err != nil || len(hist.Rows) == 0 {
		t.Fatalf("getMem: %v", err)
	}
	if last := hist.Rows[len(hist.Rows)-1]; !reflect.DeepEqual(last, snap.Rows[0]) {
		t.Fatalf("snapshot %v is not the latest sample %v", snap.Rows[0], last)
	}

	at := time.Now().UTC().Truncate(time.Microsecond)
	n, err := s.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at, "server_A", 100.5), memRow(at, "server_C", 200), memRow(at, "server_B", 300.25)})
	if err != nil || n != 3 {
		t.Fatalf("publish: %d, %v", n, err)
	}
	n, err = s.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at.Add(time.Second), "server_B", 301)})
	if err != nil || n != 1 {
		t.Fatalf("publish: %d, %v", n, err)
	}
	u1, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want1 := [][]any{{at, "server_A", 100.5, 899.5, 0.5}, {at, "server_B", 300.25, 699.75, 0.5}}
	if u1.Kind != client.Update || u1.Seq != 1 || !reflect.DeepEqual(u1.Rows, want1) {
		t.Fatalf("update 1 = seq %d %v, want seq 1 %v", u1.Seq, u1.Rows, want1)
	}
	if u2.Seq != 2 || len(u2.Rows) != 1 || u2.Rows[0][2] != 301.0 {
		t.Fatalf("update 2 = seq %d %v", u2.Seq, u2.Rows)
	}
	// Stored: the filtered-out row too.
	res, err := s.Call(ctx, "monPublic/getMem", map[string]any{"syms": []string{"server_C"},
		"start": at.Add(-time.Millisecond), "end": at.Add(time.Millisecond)})
	if err != nil || len(res.Rows) != 1 || res.Rows[0][2] != 200.0 {
		t.Fatalf("the published row is not stored: %v %v", res, err)
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, client.ErrUnsubscribed) {
		t.Fatalf("Next after Unsubscribe: %v", err)
	}

	// The wire after UnsubscribeResp: no UpdateMsg, even for rows that match.
	w := dialRaw(t, g, 0)
	w.login("trader", "pw-trader")
	id := w.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_D"}})
	w.expect("SnapshotMsg")
	if _, err := s.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at, "server_D", 1)}); err != nil {
		t.Fatal(err)
	}
	if f := w.expect("UpdateMsg"); f.SubscriptionID != id || f.Seq != 1 {
		t.Fatalf("update %+v", f)
	}
	w.send("UnsubscribeReq", []any{map[string]string{"subscriptionId": id}})
	w.expect("UnsubscribeResp")
	if _, err := s.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at, "server_D", 2)}); err != nil {
		t.Fatal(err)
	}
	w.send("PingReq", []any{})
	w.expect("PingResp") // an update would have been queued before it
}

// TestWSEntitlementAndParams: the REST checks and codes, over the socket.
func TestWSEntitlementAndParams(t *testing.T) {
	t.Parallel()
	g := wsGateway(t)
	ctx := ctxFor(t, time.Minute)
	viewer := sdkLogin(t, g, "viewer", "pw-viewer")
	trader := sdkLogin(t, g, "trader", "pw-trader")
	code := func(err error) qconnect.Code {
		var ce *client.Error
		if errors.As(err, &ce) {
			return ce.Code
		}
		return qconnect.Code(fmt.Sprint("not a client.Error: ", err))
	}
	cases := []struct {
		what string
		err  error
		want qconnect.Code
	}{
		{"viewer subscribes", func() error { _, err := viewer.Subscribe(ctx, "monPublic/sub", nil); return err }(), qconnect.CodeForbidden},
		{"viewer publishes", func() error {
			_, err := viewer.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(time.Now(), "server_A", 1)})
			return err
		}(), qconnect.CodeForbidden},
		{"bad parameter type", func() error {
			_, err := trader.Subscribe(ctx, "monPublic/sub", map[string]any{"syms": 5})
			return err
		}(), qconnect.CodeInvalidParams},
		{"unknown parameter", func() error {
			_, err := trader.Subscribe(ctx, "monPublic/sub", map[string]any{"sym": "server_A"})
			return err
		}(), qconnect.CodeInvalidParams},
		{"conflate too short", func() error {
			_, err := trader.Subscribe(ctx, "marketData/subQuotes", map[string]any{"conflate": "1ms"})
			return err
		}(), qconnect.CodeInvalidParams},
		{"unknown method", func() error { _, err := trader.Subscribe(ctx, "monPublic/nope", nil); return err }(), qconnect.CodeUnknownMethod},
		{"not a streaming method", func() error { _, err := trader.Subscribe(ctx, "monPublic/getMem", nil); return err }(), qconnect.CodeUnknownMethod},
	}
	for _, tc := range cases {
		if got := code(tc.err); got != tc.want {
			t.Errorf("%s: %v; want %s", tc.what, tc.err, tc.want)
		}
	}

	// A malformed batch: nothing stored, nothing sent.
	w := dialRaw(t, g, 0)
	w.login("trader", "pw-trader")
	w.subscribe("marketData/subTrades", map[string]any{"syms": []string{"ZBAD"}})
	now := time.Now().UTC()
	bad := []map[string]any{tradeRow(now, "ZBAD", 10, 100), {"time": now.Format(time.RFC3339Nano), "sym": "ZBAD", "price": "abc"},
		{"sym": "ZBAD", "colour": 1}}
	_, err := trader.Publish(ctx, "marketData/pubTrades", bad)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != qconnect.CodeInvalidParams || ce.Status != 422 {
		t.Fatalf("malformed batch: %v", err)
	}
	details := strings.Join(ce.Details, "\n")
	for _, want := range []string{"rows[1].price", "rows[2].colour: unknown column"} {
		if !strings.Contains(details, want) {
			t.Errorf("details lack %q:\n%s", want, details)
		}
	}
	// The same over the socket: ExecuteReq on the publishing method.
	w.send("ExecuteReq", []any{map[string]any{"method": "marketData/pubTrades", "params": map[string]any{"rows": bad}}})
	if f := w.expect("ExecuteResp"); f.code() != "invalidParams" {
		t.Fatalf("malformed batch over the socket: %+v", f)
	}
	w.send("ExecuteReq", []any{map[string]any{"method": "monPublic/sub"}})
	if f := w.expect("ExecuteResp"); f.code() != "unknownMethod" {
		t.Fatalf("ExecuteReq on a streaming method: %+v", f)
	}
	w.send("PingReq", []any{})
	w.expect("PingResp") // no UpdateMsg came first
	res, err := trader.Call(ctx, "marketData/getTrades", map[string]any{"syms": []string{"ZBAD"}, "start": now.Add(-time.Hour), "end": now.Add(time.Hour)})
	if err != nil || len(res.Rows) != 0 {
		t.Fatalf("a rejected batch was stored: %v %v", res, err)
	}
}

// TestWSAuthentication: AuthReq signed over GET /connect/ws attaches a
// session; a bad signature, a first frame that is not LoginReq or AuthReq,
// or no frame in time close the socket with 4401; LogoutReq answers
// LogoutResp, closes 1000 and ends the session (its other sockets 4401);
// a REST logout closes the session's subscriptions with 4401.
func TestWSAuthentication(t *testing.T) {
	t.Parallel()
	g := wsGateway(t, "--ws-first-frame-timeout", "1s")
	ctx := ctxFor(t, time.Minute)
	rest := login(t, g, "trader", "pw-trader")

	forged := "X" + rest.sid[1:] // same suffix, another key
	w := dialRaw(t, g, 0)
	if f := w.authReq("trader", forged); f.code() != "invalidSignature" {
		t.Fatalf("forged AuthReq: %+v", f)
	}
	if c := w.closeCode(10 * time.Second); c != 4401 {
		t.Fatalf("forged AuthReq: close %d, want 4401", c)
	}

	ok := dialRaw(t, g, 0)
	if f := ok.authReq("trader", rest.sid); !f.Success {
		t.Fatalf("AuthReq: %+v", f.Error)
	}
	ok.send("ExecuteReq", []any{map[string]any{"method": "monPublic/getMem", "params": map[string]any{"syms": []string{"server_A"}}}})
	if f := ok.expect("ExecuteResp"); !f.Success || len(f.Msg) == 0 || f.Meta == nil || f.Meta.RowCount != int64(len(f.Msg)) {
		t.Fatalf("ExecuteReq: %+v", f)
	}

	silent := dialRaw(t, g, 0)
	start := time.Now()
	if c := silent.closeCode(10 * time.Second); c != 4401 || time.Since(start) > 5*time.Second {
		t.Fatalf("no first frame: close %d after %s, want 4401 after about 1 s", c, time.Since(start))
	}
	early := dialRaw(t, g, 0)
	early.send("PingReq", []any{})
	if f := early.expect("PingResp"); f.Success {
		t.Fatal("PingReq before authentication succeeded")
	}
	if c := early.closeCode(10 * time.Second); c != 4401 {
		t.Fatalf("PingReq first: close %d, want 4401", c)
	}

	// LogoutReq on one socket: LogoutResp, close 1000; the session's other
	// socket closes 4401 and the session is gone for REST too.
	a := dialRaw(t, g, 0)
	sid := a.login("trader", "pw-trader")
	b := dialRaw(t, g, 0)
	if f := b.authReq("trader", sid); !f.Success {
		t.Fatalf("AuthReq with the socket's session: %+v", f.Error)
	}
	a.send("LogoutReq", []any{})
	a.expect("LogoutResp")
	if c := a.closeCode(10 * time.Second); c != websocket.StatusNormalClosure {
		t.Fatalf("LogoutReq: close %d, want 1000", c)
	}
	if c := b.closeCode(10 * time.Second); c != 4401 {
		t.Fatalf("the session's other socket: close %d, want 4401", c)
	}
	gone := &session{t: t, g: g, user: "trader", sid: sid}
	expect(t, "REST after LogoutReq", gone.call("/connect/api/auth/ping", []any{}), 401, "invalidSession")

	// A REST logout ends the SDK's subscription with 4401.
	s := sdkLogin(t, g, "trader", "pw-trader")
	sub, err := s.Subscribe(ctx, "marketData/subTrades", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = sub.Next(ctx)
	var cl *client.CloseError
	if !errors.As(err, &cl) || cl.Code != 4401 {
		t.Fatalf("after logout: %v, want a close with 4401", err)
	}
}

// TestWSExecuteFrameLimit: an ExecuteResp is cut at the frame limit with
// meta.truncated, and at the row limit like REST.
func TestWSExecuteFrameLimit(t *testing.T) {
	t.Parallel()
	g := wsGateway(t, "--ws-max-frame", "65536")
	w := dialRaw(t, g, 0)
	w.login("trader", "pw-trader")
	w.send("ExecuteReq", []any{map[string]any{"method": "marketData/getTrades"}})
	f := w.expect("ExecuteResp")
	if !f.Success || f.Meta == nil || !f.Meta.Truncated || f.Meta.RowCount != int64(len(f.Msg)) || len(f.Msg) < 100 || len(f.Msg) >= 20000 {
		t.Fatalf("a day of trades in 64 KiB: %d rows, meta %+v", len(f.Msg), f.Meta)
	}
	if f.size > 65536 {
		t.Fatalf("the frame has %d bytes, over the 65536 limit", f.size)
	}
	w.send("ExecuteReq", []any{map[string]any{"method": "marketData/getTrades", "params": map[string]any{"limit": 5}}})
	if f := w.expect("ExecuteResp"); len(f.Msg) != 5 || f.Meta.Truncated {
		t.Fatalf("limit 5: %d rows, meta %+v", len(f.Msg), f.Meta)
	}
}

// TestWSConflation: a subscription with conflate 500ms gets at most one
// update per 500 ms holding the latest row per symbol; an identical one
// without conflation gets every row.
func TestWSConflation(t *testing.T) {
	t.Parallel()
	g := wsGateway(t)
	s := sdkLogin(t, g, "trader", "pw-trader")
	ctx := ctxFor(t, time.Minute)
	syms := []string{"ZQA", "ZQB"}
	conf, err := s.Subscribe(ctx, "marketData/subQuotes", map[string]any{"syms": syms, "conflate": "500ms"})
	if err != nil {
		t.Fatal(err)
	}
	every, err := s.Subscribe(ctx, "marketData/subQuotes", map[string]any{"syms": syms})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	q := func(sym string, bid float64) map[string]any {
		return map[string]any{"time": now.Format(time.RFC3339Nano), "sym": sym, "bid": bid, "ask": bid + 0.01, "bsize": 100, "asize": 100}
	}
	for _, batch := range [][]map[string]any{{q("ZQA", 1), q("ZQB", 1), q("ZQA", 2)}, {q("ZQA", 3), q("ZQC", 9)}, {q("ZQB", 2)}} {
		if _, err := s.Publish(ctx, "marketData/pubQuotes", batch); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	for rows < 5 {
		m, err := every.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rows += len(m.Rows)
	}
	latest := map[string]float64{}
	var arrivals []time.Time
	for latest["ZQA"] != 3 || latest["ZQB"] != 2 {
		m, err := conf.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		arrivals = append(arrivals, time.Now())
		seen := map[string]bool{}
		for _, r := range m.Rows {
			sym := r[1].(string)
			if seen[sym] {
				t.Fatalf("update %d holds two rows of %s: not conflated", m.Seq, sym)
			}
			seen[sym] = true
			latest[sym] = r[2].(float64)
		}
	}
	for i := 1; i < len(arrivals); i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < 400*time.Millisecond {
			t.Fatalf("conflated updates %s apart; want at least the 500 ms interval", gap)
		}
	}
	if len(arrivals) > 2 {
		t.Fatalf("%d conflated updates for 3 publishes made within a few ms", len(arrivals))
	}
}

// TestWSSharedUpstream: identical subscriptions of one user share one
// upstream. The hub counts upstreams; the gateway logs "stream upstream
// opened" when it creates one and "stream subscription joined upstream"
// when a subscription shares one, and the test counts those lines (the
// binary has no other window on the hub).
func TestWSSharedUpstream(t *testing.T) {
	t.Parallel()
	g := wsGateway(t)
	s := sdkLogin(t, g, "trader", "pw-trader")
	ctx := ctxFor(t, time.Minute)
	a, err := s.Subscribe(ctx, "marketData/subTrades", map[string]any{"syms": []string{"ZSH"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Subscribe(ctx, "marketData/subTrades", map[string]any{"syms": []string{"ZSH"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, "marketData/subTrades", map[string]any{"syms": []string{"ZSH2"}}); err != nil {
		t.Fatal(err)
	}
	opened := `msg="stream upstream opened" method=marketData/subTrades user=trader`
	joined := `msg="stream subscription joined upstream" method=marketData/subTrades user=trader`
	waitFor(t, "the subscription log lines", func() bool {
		return strings.Count(g.Stderr(), opened) == 2 && strings.Count(g.Stderr(), joined) == 1
	})
	if _, err := s.Publish(ctx, "marketData/pubTrades", []map[string]any{tradeRow(time.Now(), "ZSH", 5, 100)}); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []*client.Subscription{a, b} {
		m, err := sub.Next(ctx)
		if err != nil || m.Seq != 1 || len(m.Rows) != 1 || m.Rows[0][1] != "ZSH" {
			t.Fatalf("shared subscription %s: %+v %v", sub.ID, m, err)
		}
	}
	if a.ID == b.ID {
		t.Fatal("two subscriptions got one subscriptionId")
	}
}

// TestWSDemoFeed: in demo mode the feed streams out of the box.
func TestWSDemoFeed(t *testing.T) {
	t.Parallel()
	g := testenv.StartGateway(t)
	s := sdkLogin(t, g, "kxSupport", "12345678")
	ctx := ctxFor(t, time.Minute)
	mem, err := s.Subscribe(ctx, "monPublic/sub", map[string]any{"syms": []string{"server_C"}})
	if err != nil {
		t.Fatal(err)
	}
	trades, err := s.Subscribe(ctx, "marketData/subTrades", nil)
	if err != nil {
		t.Fatal(err)
	}
	wait := ctxFor(t, 10*time.Second)
	if m, err := mem.Next(wait); err != nil || m.Kind != client.Snapshot {
		t.Fatalf("snapshot: %+v %v", m, err)
	}
	for i := 1; i <= 2; i++ {
		m, err := mem.Next(wait)
		if err != nil || m.Seq != uint64(i) || len(m.Rows) != 1 || m.Rows[0][1] != "server_C" {
			t.Fatalf("monMem update %d from the feed: %+v %v", i, m, err)
		}
	}
	if m, err := trades.Next(wait); err != nil || m.Seq != 1 || len(m.Rows) == 0 {
		t.Fatalf("trade update from the feed: %+v %v", m, err)
	}
	// The feed's rows are stored: getMem sees the sample streamed.
	res, err := s.Call(ctx, "monPublic/getMem", map[string]any{"syms": []string{"server_C"}, "start": time.Now().Add(-time.Minute)})
	if err != nil || len(res.Rows) < 2 {
		t.Fatalf("the feed's monMem rows are not stored: %v %v", res, err)
	}
	// Publishing still reaches subscribers, once each row, through the
	// live source (the feed makes no server_Q rows).
	pub, err := s.Subscribe(ctx, "monPublic/sub", map[string]any{"syms": []string{"server_Q"}})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := pub.Next(wait); err != nil || m.Kind != client.Snapshot || len(m.Rows) != 0 {
		t.Fatalf("server_Q snapshot: %+v %v", m, err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	for i := 1; i <= 2; i++ {
		if n, err := s.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at.Add(time.Duration(i)*time.Millisecond), "server_Q", float64(i))}); err != nil || n != 1 {
			t.Fatalf("publish %d: %d %v", i, n, err)
		}
	}
	for i := 1; i <= 2; i++ {
		m, err := pub.Next(wait)
		if err != nil || m.Seq != uint64(i) || len(m.Rows) != 1 || m.Rows[0][2] != float64(i) {
			t.Fatalf("published row %d: %+v %v (want it once, in order)", i, m, err)
		}
	}
}

// TestWSCLI: qconnect subscribe prints the snapshot and updates; qconnect
// publish stores CSV rows and reports a rejected batch.
func TestWSCLI(t *testing.T) {
	t.Parallel()
	g := testenv.StartGateway(t)
	ctx := ctxFor(t, time.Minute)
	out, stderr, code := testenv.Run(t, ctx, "", "subscribe", g.Addr, "kxSupport", "12345678", "monPublic/sub",
		"--params", `{"syms":["server_B"]}`, "--count", "2", "--format", "ndjson")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("subscribe: exit %d, %d lines (want the snapshot row and 2 updates):\n%s\n%s", code, len(lines), out, stderr)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"sym":"server_B"`) {
			t.Fatalf("line %s", l)
		}
	}

	dir := t.TempDir()
	now := time.Now().UTC()
	csv := "time,sym,price,size,side\n"
	for i := range 3 {
		csv += fmt.Sprintf("%s,ZCLI,%d.5,%d,sell\n", now.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), 10+i, 100*(i+1))
	}
	file := filepath.Join(dir, "trades.csv")
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = testenv.Run(t, ctx, "", "publish", g.Addr, "kxSupport", "12345678", "marketData/pubTrades", "--file", file)
	if code != 0 || !strings.Contains(stderr, "published 3 rows") {
		t.Fatalf("publish: exit %d: %s", code, stderr)
	}
	s := sdkLogin(t, g, "kxSupport", "12345678")
	res, err := s.Call(ctx, "marketData/getTrades", map[string]any{"syms": []string{"ZCLI"}, "start": now.Add(-time.Second), "end": now.Add(time.Second)})
	if err != nil || len(res.Rows) != 3 {
		t.Fatalf("published CSV rows: %v %v", res, err)
	}
	prices := []float64{res.Rows[0][2].(float64), res.Rows[1][2].(float64), res.Rows[2][2].(float64)}
	sort.Float64s(prices)
	if !reflect.DeepEqual(prices, []float64{10.5, 11.5, 12.5}) {
		t.Fatalf("prices %v", prices)
	}

	ndjson := `{"time":"` + now.Format(time.RFC3339Nano) + `","sym":"ZCLI","price":"cheap"}` + "\n"
	_, stderr, code = testenv.Run(t, ctx, ndjson, "publish", g.Addr, "kxSupport", "12345678", "marketData/pubTrades")
	if code != 1 || !strings.Contains(stderr, "invalidParams") || !strings.Contains(stderr, "rows[0].price") {
		t.Fatalf("a malformed row: exit %d: %s", code, stderr)
	}
}

// TestWSSessionExpiryClosesSockets: when a session expires (here: idle for
// 2 s) its sockets are closed with 4401 by the gateway's housekeeping, which
// runs every 5 s.
func TestWSSessionExpiryClosesSockets(t *testing.T) {
	t.Parallel()
	g := wsGateway(t, "--idle-timeout", "2s")
	rest := login(t, g, "trader", "pw-trader")
	w := dialRaw(t, g, 0)
	if f := w.authReq("trader", rest.sid); !f.Success {
		t.Fatalf("AuthReq: %+v", f.Error)
	}
	start := time.Now()
	if c := w.closeCode(20 * time.Second); c != 4401 {
		t.Fatalf("after the session expired: close %d, want 4401", c)
	}
	if el := time.Since(start); el < 2*time.Second || el > 9*time.Second {
		t.Errorf("closed %s after the last use; the idle timeout is 2 s and the sweep runs every 5 s", el)
	}
	expect(t, "REST after expiry", rest.call("/connect/api/auth/ping", []any{}), 401, "invalidSession")
}
