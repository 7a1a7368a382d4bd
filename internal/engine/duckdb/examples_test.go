package duckdb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/examples"
	"github.com/qconnect/qconnect/internal/catalog"
)

// callDefault runs a method with the parameters of msg (a JSON object, or ""
// for none), bound by the real qconnect.BindParams.
func callDefault(t *testing.T, e *Engine, m *qconnect.Method, msg string, now time.Time) ([]qconnect.Column, [][]any) {
	t.Helper()
	var raw []json.RawMessage
	if msg != "" {
		raw = []json.RawMessage{json.RawMessage(msg)}
	}
	params, err := qconnect.BindParams(m, raw)
	if err != nil {
		t.Fatalf("%s: BindParams: %v", m.FullName(), err)
	}
	limit := int64(0)
	if m.RowCap > 0 {
		limit = m.RowCap + 1
	}
	return query(t, e, qconnect.Call{Method: m, Params: params, Now: now, Limit: limit})
}

func checkColumns(t *testing.T, m *qconnect.Method, got []qconnect.Column, rows [][]any) {
	t.Helper()
	if len(got) != len(m.Columns) {
		t.Fatalf("%s: %d columns, declared %d", m.FullName(), len(got), len(m.Columns))
	}
	for i := range got {
		if got[i] != m.Columns[i] {
			t.Errorf("%s: column %d is %v, declared %v", m.FullName(), i, got[i], m.Columns[i])
		}
	}
	if len(rows) == 0 {
		t.Errorf("%s: no rows with default parameters", m.FullName())
	}
	for _, r := range rows {
		if len(r) != len(m.Columns) {
			t.Fatalf("%s: a row of %d values", m.FullName(), len(r))
		}
	}
}

func TestDemoCatalog(t *testing.T) {
	cat, err := catalog.Parse(examples.DemoCatalog(), examples.DemoCatalogName, catalog.Defaults{})
	if err != nil {
		t.Fatalf("examples/catalog.yaml: %v", err)
	}
	e := openDemo(t)
	if err := e.CheckCatalog(cat); err != nil {
		t.Fatalf("CheckCatalog of the demo catalog:\n%v", err)
	}
	want := []string{"monPublic/getMem", "monPublic/getMemBucketed", "marketData/listSyms", "marketData/getTrades",
		"marketData/getQuotes", "marketData/getBars", "marketData/getVwap", "marketData/getTradesWithQuotes"}
	// Subscriptions and publishing methods are served by the stream
	// package over WebSocket, not by Query.
	var names []string
	var calls []*qconnect.Method
	for _, m := range cat.Methods {
		if !m.Streaming && !m.Publish {
			names = append(names, m.FullName())
			calls = append(calls, m)
		}
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("request-response methods %v, want %v", names, want)
	}
	counts := map[string]int{}
	for _, m := range calls {
		cols, rows := callDefault(t, e, m, "", testNow)
		checkColumns(t, m, cols, rows)
		counts[m.FullName()] = len(rows)
		if m.Description == "" || m.Timeout == 0 || m.RowCap == 0 {
			t.Errorf("%s: description, timeout and rowCap should be set", m.FullName())
		}
		for _, p := range m.Params {
			if p.Description == "" {
				t.Errorf("%s: parameter %s has no description", m.FullName(), p.Name)
			}
		}
	}
	// Defaults: one hour of monMem (360 samples of 8 servers), a day of
	// 5-minute buckets (with a partial bucket at each end), the whole
	// trading day of trades.
	for name, want := range map[string]int{
		"monPublic/getMem": 8 * 360, "monPublic/getMemBucketed": 8 * 289, "marketData/listSyms": 50,
		"marketData/getTrades": testTrades, "marketData/getQuotes": testTrades * QuotesPerTrade,
		"marketData/getVwap": 50, "marketData/getTradesWithQuotes": testTrades,
	} {
		if counts[name] != want {
			t.Errorf("%s returned %d rows with default parameters, want %d", name, counts[name], want)
		}
	}

	// Parameters given by a caller.
	m, _ := cat.Lookup("monPublic", "getMem")
	_, rows := callDefault(t, e, m, `{"start":"2024-07-26T16:00:00Z","end":"2024-07-26T16:01:00Z","syms":["server_B"]}`, testNow)
	if len(rows) != 6 {
		t.Errorf("getMem for one server and one minute: %d rows, want 6", len(rows))
	}
	for _, r := range rows {
		if r[1] != "server_B" {
			t.Errorf("getMem row for %v", r[1])
		}
		if used, free := r[2].(float64), r[3].(float64); used <= 0 || free <= 0 {
			t.Errorf("getMem row with usedMB %v, freeMB %v", used, free)
		}
	}
	m, _ = cat.Lookup("marketData", "getBars")
	_, rows = callDefault(t, e, m, `{"syms":["AAPL"],"bucket":"1h"}`, testNow)
	if len(rows) != 7 { // 09:00 (from 09:30) .. 15:00
		t.Errorf("hourly AAPL bars: %d rows, want 7", len(rows))
	}
	var trades int64
	for _, r := range rows {
		open, high, low, closing := r[2].(float64), r[3].(float64), r[4].(float64), r[5].(float64)
		if low > open || low > closing || high < open || high < closing || r[1] != "AAPL" {
			t.Errorf("bar %v is not a valid OHLC bar of AAPL", r)
		}
		trades += r[8].(int64)
	}
	if want := scalar[int64](t, e, "SELECT count(*) FROM trade WHERE sym = 'AAPL'"); trades != want {
		t.Errorf("bars count %d trades, want %d", trades, want)
	}
	m, _ = cat.Lookup("marketData", "getTrades")
	if _, rows = callDefault(t, e, m, `{"limit":5,"syms":"MSFT"}`, testNow); len(rows) != 5 || rows[0][1] != "MSFT" {
		t.Errorf("getTrades limit 5 of MSFT: %v", rows)
	}
	m, _ = cat.Lookup("marketData", "getTradesWithQuotes")
	_, rows = callDefault(t, e, m, `{"syms":["NVDA"]}`, testNow)
	for _, r := range rows {
		price, bid, ask, spread := r[2].(float64), r[5].(float64), r[6].(float64), r[7].(float64)
		if price < bid || price > ask || spread <= 0 {
			t.Fatalf("trade %v is not within its prevailing quote", r)
		}
	}
}

