// Package feed is the demo feed: in demo mode it emits a monMem sample per
// server every second and trades and quotes at a configurable rate, as
// typed batches, into a Source — the demo's live source, which stores them
// (so snapshots and queries see them) and streams them to the subscribers
// of monPublic/sub, marketData/subTrades and marketData/subQuotes through
// the gateway's stream hub, together with the rows clients publish.
//
// The feed continues the demo tables: at start it reads each server's
// memory size and last sample, and each symbol's last trade and quote, from
// the backend, and random-walks from there. A table that cannot be read (a
// catalog without the demo data) leaves its part of the feed off, as does
// a table the catalog has no publishing method for (Config.Tables); a table
// that does not take the rows turns its part off with one log line.
package feed

import (
	"context"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
)

// The tables the feed writes, and its limits.
const (
	MemTable       = "monMem"
	TradeTable     = "trade"
	QuoteTable     = "quote"
	QuotesPerTrade = 3
	tick           = 100 * time.Millisecond
	// MaxRate bounds the trades per second.
	MaxRate = 100_000
)

// The columns of the batches the feed emits, per table.
var (
	MemColumns = []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
		{Name: "usedMB", Type: qconnect.Float}, {Name: "freeMB", Type: qconnect.Float}, {Name: "cpuLoad", Type: qconnect.Float}}
	TradeColumns = []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
		{Name: "price", Type: qconnect.Float}, {Name: "size", Type: qconnect.Long}, {Name: "side", Type: qconnect.Symbol}}
	QuoteColumns = []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
		{Name: "bid", Type: qconnect.Float}, {Name: "ask", Type: qconnect.Float}, {Name: "bsize", Type: qconnect.Long}, {Name: "asize", Type: qconnect.Long}}
)

// EmitFunc stores a typed batch of columns cols in table and streams it;
// it is Source.Emit.
type EmitFunc func(ctx context.Context, table string, cols []qconnect.Column, b *qconnect.Batch) error

// Config configures Run.
type Config struct {
	Emit EmitFunc
	// Backend seeds the feed from the demo tables (nil: two servers and
	// three symbols of built-in values).
	Backend qconnect.Backend
	// Rate is trades per second (quotes are QuotesPerTrade times as many);
	// 0 emits no trades or quotes. At most MaxRate.
	Rate float64
	// MemInterval is the monMem sampling interval (default 1 s; negative:
	// no monMem samples).
	MemInterval time.Duration
	// Tables, when not nil, are the tables (lower case) the catalog
	// publishes to; the feed leaves the others alone (its part for them is
	// off), as a client could not publish there either.
	Tables map[string]bool
	Seed   uint64
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default time.Now
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
	owed    float64 // trades due but not yet emitted (fractions carry over)
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
	if cfg.Tables != nil {
		for _, t := range []string{MemTable, TradeTable, QuoteTable} {
			if !cfg.Tables[strings.ToLower(t)] {
				f.off[t] = true
				cfg.Logger.Info("demo feed: the catalog has no publishing method for this table; this part of the feed is off", "table", t)
			}
		}
	}
	if cfg.Backend == nil {
		f.servers = []server{{"server_A", 16384, 8000}, {"server_B", 32768, 12000}}
		f.syms = []symbol{{"AAPL", 190}, {"MSFT", 415}, {"IBM", 190}}
		return f
	}
	f.servers = f.seedServers(ctx)
	f.syms = f.seedSymbols(ctx)
	return f
}

// Run emits until ctx ends.
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
			f.emit(ctx, MemTable, MemColumns, f.MemBatch(now))
		}
		trades, quotes := f.MarketBatches(now, tick)
		f.emit(ctx, QuoteTable, QuoteColumns, quotes)
		f.emit(ctx, TradeTable, TradeColumns, trades)
	}
}

