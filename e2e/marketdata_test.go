package e2e

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/testenv"
)

// mdTrades is the demo size the marketData tests start the gateway with:
// that many trades and three times as many quotes.
const mdTrades = 10000

// mdGateway serves the demo catalog (marketData) over mdTrades demo trades,
// without the demo feed (it would append trades between the calls that a
// test compares), to user quant.
func mdGateway(t *testing.T, args ...string) *testenv.Gateway {
	t.Helper()
	users := makeUsers(t, "groups:\n  quants:\n    allow: [marketData, monPublic]\n", [2]string{"quant", "quants"})
	base := []string{"--demo=true", "--users", users, "--demo-feed=false", "--demo-size", fmt.Sprint(mdTrades)}
	return testenv.StartGateway(t, append(base, args...)...)
}

// sdkSession logs user in with the Go SDK.
func sdkSession(t *testing.T, g *testenv.Gateway, user string) *client.Session {
	t.Helper()
	c, err := client.New(g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := c.Login(ctx, user, user+"-password")
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return s
}

// mdCall calls a method with the SDK and checks the declared columns.
func mdCall(t *testing.T, s *client.Session, method string, params map[string]any, cols ...string) *client.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.Call(ctx, method, params)
	if err != nil {
		t.Fatalf("%s %v: %v", method, params, err)
	}
	if len(res.Columns) != len(cols) {
		t.Fatalf("%s columns %v, want %v", method, res.Columns, cols)
	}
	for i, c := range cols {
		if res.Columns[i].Name != c {
			t.Fatalf("%s columns %v, want %v", method, res.Columns, cols)
		}
	}
	if res.Truncated || res.RowCount != int64(len(res.Rows)) {
		t.Fatalf("%s: truncated=%v rowCount=%d with %d rows", method, res.Truncated, res.RowCount, len(res.Rows))
	}
	return res
}

// A trade and a quote as the demo tables hold them.
type mdTrade struct {
	time  time.Time
	sym   string
	price float64
	size  int64
	side  string
}

type mdQuote struct {
	time       time.Time
	sym        string
	bid, ask   float64
	bsize, asz int64
}

func toTrades(t *testing.T, res *client.Result) []mdTrade {
	t.Helper()
	out := make([]mdTrade, len(res.Rows))
	for k, r := range res.Rows {
		tt, ok1 := r[0].(time.Time)
		sym, ok2 := r[1].(string)
		price, ok3 := r[2].(float64)
		size, ok4 := r[3].(int64)
		side, ok5 := r[4].(string)
		if !(ok1 && ok2 && ok3 && ok4 && ok5) {
			t.Fatalf("trade row %d has unexpected types: %#v", k, r)
		}
		out[k] = mdTrade{tt, sym, price, size, side}
	}
	return out
}

func toQuotes(t *testing.T, res *client.Result) []mdQuote {
	t.Helper()
	out := make([]mdQuote, len(res.Rows))
	for k, r := range res.Rows {
		tt, ok1 := r[0].(time.Time)
		sym, ok2 := r[1].(string)
		bid, ok3 := r[2].(float64)
		ask, ok4 := r[3].(float64)
		bs, ok5 := r[4].(int64)
		as, ok6 := r[5].(int64)
		if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
			t.Fatalf("quote row %d has unexpected types: %#v", k, r)
		}
		out[k] = mdQuote{tt, sym, bid, ask, bs, as}
	}
	return out
}

// inWindow is the documented filter: syms (nil = all) and start <= time < end
// (zero = unbounded).
func inWindow(tm time.Time, sym string, syms map[string]bool, start, end time.Time) bool {
	return (syms == nil || syms[sym]) && (start.IsZero() || !tm.Before(start)) && (end.IsZero() || tm.Before(end))
}

func symSet(syms ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range syms {
		m[s] = true
	}
	return m
}

func symList(syms ...string) []any {
	out := make([]any, len(syms))
	for i, s := range syms {
		out[i] = s
	}
	return out
}

// round4 and round2 are DuckDB's round(x, 4) and round(x, 2).
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// closeTo compares floats computed in a different order of summation than
// DuckDB's; a value rounded to 4 decimals may differ in its last digit.
func closeTo(a, b, tol float64) bool { return math.Abs(a-b) <= tol+1e-9*math.Abs(b) }

// barOrigin is DuckDB's time_bucket origin for buckets without months.
var barOrigin = time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC)

func bucketOf(tm time.Time, width time.Duration) time.Time {
	d := tm.Sub(barOrigin)
	q := d / width
	if d%width < 0 {
		q--
	}
	return barOrigin.Add(q * width)
}

