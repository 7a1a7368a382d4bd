// Package duckdb is the embedded DuckDB backend of qconnect: it runs the
// catalog's SQL methods, serves an existing DuckDB file (--duckdb), a
// directory of CSV and Parquet files (--data) and the demo data sets
// (monMem for monPublic; trade and quote for marketData).
//
// # Databases
//
// The main database is always in memory (DuckDB catalog "memory"). A
// --duckdb file is ATTACHed to it, READ_ONLY unless Config.ReadWrite, under
// an alias derived from its file name, and put on the search path, so
// method queries name its tables without qualification. Demo tables and
// --data tables live in the in-memory database: users' files are never
// modified. That database is compressed (Config.Uncompressed): DuckDB's own
// is swapped at Open for ATTACH ':memory:' AS memory (COMPRESS), and the
// loaded tables are checkpointed, which compresses them as a file would be.
//
// --data: a CSV file is loaded into an in-memory table once at Open (CSV is
// slow to parse, so re-reading it on every call would dominate the call;
// loading also finds a malformed file at startup rather than on the first
// call). A Parquet file becomes a view over read_parquet: Parquet is
// columnar, compressed and carries min/max statistics, so DuckDB scans it
// about as fast as a table without holding a copy in memory.
//
// # Results
//
// Every method query runs as SELECT * FROM (<query>) [LIMIT n]: the query
// must be one SELECT statement (WITH, FROM-first and set operations are
// fine); a query holding several statements fails to prepare. The result
// streams: the statement is prepared, bound and executed with DuckDB's
// streaming C API through duckdb-go-bindings (see conn.go and stream.go),
// on a connection of the engine's own bounded pool (Config.MaxConns), and
// Rows.Next decodes DuckDB's data
// chunks straight into batches of Config.BatchSize rows of the qconnect
// value conventions. DuckDB computes the result as it is read, keeping a
// buffer of about 1MB ahead, so a call's memory is bounded by the batch
// size whatever the result size; the Go side holds two batches, the one
// the caller encodes and the next one, decoded meanwhile on a goroutine of
// its own (rows.go), so that DuckDB's fetch and the encoding overlap.
//
// # Time zone
//
// Every connection runs with TimeZone 'UTC', so TIMESTAMPTZ values and
// parameters convert to TIMESTAMP the same way on every server.
package duckdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// Backend is the Method.Backend name this engine serves (an empty Backend
// means this engine too).
const Backend = qconnect.DefaultBackend

// Defaults and bounds of Config.
const (
	DefaultBatchSize = 4096
	MaxBatchSize     = 1 << 20
	DefaultMaxConns  = 64
	MaxDataFiles     = 1000
)