func TestMyDataCatalog(t *testing.T) {
	cat, err := catalog.Parse(examples.MyDataCatalog(), "examples/mydata/catalog.yaml", catalog.Defaults{})
	if err != nil {
		t.Fatalf("examples/mydata/catalog.yaml: %v", err)
	}
	e := openEngine(t, Config{DataDir: "../../../examples/mydata"})
	if got := strings.Join(e.Tables(), ","); got != "sensors" {
		t.Errorf("tables of examples/mydata: %s, want sensors", got)
	}
	if err := e.CheckCatalog(cat); err != nil {
		t.Fatalf("CheckCatalog:\n%v", err)
	}
	for _, m := range cat.Methods {
		cols, rows := callDefault(t, e, m, "", time.Now())
		checkColumns(t, m, cols, rows)
	}
	m, _ := cat.Lookup("sensors", "getReadings")
	if _, rows := callDefault(t, e, m, "", time.Now()); len(rows) != 576 {
		t.Errorf("getReadings: %d rows, want all 576", len(rows))
	}
}

func BenchmarkDemoLoad(b *testing.B) {
	for b.Loop() {
		e, err := Open(context.Background(), Config{Demo: true, Now: testNow})
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
	b.ReportMetric(float64(DefaultDemoTrades*(1+QuotesPerTrade)+MonMemRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkScanTrades runs the demo catalog's getTrades for the whole
// default-size trading day through Query and Rows.Next.
func BenchmarkScanTrades(b *testing.B) {
	cat, err := catalog.Parse(examples.DemoCatalog(), examples.DemoCatalogName, catalog.Defaults{})
	if err != nil {
		b.Fatal(err)
	}
	m, _ := cat.Lookup("marketData", "getTrades")
	e := openEngine(b, Config{Demo: true, Now: testNow})
	params, err := qconnect.BindParams(m, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rowsRead := 0
	for b.Loop() {
		rows, err := e.Query(ctx, qconnect.Call{Method: m, Params: params, Now: testNow, Limit: m.RowCap + 1})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			batch, err := rows.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += batch.Len
		}
		rows.Close()
		if n != DefaultDemoTrades {
			b.Fatalf("%d rows, want %d", n, DefaultDemoTrades)
		}
		rowsRead += n
	}
	b.ReportMetric(float64(rowsRead)/b.Elapsed().Seconds(), "rows/s")
}
