package duckdb

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"strings"
	"time"
)

// Demo data set sizes and shapes. Everything is generated inside DuckDB from
// range() and hash(): a value depends only on (seed, row number, purpose), so
// the tables are identical for a seed whatever the thread scheduling (and
// for a DuckDB version: hash() is not promised stable across versions).
const (
	// DefaultDemoTrades is the default number of marketData trades.
	DefaultDemoTrades = 1_000_000
	// MaxDemoTrades bounds the marketData size (memory: about 100 bytes per
	// quote row and 60 per trade row).
	MaxDemoTrades = 50_000_000
	// QuotesPerTrade is the ratio of quote rows to trade rows.
	QuotesPerTrade = 3

	monMemInterval = 10 * time.Second
	monMemSpan     = 48 * time.Hour
	// MonMemRows is the number of monMem rows: 8 servers, one sample every
	// 10 s over 48 h.
	MonMemRows = 8 * int(monMemSpan/monMemInterval)

	tradingOpen  = 9*time.Hour + 30*time.Minute // UTC
	tradingClose = 16 * time.Hour               // UTC
)

// demoServers are the monMem servers and their total memory in MB; usedMB +
// freeMB equals the total for every sample.
func demoServers() []demoServer {
	return []demoServer{
		{"server_A", 16384, 0.45}, {"server_B", 16384, 0.60}, {"server_C", 32768, 0.35},
		{"server_D", 32768, 0.55}, {"server_E", 65536, 0.40}, {"server_F", 65536, 0.70},
		{"server_G", 131072, 0.30}, {"server_H", 131072, 0.50},
	}
}

type demoServer struct {
	name    string
	totalMB float64
	load    float64 // typical used fraction
}

// demoSymbols are the 50 marketData tickers with a plausible opening price.
// Lower indexes trade more often.
func demoSymbols() []demoSymbol {
	return []demoSymbol{
		{"AAPL", 189.50}, {"MSFT", 415.20}, {"NVDA", 875.30}, {"AMZN", 178.40}, {"GOOGL", 152.10},
		{"META", 495.60}, {"TSLA", 175.80}, {"AVGO", 1310.00}, {"JPM", 196.40}, {"V", 278.90},
		{"UNH", 492.30}, {"XOM", 118.60}, {"MA", 468.20}, {"JNJ", 152.70}, {"PG", 161.40},
		{"HD", 348.90}, {"COST", 725.10}, {"ABBV", 171.20}, {"MRK", 126.80}, {"CVX", 157.30},
		{"KO", 60.40}, {"PEP", 168.90}, {"ADBE", 505.60}, {"CRM", 301.70}, {"NFLX", 610.50},
		{"AMD", 162.40}, {"BAC", 37.80}, {"WMT", 60.20}, {"TMO", 575.40}, {"ORCL", 125.60},
		{"CSCO", 48.90}, {"INTC", 35.10}, {"DIS", 112.30}, {"MCD", 272.60}, {"ABT", 109.80},
		{"QCOM", 168.70}, {"TXN", 172.40}, {"IBM", 189.20}, {"CAT", 358.10}, {"GE", 160.50},
		{"NKE", 93.70}, {"PFE", 27.60}, {"VZ", 40.10}, {"T", 17.20}, {"INTU", 630.80},
		{"AMGN", 270.40}, {"GS", 410.30}, {"BA", 185.60}, {"HON", 200.10}, {"UPS", 146.90},
	}
}

type demoSymbol struct {
	sym  string
	open float64
}

// DemoDate is the trading day of the marketData tables for a demo clock: the
// UTC date of the last weekday strictly before now's UTC date.
func DemoDate(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, -1)
	}
	return day
}

// demoRand makes the SQL expressions of the demo's pseudo-random values.
// A value is hash(row + key) where key is derived from the seed and a
// purpose tag: DuckDB's hash of one integer mixes all bits, so values of
// different purposes are independent. (hash(seed, row, 'tag') would not do:
// DuckDB combines the hashes of several arguments by multiply-and-xor, so
// two tags would only differ by a constant xor.)
type demoRand struct{ seed int64 }

// key is splitmix64 of the seed and the tag, kept below 2^62 so that row +
// key cannot overflow a BIGINT.
func (r demoRand) key(tag string) int64 {
	h := fnv.New64a()
	h.Write([]byte(tag))
	z := uint64(r.seed) ^ h.Sum64()
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z >> 2)
}

// hash is a SQL expression for a UBIGINT drawn from the row and the tag.
func (r demoRand) hash(row, tag string) string {
	return fmt.Sprintf("hash((%s) + %d)", row, r.key(tag))
}

// unit is a SQL expression for a uniform DOUBLE in [0, 1).
func (r demoRand) unit(row, tag string) string {
	return "(" + r.hash(row, tag) + "::DOUBLE / 18446744073709551616.0)"
}

