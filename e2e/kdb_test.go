package e2e

import (
	"context"
	"fmt"
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
// its one backend pointed at the fake.
func kdbGateway(t *testing.T) (*testenv.Gateway, *fakeq.Server) {
	t.Helper()
	s, cfg := kdbConfig(t, "examples/kdb/catalog.yaml")
	return testenv.StartGateway(t, "--config", cfg), s
}

// kdbConfig starts the fake q and writes a config file serving catalog
// from it.
func kdbConfig(t *testing.T, catalog string) (*fakeq.Server, string) {
	t.Helper()
	s, err := fakeq.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Example()
	_, port, _ := strings.Cut(s.Addr(), ":")
	cfg := filepath.Join(t.TempDir(), "qconnect.yaml")
	err = os.WriteFile(cfg, []byte(fmt.Sprintf(`catalog: %s
users: examples/users.yaml
backends:
  - {name: q, kind: kdb, host: 127.0.0.1, port: %s, user: gateway, poolSize: 2, callTimeout: 2s, acquireTimeout: 200ms}
`, catalog, port)), 0o600)
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
