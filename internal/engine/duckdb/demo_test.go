package duckdb

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

func scalar[T any](t *testing.T, e *Engine, q string) T {
	t.Helper()
	var v T
	if err := e.DB().QueryRowContext(context.Background(), q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func TestDemoRowCounts(t *testing.T) {
	e := openDemo(t)
	for table, want := range map[string]int64{
		"monMem": int64(MonMemRows), "trade": testTrades, "quote": testTrades * QuotesPerTrade,
	} {
		if got := scalar[int64](t, e, "SELECT count(*) FROM "+table); got != want {
			t.Errorf("%s has %d rows, want %d", table, got, want)
		}
	}
	if got, want := fmt.Sprint(e.Tables()), "[monMem quote trade]"; got != want {
		t.Errorf("Tables() = %s, want %s", got, want)
	}
	if got := scalar[int64](t, e, "SELECT count(DISTINCT sym) FROM trade"); got != 50 {
		t.Errorf("%d traded symbols, want 50", got)
	}
	if got := scalar[int64](t, e, "SELECT count(DISTINCT sym) FROM monMem"); got != 8 {
		t.Errorf("%d servers, want 8", got)
	}
}

// tableHash hashes every row of a table in table order.
func tableHash(t *testing.T, e *Engine, table string) string {
	t.Helper()
	rows, err := e.DB().QueryContext(context.Background(), "SELECT * FROM "+table+" ORDER BY rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	h := sha256.New()
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(h, vals...)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("table %s is empty", table)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestDemoDeterministic(t *testing.T) {
	cfg := Config{Demo: true, DemoTrades: 5_000, Now: testNow, Seed: 42}
	a, b := openEngine(t, cfg), openEngine(t, cfg)
	cfg.Seed = 43
	c := openEngine(t, cfg)
	for _, table := range []string{"monMem", "trade", "quote"} {
		ha, hb, hc := tableHash(t, a, table), tableHash(t, b, table), tableHash(t, c, table)
		if ha != hb {
			t.Errorf("%s differs between two loads with seed 42", table)
		}
		if ha == hc {
			t.Errorf("%s is the same for seeds 42 and 43", table)
		}
	}
}

func TestDemoMonMemCoverage(t *testing.T) {
	e := openDemo(t)
	last := testNow.Truncate(10 * time.Second)
	first := last.Add(-48 * time.Hour).Add(10 * time.Second)
	var minT, maxT time.Time
	var distinct, off10, perSym int64
	err := e.DB().QueryRow(`SELECT min(time), max(time), count(DISTINCT time),
		count(*) FILTER (WHERE epoch_us(time) % 10000000 <> 0),
		max(n) FROM monMem, (SELECT count(*) AS n FROM monMem GROUP BY sym)`).Scan(&minT, &maxT, &distinct, &off10, &perSym)
	if err != nil {
		t.Fatal(err)
	}
	if !minT.Equal(first) || !maxT.Equal(last) {
		t.Errorf("monMem covers %v .. %v, want %v .. %v", minT, maxT, first, last)
	}
	if want := int64(48 * 360); distinct != want || perSym != want {
		t.Errorf("%d distinct times, %d samples per server; want %d of each (one per 10 s over 48 h)", distinct, perSym, want)
	}
	if off10 != 0 {
		t.Errorf("%d samples are not aligned to 10 s", off10)
	}
	// Consecutive samples of a server are exactly 10 s apart.
	gaps := scalar[int64](t, e, `SELECT count(*) FROM (
		SELECT time - lag(time) OVER (PARTITION BY sym ORDER BY time) AS gap FROM monMem)
		WHERE gap IS NOT NULL AND gap <> INTERVAL 10 SECOND`)
	if gaps != 0 {
		t.Errorf("%d gaps between samples are not 10 s", gaps)
	}
	// used + free is the server's total; cpuLoad is a fraction.
	bad := scalar[int64](t, e, `SELECT count(*) FROM (
		SELECT sym, max(usedMB + freeMB) - min(usedMB + freeMB) AS spread,
		       min(cpuLoad) AS lo, max(cpuLoad) AS hi, min(usedMB) AS used FROM monMem GROUP BY sym)
		WHERE spread > 1e-6 OR lo < 0 OR hi > 1 OR used <= 0`)
	if bad != 0 {
		t.Errorf("%d servers break usedMB+freeMB = total, 0 <= cpuLoad <= 1 or usedMB > 0", bad)
	}
}

func TestDemoMarket(t *testing.T) {
	e := openDemo(t)
	if n := scalar[int64](t, e, "SELECT count(*) FROM quote WHERE NOT bid < ask OR bid <= 0"); n != 0 {
		t.Errorf("%d quotes without 0 < bid < ask", n)
	}
	day := DemoDate(testNow)
	open, closing := day.Add(tradingOpen), day.Add(tradingClose)
	for _, table := range []string{"trade", "quote"} {
		var lo, hi time.Time
		if err := e.DB().QueryRow("SELECT min(time), max(time) FROM "+table).Scan(&lo, &hi); err != nil {
			t.Fatal(err)
		}
		if lo.Before(open) || !hi.Before(closing) {
			t.Errorf("%s spans %v .. %v, outside the trading day %v .. %v", table, lo, hi, open, closing)
		}
		// Stored ordered by (sym, time), for zone-map pruning.
		unordered := scalar[int64](t, e, `SELECT count(*) FROM (
			SELECT sym, time, lag(sym) OVER (ORDER BY rowid) AS psym, lag(time) OVER (ORDER BY rowid) AS prev FROM `+table+`)
			WHERE sym < psym OR sym = psym AND time < prev`)
		if unordered != 0 {
			t.Errorf("%s: %d rows are not after the previous row in (sym, time)", table, unordered)
		}
	}
	// Every trade is made within the prevailing quote of its symbol.
	outside := scalar[int64](t, e, `SELECT count(*) FROM trade t ASOF LEFT JOIN quote q
		ON t.sym = q.sym AND t.time >= q.time
		WHERE q.bid IS NULL OR t.price < q.bid OR t.price > q.ask`)
	if outside != 0 {
		t.Errorf("%d trades are not within their prevailing quote", outside)
	}
	if n := scalar[int64](t, e, "SELECT count(*) FROM trade WHERE size < 1 OR side NOT IN ('buy', 'sell')"); n != 0 {
		t.Errorf("%d trades with a bad size or side", n)
	}
	// The walk moves: prices are not stuck at the opening price.
	if n := scalar[int64](t, e, "SELECT count(DISTINCT price) FROM trade WHERE sym = 'AAPL'"); n < 20 {
		t.Errorf("AAPL traded at only %d prices", n)
	}
}

func TestDemoDate(t *testing.T) {
	for _, c := range []struct{ now, want string }{
		{"2024-07-26T16:59:00Z", "2024-07-25"},      // Friday → Thursday
		{"2024-07-29T00:00:01Z", "2024-07-26"},      // Monday → Friday
		{"2024-07-28T12:00:00Z", "2024-07-26"},      // Sunday → Friday
		{"2024-07-27T12:00:00Z", "2024-07-26"},      // Saturday → Friday
		{"2024-07-30T23:59:59Z", "2024-07-29"},      // Tuesday → Monday
		{"2024-07-30T01:00:00+05:00", "2024-07-26"}, // Monday 20:00 UTC → Friday
	} {
		now, err := time.Parse(time.RFC3339, c.now)
		if err != nil {
			t.Fatal(err)
		}
		if got := DemoDate(now).Format("2006-01-02"); got != c.want {
			t.Errorf("DemoDate(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Demo: true, DemoTrades: MaxDemoTrades + 1},
		{BatchSize: -1},
		{BatchSize: MaxBatchSize + 1},
		{Threads: -1},
		{MaxConns: -1},
		{Path: "/nonexistent/qconnect-test.duckdb"},
	} {
		if e, err := Open(context.Background(), cfg); err == nil {
			e.Close()
			t.Errorf("Open(%+v) succeeded, want an error", cfg)
		}
	}
}