// TestMarketData checks every marketData method of the demo catalog
// against values computed here from the raw rows of getTrades and
// getQuotes: filters, window bounds (start inclusive, end exclusive),
// order, limit, bars, VWAP and the as-of join.
func TestMarketData(t *testing.T) {
	t.Parallel()
	g := mdGateway(t)
	s := sdkSession(t, g, "quant")
	tradeCols := []string{"time", "sym", "price", "size", "side"}
	quoteCols := []string{"time", "sym", "bid", "ask", "bsize", "asize"}
	trades := toTrades(t, mdCall(t, s, "marketData/getTrades", nil, tradeCols...))
	quotes := toQuotes(t, mdCall(t, s, "marketData/getQuotes", nil, quoteCols...))
	if len(trades) != mdTrades || len(quotes) != 3*mdTrades {
		t.Fatalf("the whole day has %d trades and %d quotes, want %d and %d", len(trades), len(quotes), mdTrades, 3*mdTrades)
	}

	t.Run("raw rows", func(t *testing.T) {
		day := trades[0].time.Truncate(24 * time.Hour)
		open, closing := day.Add(9*time.Hour+30*time.Minute), day.Add(16*time.Hour)
		for k, tr := range trades {
			if k > 0 && tr.time.Before(trades[k-1].time) {
				t.Fatalf("trades not ordered by time at %d: %v after %v", k, tr.time, trades[k-1].time)
			}
			if tr.time.Before(open) || tr.time.After(closing) || tr.price <= 0 || tr.size <= 0 || (tr.side != "buy" && tr.side != "sell") {
				t.Fatalf("implausible trade %d: %+v", k, tr)
			}
		}
		for k, q := range quotes {
			if k > 0 && q.time.Before(quotes[k-1].time) {
				t.Fatalf("quotes not ordered by time at %d", k)
			}
			if q.time.Before(open) || q.time.After(closing) || q.bid <= 0 || q.ask <= q.bid || q.bsize <= 0 || q.asz <= 0 {
				t.Fatalf("implausible quote %d: %+v", k, q)
			}
		}
	})

	t.Run("listSyms", func(t *testing.T) {
		res := mdCall(t, s, "marketData/listSyms", nil, "sym")
		distinct := map[string]bool{}
		for _, tr := range trades {
			distinct[tr.sym] = true
		}
		want := make([]string, 0, len(distinct))
		for sym := range distinct {
			want = append(want, sym)
		}
		sort.Strings(want)
		if len(res.Rows) != 50 || len(want) != 50 {
			t.Fatalf("listSyms has %d symbols, the trades %d; want 50", len(res.Rows), len(want))
		}
		for i, r := range res.Rows {
			if r[0] != want[i] {
				t.Fatalf("listSyms[%d] = %v, want %s (sorted distinct syms of getTrades)", i, r[0], want[i])
			}
		}
	})

	t.Run("getTrades", func(t *testing.T) {
		checkWindowed(t, s, "marketData/getTrades", tradeCols, len(trades),
			func(k int) (time.Time, string) { return trades[k].time, trades[k].sym },
			func(res *client.Result) []any {
				out := []any{}
				for _, tr := range toTrades(t, res) {
					out = append(out, tr)
				}
				return out
			}, func(k int) any { return trades[k] })
	})

	t.Run("getQuotes", func(t *testing.T) {
		checkWindowed(t, s, "marketData/getQuotes", quoteCols, len(quotes),
			func(k int) (time.Time, string) { return quotes[k].time, quotes[k].sym },
			func(res *client.Result) []any {
				out := []any{}
				for _, q := range toQuotes(t, res) {
					out = append(out, q)
				}
				return out
			}, func(k int) any { return quotes[k] })
	})

	t.Run("getBars", func(t *testing.T) {
		mid := trades[len(trades)/2].time
		for _, c := range []struct {
			params map[string]any
			width  time.Duration
			syms   map[string]bool
			start  time.Time
			end    time.Time
		}{
			{nil, time.Minute, nil, time.Time{}, time.Time{}},
			{map[string]any{"bucket": "7m", "syms": symList("AAPL", "NVDA", "KO"), "start": trades[1234].time, "end": mid},
				7 * time.Minute, symSet("AAPL", "NVDA", "KO"), trades[1234].time, mid},
			{map[string]any{"bucket": "PT1H"}, time.Hour, nil, time.Time{}, time.Time{}},
		} {
			res := mdCall(t, s, "marketData/getBars", c.params, "time", "sym", "open", "high", "low", "close", "volume", "vwap", "trades")
			checkBars(t, fmt.Sprint(c.params), res, trades, c.width, c.syms, c.start, c.end)
		}
	})

	t.Run("getVwap", func(t *testing.T) {
		for _, c := range []struct {
			params     map[string]any
			syms       map[string]bool
			start, end time.Time
		}{
			{nil, nil, time.Time{}, time.Time{}},
			{map[string]any{"syms": symList("AAPL")}, symSet("AAPL"), time.Time{}, time.Time{}},
			{map[string]any{"syms": symList("MSFT", "T", "V"), "start": trades[100].time, "end": trades[mdTrades*9/10].time},
				symSet("MSFT", "T", "V"), trades[100].time, trades[mdTrades*9/10].time},
		} {
			res := mdCall(t, s, "marketData/getVwap", c.params, "sym", "vwap", "volume")
			type acc struct{ pv, v float64 }
			want := map[string]*acc{}
			for _, tr := range trades {
				if inWindow(tr.time, tr.sym, c.syms, c.start, c.end) {
					if want[tr.sym] == nil {
						want[tr.sym] = &acc{}
					}
					want[tr.sym].pv += tr.price * float64(tr.size)
					want[tr.sym].v += float64(tr.size)
				}
			}
			if len(res.Rows) != len(want) || len(want) == 0 {
				t.Fatalf("getVwap %v: %d rows, want %d (one per traded symbol)", c.params, len(res.Rows), len(want))
			}
			for k, r := range res.Rows {
				sym := r[0].(string)
				w := want[sym]
				if w == nil || (k > 0 && sym <= res.Rows[k-1][0].(string)) {
					t.Fatalf("getVwap %v: row %d symbol %s unexpected or out of order", c.params, k, sym)
				}
				if r[2] != int64(w.v) || !closeTo(r[1].(float64), round4(w.pv/w.v), 1e-4) {
					t.Errorf("getVwap %v %s: vwap %v volume %v, want %v and %v", c.params, sym, r[1], r[2], round4(w.pv/w.v), int64(w.v))
				}
			}
		}
	})

	t.Run("getTradesWithQuotes", func(t *testing.T) {
		for _, c := range []struct {
			params     map[string]any
			syms       map[string]bool
			start, end time.Time
		}{
			{nil, nil, time.Time{}, time.Time{}},
			{map[string]any{"syms": symList("AAPL", "KO", "T"), "start": trades[500].time, "end": trades[mdTrades*3/4].time},
				symSet("AAPL", "KO", "T"), trades[500].time, trades[mdTrades*3/4].time},
		} {
			res := mdCall(t, s, "marketData/getTradesWithQuotes", c.params, "time", "sym", "price", "size", "side", "bid", "ask", "spread")
			var want []mdTrade
			for _, tr := range trades {
				if inWindow(tr.time, tr.sym, c.syms, c.start, c.end) {
					want = append(want, tr)
				}
			}
			if len(res.Rows) != len(want) || len(want) == 0 {
				t.Fatalf("getTradesWithQuotes %v: %d rows, want the %d trades of the window", c.params, len(res.Rows), len(want))
			}
			// Every row's trade columns; the quote columns of about 400
			// rows, against the quote found by scanning getQuotes.
			step := max(1, len(want)/400)
			for k, r := range res.Rows {
				tr := want[k]
				if !r[0].(time.Time).Equal(tr.time) || r[1] != tr.sym || r[2] != tr.price || r[3] != tr.size || r[4] != tr.side {
					t.Fatalf("getTradesWithQuotes %v row %d trade %v, want %+v", c.params, k, r[:5], tr)
				}
				if k%step != 0 && k != len(want)-1 {
					continue
				}
				var prev *mdQuote
				for i := range quotes {
					if quotes[i].time.After(tr.time) {
						break
					}
					if quotes[i].sym == tr.sym {
						prev = &quotes[i]
					}
				}
				if prev == nil {
					if r[5] != nil || r[6] != nil || r[7] != nil {
						t.Fatalf("row %d: no quote precedes the trade, yet bid/ask/spread = %v", k, r[5:])
					}
					continue
				}
				if r[5] != prev.bid || r[6] != prev.ask || !closeTo(r[7].(float64), round2(prev.ask-prev.bid), 0) {
					t.Fatalf("getTradesWithQuotes %v row %d (%+v): bid/ask/spread %v, want the prevailing quote %+v (spread %v)",
						c.params, k, tr, r[5:], *prev, round2(prev.ask-prev.bid))
				}
			}
		}
	})
}