func (f *Feed) emit(ctx context.Context, table string, cols []qconnect.Column, b *qconnect.Batch) {
	if b == nil || b.Len == 0 || f.off[table] || f.cfg.Emit == nil {
		return
	}
	if err := f.cfg.Emit(ctx, table, cols, b); err != nil && ctx.Err() == nil {
		if qconnect.ErrorCode(err) == qconnect.CodeAnalyticError {
			f.off[table] = true
			f.cfg.Logger.Warn("demo feed: the table does not take the feed's rows; this part of the feed is off", "table", table, "error", err)
			return
		}
		f.cfg.Logger.Warn("demo feed: emit failed", "table", table, "error", err)
	}
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// MemBatch is one monMem sample per server at now (MemColumns): used
// memory random-walks within 5 % to 97 % of the server's total; freeMB is
// the rest.
func (f *Feed) MemBatch(now time.Time) *qconnect.Batch {
	b := qconnect.NewBatch(MemColumns, 0)
	for i := range f.servers {
		s := &f.servers[i]
		s.usedMB += s.totalMB * 0.01 * f.rnd.NormFloat64()
		s.usedMB = math.Min(0.97*s.totalMB, math.Max(0.05*s.totalMB, s.usedMB))
		used := round(s.usedMB, 2)
		b.Cols[0].Ints = append(b.Cols[0].Ints, now.UnixNano())
		b.Cols[1].AppendString(s.sym)
		b.Cols[2].Floats = append(b.Cols[2].Floats, used)
		b.Cols[3].Floats = append(b.Cols[3].Floats, round(s.totalMB-used, 2))
		b.Cols[4].Floats = append(b.Cols[4].Floats, round(math.Min(1, math.Max(0, 0.3+0.2*f.rnd.NormFloat64())), 4))
		b.Len++
	}
	return b
}

// MarketBatches are the trades (TradeColumns) and quotes (QuoteColumns)
// due in a period of length d ending at now: Rate·d trades (fractions carry
// over) and QuotesPerTrade quotes per trade, spread over the period in time
// order. Lower-listed symbols trade more often, as in the demo tables.
func (f *Feed) MarketBatches(now time.Time, d time.Duration) (trades, quotes *qconnect.Batch) {
	if f.cfg.Rate <= 0 || len(f.syms) == 0 {
		return nil, nil
	}
	f.owed += f.cfg.Rate * d.Seconds()
	n := int(f.owed)
	f.owed -= float64(n)
	trades, quotes = qconnect.NewBatch(TradeColumns, 0), qconnect.NewBatch(QuoteColumns, 0)
	start := now.Add(-d)
	for i := range n * QuotesPerTrade {
		at := start.Add(time.Duration(float64(d) * float64(i+1) / float64(n*QuotesPerTrade+1)))
		k := min(len(f.syms)-1, int(float64(len(f.syms))*math.Pow(f.rnd.Float64(), 1.6)))
		s := &f.syms[k]
		s.mid *= math.Exp(0.0002 * f.rnd.NormFloat64())
		spread := math.Max(0.01, round(s.mid*0.0002*(1+f.rnd.Float64()), 2))
		bid := round(s.mid-spread/2, 2)
		ask := round(bid+spread, 2)
		q := quotes.Cols
		q[0].Ints = append(q[0].Ints, at.UnixNano())
		q[1].AppendString(s.sym)
		q[2].Floats = append(q[2].Floats, bid)
		q[3].Floats = append(q[3].Floats, ask)
		q[4].Ints = append(q[4].Ints, int64(100*(1+f.rnd.IntN(20))))
		q[5].Ints = append(q[5].Ints, int64(100*(1+f.rnd.IntN(20))))
		quotes.Len++
		if i%QuotesPerTrade != QuotesPerTrade-1 {
			continue
		}
		side, price := "buy", ask
		if f.rnd.Float64() < 0.48 {
			side, price = "sell", bid
		}
		t := trades.Cols
		t[0].Ints = append(t[0].Ints, at.Add(time.Microsecond).UnixNano())
		t[1].AppendString(s.sym)
		t[2].Floats = append(t[2].Floats, price)
		t[3].Ints = append(t[3].Ints, int64(100*(1+int(math.Pow(f.rnd.Float64(), 6)*50))))
		t[4].AppendString(side)
		trades.Len++
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