// Config configures Open. The zero value is an empty in-memory database.
type Config struct {
	// Path is an existing DuckDB database file (--duckdb); "" means none.
	Path string
	// ReadWrite opens Path read-write; by default it is read-only.
	ReadWrite bool
	// DataDir (--data): every *.csv and *.parquet file in it (not in
	// subdirectories) becomes a table named after the file: trades.parquet
	// → trades. Characters other than letters, digits and _ become _, a
	// leading digit gets a t_ prefix. Two files that give one name, or a
	// name that is already a table, make Open fail.
	DataDir string
	// Demo loads the demo data sets: monMem (monPublic) and trade, quote
	// (marketData).
	Demo bool
	// Seed of the demo data (default 1). The demo tables are identical for
	// a seed, DemoTrades and Now.
	Seed int64
	// DemoTrades is the number of trades (default DefaultDemoTrades, at
	// most MaxDemoTrades); quotes are QuotesPerTrade times as many, over 50
	// symbols and one trading day (see DemoDate).
	DemoTrades int
	// Now is the demo clock: monMem covers the 48 hours before Now
	// (default time.Now()).
	Now time.Time
	// BatchSize is the number of rows per Rows.Next batch (default
	// DefaultBatchSize, at most MaxBatchSize).
	BatchSize int
	// Threads is DuckDB's worker thread count (0 = DuckDB's default, the
	// number of cores).
	Threads int
	// MemoryLimit is DuckDB's memory limit, e.g. "1GB" ("" = DuckDB's
	// default, 80% of RAM). Beyond it DuckDB spills sorts, joins and
	// in-memory tables to TempDir, so it bounds the engine's memory whatever
	// the size of a result.
	MemoryLimit string
	// LoadMemoryLimit, when set, is DuckDB's memory limit while Open
	// loads the demo and --data tables (generating a large demo sorts
	// tens of millions of rows, and some of its steps cannot spill);
	// MemoryLimit applies once they are loaded and compressed, and DuckDB
	// then moves what does not fit to TempDir.
	LoadMemoryLimit string
	// TempDir is where DuckDB spills (default: a fresh directory under the
	// system's temporary directory, removed by Close).
	TempDir string
	// MaxConns bounds the DuckDB connections open at once, that is the
	// calls running at once (default DefaultMaxConns). A call beyond it
	// waits for a connection until its context ends.
	MaxConns int
	// Uncompressed keeps the in-memory database's tables uncompressed
	// (DuckDB's default). By default the engine replaces the main
	// in-memory database by a compressed one (ATTACH ':memory:' (COMPRESS))
	// and checkpoints it once the demo and --data tables are loaded, which
	// compresses them as a database file would be (bit packing, ALP,
	// dictionaries): the default demo's tables take about 35 MB instead
	// of 248 MB. Rows appended later stay uncompressed until a CHECKPOINT.
	Uncompressed bool
	// ResultCacheBytes, when positive, keeps complete results of up to
	// 1/16 of it each, up to that many bytes in all, and answers repeated
	// calls (same method, parameters and row limit) from them until a table
	// the query names is appended to (see resultCache). 0 disables it.
	ResultCacheBytes int64
	// Logger receives load timings (default: discard).
	Logger *slog.Logger
}

// Engine is the DuckDB backend. It is safe for concurrent use.
type Engine struct {
	pool      *pool
	log       *slog.Logger
	batchSize int
	tables    []string     // sorted, unqualified
	cache     *resultCache // nil: no result cache
	groups    appendGroups // group commit of concurrent Appends
	// paths are the absolute server paths (--duckdb, --data) that error
	// messages must not reveal.
	paths []string

	// ownTemp is the spill directory Open created, removed by Close.
	ownTemp string

	closeOnce sync.Once
	closeErr  error
}