// checkWindowed checks the syms, start, end and limit parameters of
// getTrades or getQuotes against the whole day's rows (n of them, ordered
// by time): at(k) gives row k's time and symbol, row(k) the row itself and
// rows the decoded rows of a result.
func checkWindowed(t *testing.T, s *client.Session, method string, cols []string, n int,
	at func(int) (time.Time, string), rows func(*client.Result) []any, row func(int) any) {
	t.Helper()
	t1, _ := at(n / 10)
	t2, _ := at(n / 2)
	t3, _ := at(n - n/10)
	for _, c := range []struct {
		params     map[string]any
		syms       map[string]bool
		start, end time.Time
		limit      int
	}{
		{map[string]any{"syms": symList("AAPL", "MSFT", "T")}, symSet("AAPL", "MSFT", "T"), time.Time{}, time.Time{}, 0},
		{map[string]any{"syms": "GE"}, symSet("GE"), time.Time{}, time.Time{}, 0}, // one symbol as a one-element list
		{map[string]any{"start": t1, "end": t2}, nil, t1, t2, 0},                  // row n/10 in, row n/2 out
		{map[string]any{"start": t2}, nil, t2, time.Time{}, 0},
		{map[string]any{"end": t1}, nil, time.Time{}, t1, 0},
		{map[string]any{"start": t2, "end": t2}, nil, t2, t2, 0}, // empty
		{map[string]any{"limit": 7}, nil, time.Time{}, time.Time{}, 7},
		{map[string]any{"limit": 5, "syms": symList("NVDA"), "start": t2, "end": t3}, symSet("NVDA"), t2, t3, 5},
		{map[string]any{"start": t1.Add(time.Microsecond), "end": t3}, nil, t1.Add(time.Microsecond), t3, 0}, // row n/10 out
	} {
		var want []any
		for k := 0; k < n; k++ {
			tm, sym := at(k)
			if inWindow(tm, sym, c.syms, c.start, c.end) && (c.limit == 0 || len(want) < c.limit) {
				want = append(want, row(k))
			}
		}
		res := mdCall(t, s, method, c.params, cols...)
		got := rows(res)
		if len(got) != len(want) {
			t.Fatalf("%s %v: %d rows, want %d", method, c.params, len(got), len(want))
		}
		for k := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(want[k]) {
				t.Fatalf("%s %v: row %d = %+v, want %+v", method, c.params, k, got[k], want[k])
			}
		}
	}
}

