// Package feed is the demo feed: in demo mode it publishes a monMem sample
// per server every second (monPublic/pubMem) and trades and quotes at a
// configurable rate (marketData/pubTrades, marketData/pubQuotes), through the
// gateway's publish path — the same validation, append and fan-out as a
// client's publish — so the demo streams out of the box.
//
// The feed continues the demo tables: at start it reads each server's
// memory size and last sample, and each symbol's last trade and quote, from
// the backend, and random-walks from there. A table that cannot be read (a
// catalog without the demo data) leaves its part of the feed off; a publish
// method the catalog lacks turns its part off with one log line.
package feed

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// The publishing methods the feed uses.
const (
	MemMethod      = "monPublic/pubMem"
	TradeMethod    = "marketData/pubTrades"
	QuoteMethod    = "marketData/pubQuotes"
	QuotesPerTrade = 3
	tick           = 100 * time.Millisecond
	// MaxRate bounds the trades per second.
	MaxRate = 100_000
)

// PublishFunc publishes rows (a JSON array of row objects, PROTOCOL 4.3
// forms) to a publishing method and returns the number stored; it is
// server.Server.Publish.
type PublishFunc func(ctx context.Context, method string, rows json.RawMessage) (int, error)

// Config configures Run.
type Config struct {
	Publish PublishFunc
	// Backend seeds the feed from the demo tables (nil: two servers and
	// three symbols of built-in values).
	Backend qconnect.Backend
	// Rate is trades per second (quotes are QuotesPerTrade times as many);
	// 0 publishes no trades or quotes. At most MaxRate.
	Rate float64
	// MemInterval is the monMem sampling interval (default 1 s; negative:
	// no monMem samples).
	MemInterval time.Duration
	Seed        uint64
	Logger      *slog.Logger     // default: discard
	Now         func() time.Time // default time.Now
}

// server is the state of one monMem server.
type server struct {
	sym             string
	totalMB, usedMB float64
}

// symbol is the state of one marketData ticker.
type symbol struct {
	sym string
	mid float64
}

// Feed generates the demo rows. Create it with New.
type Feed struct {
	cfg     Config
	rnd     *rand.Rand
	servers []server
	syms    []symbol
	owed    float64 // trades due but not yet published (fractions carry over)
	off     map[string]bool
}

// New reads the starting state from cfg.Backend (if any).
func New(ctx context.Context, cfg Config) *Feed {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MemInterval == 0 {
		cfg.MemInterval = time.Second
	}
	cfg.Rate = math.Max(0, math.Min(cfg.Rate, MaxRate))
	f := &Feed{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), off: map[string]bool{}}
	if cfg.Backend == nil {
		f.servers = []server{{"server_A", 16384, 8000}, {"server_B", 32768, 12000}}
		f.syms = []symbol{{"AAPL", 190}, {"MSFT", 415}, {"IBM", 190}}
		return f
	}
	f.servers = f.seedServers(ctx)
	f.syms = f.seedSymbols(ctx)
	return f
}

// Run publishes until ctx ends.
func (f *Feed) Run(ctx context.Context) {
	t := time.NewTicker(tick)
	defer t.Stop()
	lastMem := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := f.cfg.Now().UTC()
		if f.cfg.MemInterval > 0 && now.Sub(lastMem) >= f.cfg.MemInterval {
			lastMem = now
			f.publish(ctx, MemMethod, f.MemRows(now))
		}
		trades, quotes := f.MarketRows(now, tick)
		f.publish(ctx, QuoteMethod, quotes)
		f.publish(ctx, TradeMethod, trades)
	}
}

func (f *Feed) publish(ctx context.Context, method string, rows []map[string]any) {
	if len(rows) == 0 || f.off[method] {
		return
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		f.cfg.Logger.Error("demo feed: encoding rows", "method", method, "error", err)
		return
	}
	if _, err := f.cfg.Publish(ctx, method, raw); err != nil && ctx.Err() == nil {
		if qconnect.ErrorCode(err) == qconnect.CodeUnknownMethod {
			f.off[method] = true
			f.cfg.Logger.Warn("demo feed: the catalog has no such publishing method; this part of the feed is off", "method", method)
			return
		}
		f.cfg.Logger.Warn("demo feed: publish failed", "method", method, "error", err)
	}
}

func ts(t time.Time) string { return t.UTC().Format(protocol.TimestampLayout) }

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// MemRows is one monMem sample per server at now: used memory random-walks
// within 5 % to 97 % of the server's total; freeMB is the rest.
func (f *Feed) MemRows(now time.Time) []map[string]any {
	rows := make([]map[string]any, 0, len(f.servers))
	for i := range f.servers {
		s := &f.servers[i]
		s.usedMB += s.totalMB * 0.01 * f.rnd.NormFloat64()
		s.usedMB = math.Min(0.97*s.totalMB, math.Max(0.05*s.totalMB, s.usedMB))
		used := round(s.usedMB, 2)
		rows = append(rows, map[string]any{
			"time": ts(now), "sym": s.sym, "usedMB": used, "freeMB": round(s.totalMB-used, 2),
			"cpuLoad": round(math.Min(1, math.Max(0, 0.3+0.2*f.rnd.NormFloat64())), 4),
		})
	}
	return rows
}