// loadDemo creates monMem, quote and trade in the in-memory database.
func loadDemo(ctx context.Context, conn *conn, log *slog.Logger, seed int64, trades int, now time.Time) error {
	if err := loadMonMem(ctx, conn, demoRand{seed}, now); err != nil {
		return fmt.Errorf("demo table monMem: %w", err)
	}
	if err := loadMarket(ctx, conn, log, demoRand{seed}, trades, now); err != nil {
		return fmt.Errorf("demo tables trade/quote: %w", err)
	}
	return nil
}

func loadMonMem(ctx context.Context, conn *conn, rnd demoRand, now time.Time) error {
	var servers strings.Builder
	list := demoServers()
	for i, s := range list {
		if i > 0 {
			servers.WriteString(", ")
		}
		fmt.Fprintf(&servers, "(%d, '%s', %g, %g)", i, s.name, s.totalMB, s.load)
	}
	// The newest sample is now rounded down to 10 s; samples go back 48 h.
	last := now.UTC().Truncate(monMemInterval).UnixMicro()
	n := int64(monMemSpan / monMemInterval)
	row := fmt.Sprintf("t.i * %d + s.k", len(list)) // a sample's number
	// used fraction: the server's typical load, a daily wave with its own
	// phase, a 6-hour ripple and noise, clamped to [0.05, 0.97].
	// cpuLoad is a fraction of capacity in [0, 1] that follows the same
	// daily wave, with rare spikes.
	q := `CREATE TABLE memory.main.monMem AS
WITH s(k, sym, total, load) AS (VALUES ` + servers.String() + `),
t AS (SELECT i, make_timestamp($last - i * $step) AS time FROM range($n) r(i)),
g AS (
  SELECT t.time, s.sym, s.total, s.k, s.load,
    epoch(t.time) / 86400.0 * 2 * pi() AS day,
    ` + rnd.unit(row, "mem") + ` AS u1,
    ` + rnd.unit(row, "cpu") + ` AS u2,
    ` + rnd.unit(row, "spike") + ` AS u3
  FROM t CROSS JOIN s
),
f AS (
  SELECT time, sym, total,
    round(total * least(0.97, greatest(0.05, load + 0.15 * sin(day + k) + 0.04 * sin(day * 4 + k * 2) + 0.06 * (u1 - 0.5))), 2) AS used,
    CASE WHEN u3 < 0.005 THEN 0.9 + 0.1 * u2
         ELSE least(1.0, greatest(0.0, 0.25 + 0.2 * sin(day + k) + 0.3 * u2 * u2)) END AS cpu
  FROM g
)
SELECT time, sym, used AS usedMB, round(total - used, 2) AS freeMB, round(cpu, 4) AS cpuLoad
FROM f ORDER BY time, sym`
	err := conn.ExecContext(ctx, q, named("last", last),
		named("step", int64(monMemInterval/time.Microsecond)), named("n", n))
	return err
}

// DemoSideType is the DuckDB type of the demo trade table's side column:
// its values in sorting order, so that ORDER BY side sorts as VARCHAR does.
const DemoSideType = "ENUM('buy', 'sell')"

// walkStep is the time step of the symbols' price random walks; quotes
// interpolate between its points.
const walkStep = 5 * time.Second

