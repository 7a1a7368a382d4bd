package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/fakeq"
	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// kdbGateway starts the fake q (internal/fakeq: not kdb+, a stand-in that
// speaks the real IPC protocol) and the gateway with examples/kdb's catalog,
// its one backend pointed at the fake. With QCONNECT_TEST_KDB=host:port set,
// the backend is that real q (examples/kdb/example.q loaded) and the
// returned fake is nil: tests that steer the fake skip (needFakeQ).
func kdbGateway(t *testing.T) (*testenv.Gateway, *fakeq.Server) {
	t.Helper()
	s, cfg := kdbConfig(t, "examples/kdb/catalog.yaml")
	return testenv.StartGateway(t, "--config", cfg), s
}

// needFakeQ skips a test that steers the fake q (stalls, drops, counts)
// when it runs against a real q.
func needFakeQ(t *testing.T, s *fakeq.Server) {
	t.Helper()
	if s == nil {
		t.Skip("steers the fake q; not run against the real q of QCONNECT_TEST_KDB")
	}
}

// kdbConfig starts the fake q (or takes the real q of QCONNECT_TEST_KDB,
// with QCONNECT_TEST_KDB_USER and QCONNECT_TEST_KDB_PASSWORD, the latter
// handed to the gateway in a passwordFile) and writes a config file serving
// catalog from it.
func kdbConfig(t *testing.T, catalog string) (*fakeq.Server, string) {
	t.Helper()
	dir := t.TempDir()
	var s *fakeq.Server
	host, port, user, extra := "127.0.0.1", "", "gateway", ""
	if addr := os.Getenv("QCONNECT_TEST_KDB"); addr != "" {
		var err error
		if host, port, err = net.SplitHostPort(addr); err != nil {
			t.Fatalf("QCONNECT_TEST_KDB=%q is not host:port: %v", addr, err)
		}
		if u := os.Getenv("QCONNECT_TEST_KDB_USER"); u != "" {
			user = u
		}
		if pw := os.Getenv("QCONNECT_TEST_KDB_PASSWORD"); pw != "" {
			pwFile := filepath.Join(dir, "q.password")
			if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			extra = ", passwordFile: " + pwFile
		}
	} else {
		var err error
		if s, err = fakeq.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		s.Example()
		_, port, _ = strings.Cut(s.Addr(), ":")
	}
	cfg := filepath.Join(dir, "qconnect.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`catalog: %s
users: examples/users.yaml
backends:
  - {name: q, kind: kdb, host: %s, port: %s, user: %s%s, poolSize: 2, callTimeout: 2s, acquireTimeout: 200ms}
`, catalog, host, port, user, extra)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

// TestKDBStartupCheck: a declared column that the function does not
// return stops the start, naming the column (getTrades allows a zero-row
// call through its limit parameter).
func TestKDBStartupCheck(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "examples", "kdb", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "- {name: side, type: symbol}", "- {name: venue, type: symbol}", 1)
	catalog := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(catalog, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, cfg := kdbConfig(t, catalog)
	g, err := testenv.StartGatewayMain("--config", cfg)
	if err == nil {
		g.Stop()
		t.Fatal("the gateway started with a column the function does not return")
	}
	if !strings.Contains(err.Error(), "column venue") || !strings.Contains(err.Error(), "getTrades") {
		t.Fatalf("start-up error: %v", err)
	}
}

// TestKDBExampleEveryFormat: each function method of examples/kdb, called
// signed through the gateway, in JSON, NDJSON, CSV and Arrow, reads the
// fake q's fixed tables the same way in every format.
func TestKDBExampleEveryFormat(t *testing.T) {
	t.Parallel()
	g, _ := kdbGateway(t)
	s := login(t, g, "kxSupport", "12345678")
	trades := fakeq.TradeTable()
	tsym, tsize := trades.Data[1].([]string), trades.Data[3].([]int64)
	ibmVolume := int64(0)
	for i, x := range tsym {
		if x == "IBM" {
			ibmVolume += tsize[i]
		}
	}
	start := fakeq.Base.Add(50 * time.Minute)
	cases := []struct {
		method string
		params map[string]any
		cols   []qconnect.Column
		check  func(rows [][]any) error
	}{
		{"monPublic/getMem", map[string]any{"syms": []string{"server_B"}, "start": start.Format(time.RFC3339)},
			[]qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol}, {Name: "usedMB", Type: qconnect.Float}, {Name: "freeMB", Type: qconnect.Float}, {Name: "cpuLoad", Type: qconnect.Float}},
			func(rows [][]any) error {
				if len(rows) != 60 {
					return fmt.Errorf("%d rows, want 60 (the last 10 minutes of server_B)", len(rows))
				}
				if !rows[0][0].(time.Time).Equal(start) || rows[0][1] != "server_B" {
					return fmt.Errorf("first row %v", rows[0])
				}
				return nil
			}},
		{"marketData/listSyms", nil, []qconnect.Column{{Name: "sym", Type: qconnect.Symbol}},
			func(rows [][]any) error {
				if fmt.Sprint(rows) != "[[AAPL] [AMZN] [GOOG] [IBM] [MSFT]]" {
					return fmt.Errorf("rows %v", rows)
				}
				return nil
			}},
		{"marketData/getTrades", map[string]any{"syms": []string{"IBM"}, "limit": 3000},
			[]qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol}, {Name: "price", Type: qconnect.Float}, {Name: "size", Type: qconnect.Long}, {Name: "side", Type: qconnect.Symbol}},
			func(rows [][]any) error {
				if len(rows) != 3000 {
					return fmt.Errorf("%d rows", len(rows))
				}
				for k, r := range rows {
					i := 3 + 5*k // IBM is every fifth trade from the fourth
					if r[1] != "IBM" || r[2] != trades.Data[2].([]float64)[i] || r[3] != tsize[i] || r[4] != trades.Data[4].([]string)[i] ||
						!r[0].(time.Time).Equal(trades.Data[0].([]ipc.Timestamp)[i].Time()) {
						return fmt.Errorf("row %d: %v", k, r)
					}
				}
				return nil
			}},
		{"marketData/getVwap", map[string]any{"syms": []string{"IBM"}},
			[]qconnect.Column{{Name: "sym", Type: qconnect.Symbol}, {Name: "vwap", Type: qconnect.Float}, {Name: "volume", Type: qconnect.Long}},
			func(rows [][]any) error {
				if len(rows) != 1 || rows[0][0] != "IBM" || rows[0][2] != ibmVolume {
					return fmt.Errorf("rows %v (want volume %d)", rows, ibmVolume)
				}
				return nil
			}},
		{"marketData/lastPrice", map[string]any{"syms": []string{"AAPL", "MSFT"}},
			[]qconnect.Column{{Name: "sym", Type: qconnect.Symbol}, {Name: "price", Type: qconnect.Float}},
			func(rows [][]any) error {
				if len(rows) != 2 || rows[0][0] != "AAPL" || rows[1][0] != "MSFT" {
					return fmt.Errorf("rows %v", rows)
				}
				return nil
			}},
	}
	for _, c := range cases {
		var first [][]any
		for _, accept := range []string{acceptJSON, acceptNDJSON, acceptCSV, acceptArrow} {
			b := s.fetch("/connect/api/"+c.method, c.params, accept)
			if b.status != 200 {
				t.Fatalf("%s as %s: status %d: %s", c.method, accept, b.status, b.data)
			}
			rows, _, code := decodeAny(t, accept, b, c.cols)
			if code != "" {
				t.Fatalf("%s as %s: error %s", c.method, accept, code)
			}
			if err := c.check(rows); err != nil {
				t.Fatalf("%s as %s: %v", c.method, accept, err)
			}
			if first == nil {
				first = rows
			} else {
				sameRows(t, c.method+" "+accept, rows, first)
			}
		}
	}
	// The function that signals 'type: an analyticError carrying q's text,
	// whatever format was asked for (the failure comes before any row).
	for _, accept := range []string{acceptJSON, acceptNDJSON, acceptCSV, acceptArrow} {
		b := s.fetch("/connect/api/monPublic/broken", map[string]any{}, accept)
		var env struct {
			Success bool
			Error   *struct{ Code, Message string }
		}
		if err := json.Unmarshal(b.data, &env); err != nil || b.status == 200 || env.Success || env.Error == nil ||
			env.Error.Code != "analyticError" || !strings.Contains(env.Error.Message, "'type") {
			t.Fatalf("monPublic/broken as %s: HTTP %d: %.300s", accept, b.status, b.data)
		}
	}
}

// TestKDBErrorsTimeoutPublishReady: a q error is analyticError with q's
// text; a stalled call times out and the pool recovers; publishing goes to
// the tickerplant through .u.upd; readiness follows the q process.
func TestKDBErrorsTimeoutPublishReady(t *testing.T) {
	t.Parallel()
	g, q := kdbGateway(t)
	s := login(t, g, "kxSupport", "12345678")

	r := s.call("/connect/api/monPublic/broken", []any{map[string]any{}})
	if r.code() != "analyticError" || !strings.Contains(r.Env.Error.Message, "'type") {
		t.Fatalf("q error: %d %s", r.Status, r.Body)
	}
	needFakeQ(t, q) // the rest steers the fake

	release := q.Stall(".marketData.listSyms")
	r = s.call("/connect/api/marketData/listSyms", []any{map[string]any{}})
	if r.code() != "timeout" {
		t.Fatalf("stalled call: %d %s", r.Status, r.Body)
	}
	release()
	r = s.call("/connect/api/marketData/listSyms", []any{map[string]any{}})
	if r.Status != 200 || !r.Env.Success {
		t.Fatalf("after the timeout: %d %s", r.Status, r.Body)
	}

	// A subscriber of the fake tickerplant sees what the gateway publishes.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := ipc.Dial(ctx, ipc.Config{Addr: q.Addr(), User: "watcher"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Call(ctx, []any{ipc.Symbol(".u.sub"), ipc.Symbol("monMem"), ipc.Symbol("")}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	r = s.call("/connect/api/monPublic/pubMem", []any{map[string]any{"rows": []map[string]any{memRow(at, "server_Z", 42.5)}}})
	if r.Status != 200 || !r.Env.Success {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	m, err := sub.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.Decode()
	upd := v.([]any)
	tbl := upd[2].(ipc.Table)
	if upd[0] != ipc.Symbol("upd") || tbl.Data[1].([]string)[0] != "server_Z" || !tbl.Data[0].([]ipc.Timestamp)[0].Time().Equal(at) || tbl.Data[2].([]float64)[0] != 42.5 {
		t.Fatalf("the tickerplant got %v", upd)
	}

	resp, err := http.Get(g.URL + "/connect/ready")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ready with q up: %v %v", resp, err)
	}
	resp.Body.Close()
	q.Close()
	resp, err = http.Get(g.URL + "/connect/ready")
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("ready with q down: %v %v", resp, err)
	}
	resp.Body.Close()
	r = s.call("/connect/api/marketData/listSyms", []any{map[string]any{}})
	if r.code() != "unavailable" || r.Status != 503 {
		t.Fatalf("q down: %d %s", r.Status, r.Body)
	}
}

// memTable makes monMem rows for the fake tickerplant to push: one per
// usedMB value, of sym.
func memTable(sym string, used ...float64) ipc.Table {
	n := len(used)
	tm, syms, free, cpu := make([]ipc.Timestamp, n), make([]string, n), make([]float64, n), make([]float64, n)
	for i, u := range used {
		tm[i] = ipc.TimestampOf(fakeq.Base.Add(time.Duration(u) * time.Second))
		syms[i], free[i], cpu[i] = sym, 8192-u, 0.5
	}
	return ipc.Table{Columns: []string{"time", "sym", "usedMB", "freeMB", "cpuLoad"}, Data: []any{tm, syms, append([]float64(nil), used...), free, cpu}}
}

// usedOf returns the usedMB of a frame's rows, checking their sym.
func usedOf(t *testing.T, f wsFrame, sym string) []float64 {
	t.Helper()
	var out []float64
	for _, r := range rowsOf(t, f) {
		if r["sym"] != sym {
			t.Fatalf("%s frame holds a row of %v, want only %s", f.Type, r["sym"], sym)
		}
		out = append(out, r["usedMB"].(float64))
	}
	return out
}

// expectUpdate reads the next frame, which must be the UpdateMsg numbered
// seq holding exactly the rows used of sym.
func expectUpdate(t *testing.T, w *rawWS, seq uint64, sym string, used ...float64) {
	t.Helper()
	f := w.expect("UpdateMsg")
	if f.Seq != seq || fmt.Sprint(usedOf(t, f, sym)) != fmt.Sprint(used) {
		t.Fatalf("UpdateMsg seq %d with usedMB %v, want seq %d with %v", f.Seq, usedOf(t, f, sym), seq, used)
	}
}

// TestKDBLiveSubscriptionReconnectPublish: WebSocket subscriptions of a
// streaming method are fed by the fake tickerplant's upd pushes; identical
// subscriptions share one upstream .u.sub; rows published through the
// gateway (.u.upd) reach a subscriber exactly once, through the
// tickerplant; when the tickerplant drops its subscribers, each subscriber
// sees a reset before anything else, the gateway subscribes again, and
// updates continue with contiguous seq.
func TestKDBLiveSubscriptionReconnectPublish(t *testing.T) {
	t.Parallel()
	g, q := kdbGateway(t)
	needFakeQ(t, q)
	s := login(t, g, "kxSupport", "12345678")
	b := map[string]any{"syms": []string{"server_B"}}
	w1, w2, w3 := dialRaw(t, g, 0), dialRaw(t, g, 0), dialRaw(t, g, 0)
	for i, w := range []*rawWS{w1, w2, w3} {
		w.login("kxSupport", "12345678")
		if i < 2 {
			w.subscribe("monPublic/sub", b)
		} else {
			w.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_A"}})
		}
		if f := w.expect("SnapshotMsg"); f.Reset || len(f.Msg) != 0 {
			t.Fatalf("first snapshot: reset=%v, %d rows; want the empty schema snapshot", f.Reset, len(f.Msg))
		}
	}
	if n := q.Calls(".u.sub"); n != 2 {
		t.Fatalf("%d upstream .u.sub calls for two identical subscriptions and one other, want 2", n)
	}

	// upd pushes: each subscriber gets its syms only.
	both := memTable("server_B", 0, 1, 2)
	both, _ = appendMem(both, memTable("server_A", 100))
	if err := q.Publish("monMem", both); err != nil {
		t.Fatal(err)
	}
	expectUpdate(t, w1, 1, "server_B", 0, 1, 2)
	expectUpdate(t, w2, 1, "server_B", 0, 1, 2)
	expectUpdate(t, w3, 1, "server_A", 100)

	// Publishing through the gateway: .u.upd on the fake, whose push is the
	// only copy a subscriber gets (the next update is a marker pushed after).
	at := fakeq.Base.Add(10 * time.Second)
	r := s.call("/connect/api/monPublic/pubMem", []any{map[string]any{"rows": []map[string]any{memRow(at, "server_B", 10)}}})
	if r.Status != 200 || !r.Env.Success {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	if err := q.Publish("monMem", memTable("server_B", 11)); err != nil {
		t.Fatal(err)
	}
	if err := q.Publish("monMem", memTable("server_A", 101)); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*rawWS{w1, w2} {
		expectUpdate(t, w, 2, "server_B", 10)
		expectUpdate(t, w, 3, "server_B", 11)
	}
	expectUpdate(t, w3, 2, "server_A", 101)

	// The tickerplant drops its subscribers (a restart): a reset, then the
	// gateway subscribes again, a fresh snapshot, and updates continue.
	q.DropSubscribers()
	waitFor(t, "the gateway to subscribe again", func() bool { return q.Calls(".u.sub") == 4 && q.Subscribers("monMem") == 2 })
	if err := q.Publish("monMem", memTable("server_B", 20, 21)); err != nil {
		t.Fatal(err)
	}
	if err := q.Publish("monMem", memTable("server_A", 120)); err != nil {
		t.Fatal(err)
	}
	for i, w := range []*rawWS{w1, w2, w3} {
		sym, seq, want := "server_B", uint64(4), []float64{20, 21}
		if i == 2 {
			sym, seq, want = "server_A", 3, []float64{120}
		}
		f := w.expect("SnapshotMsg")
		if !f.Reset {
			t.Fatalf("subscriber %d: the first frame after the drop is a SnapshotMsg without reset: a silent jump", i)
		}
		for {
			f = w.expect2("SnapshotMsg", "UpdateMsg")
			if f.Type == "UpdateMsg" {
				break
			}
			if f.Reset {
				t.Fatalf("subscriber %d: a second reset", i)
			}
			usedOf(t, f, sym) // the fresh snapshot holds the subscriber's syms only
		}
		if f.Seq != seq || fmt.Sprint(usedOf(t, f, sym)) != fmt.Sprint(want) {
			t.Fatalf("subscriber %d after the reconnect: UpdateMsg seq %d %v, want seq %d %v", i, f.Seq, usedOf(t, f, sym), seq, want)
		}
	}
	if n := q.Calls(".u.sub"); n != 4 {
		t.Fatalf("%d upstream .u.sub calls after one reconnect, want 4", n)
	}
}

// appendMem appends the rows of b to a (same columns).
func appendMem(a, b ipc.Table) (ipc.Table, error) {
	out := ipc.Table{Columns: a.Columns, Data: make([]any, len(a.Data))}
	out.Data[0] = append(a.Data[0].([]ipc.Timestamp), b.Data[0].([]ipc.Timestamp)...)
	out.Data[1] = append(a.Data[1].([]string), b.Data[1].([]string)...)
	for j := 2; j < len(a.Data); j++ {
		out.Data[j] = append(a.Data[j].([]float64), b.Data[j].([]float64)...)
	}
	return out, nil
}