// Open opens the database described by cfg and loads its data. Errors name
// the file that failed and what to do ("data/trades.csv: ...: fix or remove
// the file").
func Open(ctx context.Context, cfg Config) (_ *Engine, err error) {
	cfg, err = withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	settings := [][2]string{}
	if cfg.Threads > 0 {
		settings = append(settings, [2]string{"threads", strconv.Itoa(cfg.Threads)})
	}
	if cfg.LoadMemoryLimit != "" {
		settings = append(settings, [2]string{"memory_limit", cfg.LoadMemoryLimit})
	} else if cfg.MemoryLimit != "" {
		settings = append(settings, [2]string{"memory_limit", cfg.MemoryLimit})
	}
	// jemalloc's background threads give memory DuckDB freed (after the
	// demo load's sorts, after a large result) back to the system within
	// seconds; without them the process keeps its peak (850 MB instead of
	// 300 MB after loading the default demo, see BENCHMARKS.md).
	settings = append(settings, [2]string{"allocator_background_threads", "true"})
	ownTemp := ""
	if cfg.TempDir == "" {
		if ownTemp, err = os.MkdirTemp("", "qconnect-duckdb-"); err != nil {
			return nil, fmt.Errorf("duckdb: creating a temporary directory for spilling: %w: set --duckdb-temp-dir", err)
		}
		cfg.TempDir = ownTemp
		defer func() { // any failure below leaves no empty directory behind
			if err != nil {
				_ = os.RemoveAll(ownTemp)
			}
		}()
	}
	settings = append(settings, [2]string{"temp_directory", cfg.TempDir})
	var alias string
	if cfg.Path != "" {
		alias, err = attachAlias(cfg.Path)
		if err != nil {
			return nil, err
		}
	}
	// Session settings, set on every new connection. The --duckdb file is
	// attached here too (IF NOT EXISTS: attachments belong to the database,
	// so only the first connection attaches), which puts it on the search
	// path of every connection, the first included.
	setup := []string{`SET TimeZone = 'UTC'`}
	if alias == "" {
		setup = append(setup, `SET search_path = 'memory.main'`)
	} else {
		abs, err := filepath.Abs(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Path, err)
		}
		mode := " (READ_ONLY)"
		if cfg.ReadWrite {
			mode = ""
		}
		setup = append(setup, `ATTACH IF NOT EXISTS '`+sqlString(abs)+`' AS "`+alias+`"`+mode,
			`SET search_path = 'memory.main,`+alias+`.main'`)
	}
	db, err := openDB(settings)
	if err != nil {
		return nil, fmt.Errorf("duckdb: open (threads=%d, memory limit %q): %w: check --duckdb-threads and --duckdb-memory-limit", cfg.Threads, cfg.MemoryLimit, err)
	}
	e := &Engine{pool: newPool(db, setup, cfg.MaxConns), log: cfg.Logger, batchSize: cfg.BatchSize, ownTemp: ownTemp}
	if err := e.load(ctx, cfg, alias); err != nil {
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.DemoTrades == 0 {
		cfg.DemoTrades = DefaultDemoTrades
	}
	if cfg.Demo && (cfg.DemoTrades < 1 || cfg.DemoTrades > MaxDemoTrades) {
		return cfg, fmt.Errorf("duckdb: demo size of %d trades is out of range: use 1 to %d", cfg.DemoTrades, MaxDemoTrades)
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		return cfg, fmt.Errorf("duckdb: batch size %d is out of range: use 1 to %d", cfg.BatchSize, MaxBatchSize)
	}
	if cfg.Threads < 0 {
		return cfg, fmt.Errorf("duckdb: %d threads: use 0 (DuckDB's default) or more", cfg.Threads)
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConns < 1 {
		return cfg, fmt.Errorf("duckdb: %d connections: use 1 or more", cfg.MaxConns)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// attachAlias checks that the --duckdb file exists and derives the catalog
// name it is attached under.
func attachAlias(path string) (string, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: no such file: give an existing DuckDB database file to --duckdb (it is never created)", path)
	}
	if err != nil {
		return "", fmt.Errorf("%w: give a readable DuckDB database file to --duckdb", err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s: is a directory: give a DuckDB database file to --duckdb (for a directory of CSV or Parquet files use --data)", path)
	}
	name, ok := tableName(filepath.Base(path))
	if !ok {
		return "", fmt.Errorf("%s: cannot derive a database name from the file name: rename the file to start with a letter", path)
	}
	switch strings.ToLower(name) {
	case "memory", "temp", "system", "main":
		name = "db_" + name
	}
	return name, nil
}

// load connects (which attaches the --duckdb file), loads the demo tables
// and the --data files, and lists the tables.
func (e *Engine) load(ctx context.Context, cfg Config, alias string) error {
	if cfg.Path != "" {
		if abs, err := filepath.Abs(cfg.Path); err == nil {
			e.paths = append(e.paths, abs)
		}
	}
	conn, err := e.pool.get(ctx)
	if err != nil {
		if cfg.Path != "" {
			return fmt.Errorf("%s: %s: give a DuckDB database file (not open in another process) to --duckdb", cfg.Path, e.safeMessage(err))
		}
		return fmt.Errorf("duckdb: connect: %s", e.safeMessage(err))
	}
	defer conn.Close()
	if !cfg.Uncompressed {
		if err := compressMemory(ctx, conn, e.pool.setup); err != nil {
			return fmt.Errorf("duckdb: making the in-memory database compressed: %s: retry with --duckdb-compress=false", e.safeMessage(err))
		}
	}

	origin := map[string]string{} // lower-case table name → where it came from
	if alias != "" {
		names, err := listTables(ctx, conn, alias)
		if err != nil {
			return fmt.Errorf("%s: listing tables: %w", cfg.Path, err)
		}
		for _, n := range names {
			origin[strings.ToLower(n)] = "a table of " + cfg.Path
		}
	}
	if cfg.Demo {
		for _, n := range []string{"monMem", "trade", "quote"} {
			if o, ok := origin[strings.ToLower(n)]; ok {
				return fmt.Errorf("%s: demo table %s clashes with %s: drop --demo or rename the table", cfg.Path, n, o)
			}
			origin[strings.ToLower(n)] = "the demo table " + n
		}
		start := time.Now()
		if err := loadDemo(ctx, conn, e.log, cfg.Seed, cfg.DemoTrades, cfg.Now); err != nil {
			return fmt.Errorf("duckdb: loading the demo data: %s: retry, or lower --demo-size or raise --duckdb-memory-limit", e.safeMessage(err))
		}
		e.log.Info("demo data loaded", "trades", cfg.DemoTrades, "quotes", cfg.DemoTrades*QuotesPerTrade,
			"monMem", MonMemRows, "seed", cfg.Seed, "elapsed", time.Since(start).Round(time.Millisecond))
	}
	if cfg.DataDir != "" {
		abs, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.DataDir, err)
		}
		e.paths = append(e.paths, abs)
		if err := e.loadDataDir(ctx, conn, cfg.DataDir, abs, origin); err != nil {
			return err
		}
	}
	if !cfg.Uncompressed && (cfg.Demo || cfg.DataDir != "") {
		start := time.Now()
		if err := conn.ExecContext(ctx, `CHECKPOINT memory`); err != nil {
			return fmt.Errorf("duckdb: compressing the loaded tables: %s: retry, or use --duckdb-compress=false", e.safeMessage(err))
		}
		e.log.Info("tables compressed", "elapsed", time.Since(start).Round(time.Millisecond))
	}
	if cfg.LoadMemoryLimit != "" {
		q := `RESET GLOBAL memory_limit` // DuckDB's default
		if cfg.MemoryLimit != "" {
			q = `SET GLOBAL memory_limit = '` + sqlString(cfg.MemoryLimit) + `'`
		}
		if err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("duckdb: memory limit %q: %s: check --duckdb-memory-limit", cfg.MemoryLimit, e.safeMessage(err))
		}
	}
	names, err := listTables(ctx, conn, "memory")
	if err != nil {
		return fmt.Errorf("duckdb: listing tables: %w", err)
	}
	if alias != "" {
		more, err := listTables(ctx, conn, alias)
		if err != nil {
			return fmt.Errorf("%s: listing tables: %w", cfg.Path, err)
		}
		names = append(names, more...)
	}
	sort.Strings(names)
	e.tables = names
	if cfg.ResultCacheBytes > 0 {
		views, err := listViews(ctx, conn)
		if err != nil {
			return fmt.Errorf("duckdb: listing views: %w", err)
		}
		e.cache = newResultCache(cfg.ResultCacheBytes, names, views, alias != "" && cfg.ReadWrite)
	}
	return nil
}