func loadMarket(ctx context.Context, conn *conn, log *slog.Logger, rnd demoRand, trades int, now time.Time) error {
	began := time.Now()
	stage := func(name string) {
		log.Debug("demo stage done", "stage", name, "elapsed", time.Since(began).Round(time.Millisecond))
	}
	symbols := demoSymbols()
	var syms, opens strings.Builder
	for i, s := range symbols {
		if i > 0 {
			syms.WriteString(", ")
			opens.WriteString(", ")
		}
		fmt.Fprintf(&syms, "'%s'", s.sym)
		fmt.Fprintf(&opens, "%g", s.open)
	}
	nsym := len(symbols)
	nq := int64(trades) * QuotesPerTrade
	startUS := DemoDate(now).Add(tradingOpen).UnixMicro()
	dayUS := (tradingClose - tradingOpen).Microseconds()
	stepUS := walkStep.Microseconds()
	steps := dayUS / stepUS
	// The walk: integer steps in [-20, 20] summed per symbol (an exact
	// window sum, independent of the order of evaluation) are the log mid
	// price, scaled for about 2% daily volatility.
	scale := 0.02 / (11.83 * math.Sqrt(float64(steps)))
	walk := `CREATE TEMP TABLE _demo_walk AS
WITH s AS (
  SELECT k, g, ([` + opens.String() + `])[k + 1] AS open,
    (` + rnd.hash(fmt.Sprintf("k * %d + g", steps+2), "step") + ` % 41)::BIGINT - 20 AS step
  FROM range(` + fmt.Sprint(nsym) + `) a(k) CROSS JOIN range(` + fmt.Sprint(steps+1) + `) b(g)
),
w AS (
  SELECT k, g, open * exp($scale * (sum(step) OVER (PARTITION BY k ORDER BY g ROWS UNBOUNDED PRECEDING) - step)) AS lvl
  FROM s
)
SELECT k, g, lvl, lead(lvl, 1, lvl) OVER (PARTITION BY k ORDER BY g) AS lvl2 FROM w`
	if err := conn.ExecContext(ctx, walk, named("scale", scale)); err != nil {
		return err
	}
	stage("walk")
	defer func() {
		// Temporary tables live on this connection only; drop them even if
		// ctx was cancelled.
		_ = conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp._demo_walk`)
	}()

	// Quote j lies in [j*dq, (j+0.5)*dq) µs after the open (dq is the mean
	// spacing), the trade made from it within the following 0.4*dq, so both
	// tables are strictly ordered by time. Lower symbol indexes quote more.
	dq := float64(dayUS) / float64(nq)
	symList := "([" + syms.String() + "])"
	quote := `CREATE TEMP TABLE _demo_quote AS
WITH e AS (
  SELECT j,
    least(` + fmt.Sprint(nsym-1) + `, floor(` + fmt.Sprint(nsym) + ` * pow(` + rnd.unit("j", "sym") + `, 1.6)))::INTEGER AS k,
    floor((j + 0.5 * ` + rnd.unit("j", "qtime") + `) * $dq)::BIGINT AS qus
  FROM range($nq) r(j)
),
m AS (
  SELECT e.j, e.k, e.qus,
    (w.lvl + (w.lvl2 - w.lvl) * ((e.qus % $stepus) / $stepus::DOUBLE)) * (1 + 0.00004 * (` + rnd.unit("e.j", "noise") + ` - 0.5)) AS mid
  FROM e JOIN temp._demo_walk w ON w.k = e.k AND w.g = e.qus // $stepus
),
c AS (
  SELECT j, k, qus, floor(mid * 100 - spreadc / 2)::BIGINT AS bidc, spreadc
  FROM (SELECT *, greatest(1, round(mid * (1 + 2 * ` + rnd.unit("j", "spread") + `) * 0.01))::BIGINT AS spreadc FROM m)
)
SELECT make_timestamp($start + qus) AS time, ` + symList + `[k + 1] AS sym,
  bidc / 100.0 AS bid, (bidc + spreadc) / 100.0 AS ask,
  100 * (1 + ` + rnd.hash("j", "bsize") + ` % 20)::BIGINT AS bsize,
  100 * (1 + ` + rnd.hash("j", "asize") + ` % 20)::BIGINT AS asize
FROM c ORDER BY j`
	if err := conn.ExecContext(ctx, quote, named("start", startUS), named("dq", dq),
		named("nq", nq), named("stepus", stepUS)); err != nil {
		return err
	}
	stage("quote")
	defer func() { _ = conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp._demo_quote`) }()
	// One trade per group of three quotes (the quote's rowid is j, its
	// position in time order), made just after one of them: a buy lifts
	// the ask, a sell hits the bid, some trade at the mid.
	//
	// side is an ENUM('buy', 'sell') (DemoSideType), one byte a row instead
	// of a 16-byte string: a whole-day export sorts the table by time, and
	// the smaller rows make that sort spill less and the cursor decode
	// codes instead of strings (BENCHMARKS.md, issue 11). Queries see the
	// same values; a published side outside the two widens the column to
	// VARCHAR (see Append). sym stays VARCHAR: an ENUM would be compared
	// as VARCHAR with a list parameter (sym = ANY($syms)), which loses the
	// zone-map pruning getVwap relies on, and published rows bring new
	// symbols.
	trade := `CREATE TABLE memory.main.trade AS
WITH p AS (
  SELECT rowid AS j, time, sym, round(bid * 100)::BIGINT AS bidc, round(ask * 100)::BIGINT AS askc,
    ` + rnd.unit("rowid", "kind") + ` AS uk,
    ` + rnd.unit("rowid", "side") + ` AS us,
    ` + rnd.unit("rowid", "size") + ` AS uz
  FROM temp._demo_quote
  WHERE rowid % 3 = ` + rnd.hash("rowid // 3", "pick") + ` % 3
)
SELECT time + to_microseconds(1 + floor(0.4 * $dq * ` + rnd.unit("j", "ttime") + `)::BIGINT) AS time, sym,
  CASE WHEN uk < 0.15 THEN round((bidc + askc) / 2) / 100.0
       WHEN us < 0.52 THEN askc / 100.0 ELSE bidc / 100.0 END AS price,
  CASE WHEN uz < 0.08 THEN 1 + (` + rnd.hash("j", "odd") + ` % 99)::BIGINT
       ELSE 100 * (1 + floor(pow(uz, 6) * 50))::BIGINT END AS size,
  (CASE WHEN us < 0.52 THEN 'buy' ELSE 'sell' END)::` + DemoSideType + ` AS side
FROM p ORDER BY sym, time, j`
	if err := conn.ExecContext(ctx, trade, named("dq", dq)); err != nil {
		return err
	}
	stage("trade")
	// Both tables are stored ordered by (sym, time), so that the min/max of
	// each row group (DuckDB's zone maps) prune a query for a few symbols
	// and a time range down to the row groups that hold them.
	if err := conn.ExecContext(ctx, `CREATE TABLE memory.main.quote AS
SELECT * FROM temp._demo_quote ORDER BY sym, time, rowid`); err != nil {
		return err
	}
	stage("quote by sym")
	return nil
}