// checkBars recomputes getBars from the trades: per bucket and symbol the
// first and last price in time, high, low, volume, VWAP rounded to 4
// decimals and the trade count; ordered by bucket then symbol.
func checkBars(t *testing.T, what string, res *client.Result, trades []mdTrade, width time.Duration,
	syms map[string]bool, start, end time.Time) {
	t.Helper()
	type bar struct {
		time                          time.Time
		sym                           string
		open, high, low, close, pv, v float64
		n                             int64
	}
	bars := map[string]*bar{}
	for _, tr := range trades { // ordered by time: the first is the open
		if !inWindow(tr.time, tr.sym, syms, start, end) {
			continue
		}
		b0 := bucketOf(tr.time, width)
		key := b0.Format(time.RFC3339) + " " + tr.sym
		b := bars[key]
		if b == nil {
			b = &bar{time: b0, sym: tr.sym, open: tr.price, high: tr.price, low: tr.price}
			bars[key] = b
		}
		b.high, b.low, b.close = math.Max(b.high, tr.price), math.Min(b.low, tr.price), tr.price
		b.pv += tr.price * float64(tr.size)
		b.v += float64(tr.size)
		b.n++
	}
	want := make([]*bar, 0, len(bars))
	for _, b := range bars {
		want = append(want, b)
	}
	sort.Slice(want, func(i, j int) bool {
		if !want[i].time.Equal(want[j].time) {
			return want[i].time.Before(want[j].time)
		}
		return want[i].sym < want[j].sym
	})
	if len(res.Rows) != len(want) || len(want) == 0 {
		t.Fatalf("getBars %s: %d bars, want %d", what, len(res.Rows), len(want))
	}
	for k, r := range res.Rows {
		w := want[k]
		ok := r[0].(time.Time).Equal(w.time) && r[1] == w.sym && r[2] == w.open && r[3] == w.high &&
			r[4] == w.low && r[5] == w.close && r[6] == int64(w.v) && r[8] == w.n &&
			closeTo(r[7].(float64), round4(w.pv/w.v), 1e-4)
		if !ok {
			t.Fatalf("getBars %s: bar %d = %v, want %s %s o=%v h=%v l=%v c=%v vol=%v vwap=%v n=%d", what, k, r,
				w.time.Format(time.RFC3339), w.sym, w.open, w.high, w.low, w.close, int64(w.v), round4(w.pv/w.v), w.n)
		}
	}
}