// compressMemory replaces the empty main in-memory database ("memory") by
// a compressed in-memory database of the same name, so that everything
// that names it (the search path, appends, the catalog queries) is
// unchanged. It must run on the first connection, before anything is
// created in "memory"; it then runs the connection's setup again (the
// search path named the database it replaced).
func compressMemory(ctx context.Context, conn *conn, setup []string) error {
	for _, q := range append([]string{
		`ATTACH ':memory:' AS qconnect_boot`,
		`USE qconnect_boot`,
		`DETACH memory`,
		`ATTACH ':memory:' AS memory (COMPRESS)`,
		`USE memory`,
		`DETACH qconnect_boot`,
	}, setup...) {
		if err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// listViews lists the views of every database (a query naming one is not
// cached: a view over files reads them anew each time).
func listViews(ctx context.Context, conn *conn) ([]string, error) {
	return conn.queryNames(ctx, `SELECT view_name FROM duckdb_views() WHERE NOT internal`)
}

// CacheStats returns the result cache's hits and misses (0, 0 without one).
func (e *Engine) CacheStats() (hits, misses int64) {
	if e.cache == nil {
		return 0, 0
	}
	return e.cache.stats()
}

// listTables lists the tables and views of the main schema of a database.
func listTables(ctx context.Context, conn *conn, database string) ([]string, error) {
	return conn.queryNames(ctx, `SELECT table_name FROM duckdb_tables() WHERE database_name = $db AND schema_name = 'main' AND NOT temporary
UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = $db AND schema_name = 'main' AND NOT temporary AND NOT internal`,
		named("db", database))
}

// sqlString escapes s for use inside a single-quoted SQL string literal.
// It is only used for server paths given by the operator, never for call
// parameters (those are bound).
func sqlString(s string) string { return strings.ReplaceAll(s, "'", "''") }

// Tables lists the tables and views method queries can name, sorted.
func (e *Engine) Tables() []string { return append([]string(nil), e.tables...) }

// Exec runs one SQL statement of the operator (a benchmark's COPY, a
// maintenance task) on a connection of the engine's pool, which has the
// same settings (UTC, search path) as those of Query, and discards its
// result, returning the number of rows it changed (inserted, updated,
// deleted or copied). It is never given call parameters. Errors are
// *qconnect.Error.
func (e *Engine) Exec(ctx context.Context, query string) (int64, error) {
	conn, err := e.pool.get(ctx)
	if err != nil {
		return 0, e.translate(ctx, nil, err)
	}
	defer conn.Close()
	n, err := conn.exec(ctx, query)
	if err != nil {
		return 0, e.translate(ctx, nil, err)
	}
	return n, nil
}

// Ping reports whether DuckDB answers a trivial query.
func (e *Engine) Ping(ctx context.Context) error {
	conn, err := e.pool.get(ctx)
	if err != nil {
		return e.translate(ctx, nil, err)
	}
	defer conn.Close()
	if _, _, err := conn.queryRows(ctx, `SELECT 1`); err != nil {
		return e.translate(ctx, nil, err)
	}
	return nil
}

// openDB opens an in-memory database with the given settings
// (duckdb_open_ext with a duckdb_config).
func openDB(settings [][2]string) (bindings.Database, error) {
	var cfg bindings.Config
	if bindings.CreateConfig(&cfg) == bindings.StateError {
		return bindings.Database{}, errors.New("cannot create a DuckDB configuration")
	}
	defer bindings.DestroyConfig(&cfg)
	for _, kv := range settings {
		if bindings.SetConfig(cfg, kv[0], kv[1]) == bindings.StateError {
			return bindings.Database{}, fmt.Errorf("DuckDB refused the setting %s = %q", kv[0], kv[1])
		}
	}
	var db bindings.Database
	var msg string
	if bindings.OpenExt(":memory:", &db, cfg, &msg) == bindings.StateError {
		bindings.Close(&db)
		return bindings.Database{}, errors.New(msg)
	}
	return db, nil
}

// Close closes the database: calls that have not got a connection yet fail
// with CodeUnavailable, open Rows keep theirs until they are closed (the
// database itself is closed when the last of them is). It is safe to call more than
// once.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.pool.close()
		if e.ownTemp != "" {
			_ = os.RemoveAll(e.ownTemp)
		}
	})
	return e.closeErr
}