// MarketRows are the trades and quotes due in a period of length d ending
// at now: Rate·d trades (fractions carry over) and QuotesPerTrade quotes per
// trade, spread over the period in time order. Lower-listed symbols trade
// more often, as in the demo tables.
func (f *Feed) MarketRows(now time.Time, d time.Duration) (trades, quotes []map[string]any) {
	if f.cfg.Rate <= 0 || len(f.syms) == 0 {
		return nil, nil
	}
	f.owed += f.cfg.Rate * d.Seconds()
	n := int(f.owed)
	f.owed -= float64(n)
	start := now.Add(-d)
	for i := range n * QuotesPerTrade {
		at := start.Add(time.Duration(float64(d) * float64(i+1) / float64(n*QuotesPerTrade+1)))
		k := min(len(f.syms)-1, int(float64(len(f.syms))*math.Pow(f.rnd.Float64(), 1.6)))
		s := &f.syms[k]
		s.mid *= math.Exp(0.0002 * f.rnd.NormFloat64())
		spread := math.Max(0.01, round(s.mid*0.0002*(1+f.rnd.Float64()), 2))
		bid := round(s.mid-spread/2, 2)
		ask := round(bid+spread, 2)
		quotes = append(quotes, map[string]any{"time": ts(at), "sym": s.sym, "bid": bid, "ask": ask,
			"bsize": 100 * (1 + f.rnd.IntN(20)), "asize": 100 * (1 + f.rnd.IntN(20))})
		if i%QuotesPerTrade != QuotesPerTrade-1 {
			continue
		}
		side, price := "buy", ask
		if f.rnd.Float64() < 0.48 {
			side, price = "sell", bid
		}
		trades = append(trades, map[string]any{"time": ts(at.Add(time.Microsecond)), "sym": s.sym,
			"price": price, "size": 100 * (1 + int(math.Pow(f.rnd.Float64(), 6)*50)), "side": side})
	}
	return trades, quotes
}

// seedServers reads every server's total memory and last used memory.
func (f *Feed) seedServers(ctx context.Context) []server {
	var out []server
	f.query(ctx, "monMem", `SELECT sym, arg_max(usedMB + freeMB, time) AS totalMB, arg_max(usedMB, time) AS usedMB FROM monMem GROUP BY sym ORDER BY sym`,
		[]qconnect.Column{{Name: "sym", Type: qconnect.Symbol}, {Name: "totalMB", Type: qconnect.Float}, {Name: "usedMB", Type: qconnect.Float}},
		func(r []any) {
			sym, _ := r[0].(string)
			total, _ := r[1].(float64)
			used, _ := r[2].(float64)
			if sym != "" && total > 0 {
				out = append(out, server{sym: sym, totalMB: total, usedMB: used})
			}
		})
	return out
}

// seedSymbols reads every symbol's last quote mid (or trade price), most
// traded first.
func (f *Feed) seedSymbols(ctx context.Context) []symbol {
	var out []symbol
	f.query(ctx, "trade", `SELECT sym, arg_max(price, time) AS price FROM trade GROUP BY sym ORDER BY count(*) DESC, sym`,
		[]qconnect.Column{{Name: "sym", Type: qconnect.Symbol}, {Name: "price", Type: qconnect.Float}},
		func(r []any) {
			sym, _ := r[0].(string)
			price, _ := r[1].(float64)
			if sym != "" && price > 0 {
				out = append(out, symbol{sym: sym, mid: price})
			}
		})
	return out
}

// query runs a seeding query through the backend as a synthesized method.
func (f *Feed) query(ctx context.Context, table, q string, cols []qconnect.Column, each func([]any)) {
	if f.cfg.Backend == nil {
		return
	}
	m := &qconnect.Method{Group: "feed", Name: "seed_" + table, Query: q, Columns: cols}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := f.cfg.Backend.Query(ctx, qconnect.Call{Method: m, Now: f.cfg.Now(), Limit: 10_000})
	if err != nil {
		f.cfg.Logger.Warn("demo feed: cannot read the starting state; this part of the feed is off", "table", table, "error", err)
		return
	}
	defer rows.Close()
	for {
		batch, err := rows.Next(ctx)
		if err == io.EOF {
			return
		}
		if err != nil {
			f.cfg.Logger.Warn("demo feed: reading the starting state", "table", table, "error", err)
			return
		}
		for r := 0; r < batch.Len; r++ {
			each(batch.Row(r))
		}
	}
}
