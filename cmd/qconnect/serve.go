package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/examples"
	"github.com/qconnect/qconnect/internal/apidoc"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/catalog"
	"github.com/qconnect/qconnect/internal/engine/duckdb"
	"github.com/qconnect/qconnect/internal/logbuf"
	"github.com/qconnect/qconnect/internal/metrics"
	"github.com/qconnect/qconnect/internal/server"
)

// Environment variables of `qconnect serve`, one per setting.
const (
	envListen      = "QCONNECT_LISTEN"
	envConfig      = "QCONNECT_CONFIG"
	envCatalog     = "QCONNECT_CATALOG"
	envUsers       = "QCONNECT_USERS"
	envData        = "QCONNECT_DATA"
	envDuckDB      = "QCONNECT_DUCKDB"
	envDemo        = "QCONNECT_DEMO"
	envDemoSize    = "QCONNECT_DEMO_SIZE"
	envDemoSeed    = "QCONNECT_DEMO_SEED"
	envInsecure    = "QCONNECT_INSECURE_DEMO"
	envDocs        = "QCONNECT_DOCS"
	envLogFormat   = "QCONNECT_LOG_FORMAT"
	envLogLevel    = "QCONNECT_LOG_LEVEL"
	envLogDelay    = "QCONNECT_LOG_DELAY"
	envMaxBody     = "QCONNECT_MAX_BODY"
	envSkew        = "QCONNECT_CLOCK_SKEW"
	envTimeout     = "QCONNECT_TIMEOUT"
	envRowCap      = "QCONNECT_ROW_CAP"
	envConc        = "QCONNECT_MAX_CONCURRENT"
	envConcUser    = "QCONNECT_MAX_CONCURRENT_PER_USER"
	envRate        = "QCONNECT_RATE_PER_USER"
	envBurst       = "QCONNECT_RATE_BURST"
	envIdle        = "QCONNECT_IDLE_TIMEOUT"
	envLifetime    = "QCONNECT_SESSION_LIFETIME"
	envMaxSessions = "QCONNECT_MAX_SESSIONS_PER_USER"
	envLoginFails  = "QCONNECT_LOGIN_MAX_FAILURES"
	envReplayMax   = "QCONNECT_REPLAY_MAX_IDS"
	envResultCache = "QCONNECT_RESULT_CACHE_MB"
	envMemBudget   = "QCONNECT_MEMORY_BUDGET"
	envMemPerCall  = "QCONNECT_MEMORY_PER_CALL"
	envMemQueue    = "QCONNECT_MEMORY_QUEUE"
	envMemQueueTO  = "QCONNECT_MEMORY_QUEUE_TIMEOUT"
	envLoginWindow = "QCONNECT_LOGIN_WINDOW"
	envDrain       = "QCONNECT_SHUTDOWN_TIMEOUT"
	envThreads     = "QCONNECT_DUCKDB_THREADS"
	envMemLimit    = "QCONNECT_DUCKDB_MEMORY_LIMIT"
	envTempDir     = "QCONNECT_DUCKDB_TEMP_DIR"
)

// serveOptions are the settings of `qconnect serve`.
type serveOptions struct {
	listen, config, catalog, users, data, duckdbPath string
	demo                                             string // auto | true | false
	demoSize                                         int
	demoSeed                                         int64
	insecureDemo                                     bool
	docs, logFormat, logLevel                        string
	maxBody, rowCap                                  int64
	skew, timeout, idle, lifetime, loginWindow       time.Duration
	drain                                            time.Duration
	logDelay                                         time.Duration
	maxConc, maxConcUser, maxSessions, loginFails    int
	replayMax, resultCacheMB, memQueue               int
	memBudget, memPerCall, pprofAddr                 string
	memQueueTimeout                                  time.Duration
	rate                                             float64
	burst                                            int
	threads                                          int
	memLimit, tempDir                                string
	ws                                               wsOptions        // WebSocket and demo feed settings (serve_ws.go)
	login                                            loginOptions     // password hashing bound (serve_login.go)
	redis                                            redisOptions     // shared state (serve_redis.go)
	observe                                          observeOptions   // metrics (serve_observe.go)
	tls                                              tlsOptions       // HTTPS (serve_tls.go)
	retention                                        retentionOptions // serve_retention.go
	proxy                                            proxyOptions     // serve_proxy.go
	engine                                           engineOptions    // serve_engine.go
}

func (o *serveOptions) flags(fs *flag.FlagSet) *settings {
	s := newSettings(fs)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", s.add("listen", envListen, "address to listen on"))
	fs.StringVar(&o.config, "config", "", s.add("config", "", "YAML file of settings (keys are these flag names)")+" (env "+envConfig+")")
	fs.StringVar(&o.catalog, "catalog", "", s.add("catalog", envCatalog, "catalog file declaring the methods (default: the embedded demo catalog)"))
	fs.StringVar(&o.users, "users", "", s.add("users", envUsers, "users file (default in demo mode: the demo user kxSupport/12345678)"))
	fs.StringVar(&o.data, "data", "", s.add("data", envData, "directory whose *.csv and *.parquet files become tables"))
	fs.StringVar(&o.duckdbPath, "duckdb", "", s.add("duckdb", envDuckDB, "existing DuckDB database file to serve (opened read-only)"))
	fs.StringVar(&o.demo, "demo", "auto", s.add("demo", envDemo, "demo mode: auto (on unless --catalog, --users, --data or --duckdb is given), true or false"))
	fs.IntVar(&o.demoSize, "demo-size", 1_000_000, s.add("demo-size", envDemoSize, "number of demo trades (quotes are 3×)"))
	fs.Int64Var(&o.demoSeed, "demo-seed", 1, s.add("demo-seed", envDemoSeed, "seed of the deterministic demo data"))
	fs.BoolVar(&o.insecureDemo, "insecure-demo", false, s.add("insecure-demo", envInsecure, "allow demo mode (with its well-known password) on a non-loopback address"))
	fs.StringVar(&o.docs, "docs", "public", s.add("docs", envDocs, "who may read /connect/index.html and openapi.json: public, login or off"))
	fs.StringVar(&o.logFormat, "log-format", "text", s.add("log-format", envLogFormat, "log format: text or json"))
	fs.StringVar(&o.logLevel, "log-level", "info", s.add("log-level", envLogLevel, "log level: debug, info, warn or error"))
	fs.DurationVar(&o.logDelay, "log-delay", logbuf.DefaultDelay, s.add("log-delay", envLogDelay, "longest a log line waits to be written together with others (0: every line at once, one write each)"))
	fs.Int64Var(&o.maxBody, "max-body", 1<<20, s.add("max-body", envMaxBody, "request body limit in bytes"))
	fs.DurationVar(&o.skew, "clock-skew", 300*time.Second, s.add("clock-skew", envSkew, "allowed difference between a request's date and the server clock"))
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, s.add("timeout", envTimeout, "default per-call timeout (a method may set its own)"))
	fs.Int64Var(&o.rowCap, "row-cap", 1_000_000, s.add("row-cap", envRowCap, "default rows per result before it is cut with truncated:true"))
	fs.IntVar(&o.maxConc, "max-concurrent", 64, s.add("max-concurrent", envConc, "calls running at once on this gateway (more get busy/503)"))
	fs.IntVar(&o.maxConcUser, "max-concurrent-per-user", 8, s.add("max-concurrent-per-user", envConcUser, "calls running at once per user"))
	fs.Float64Var(&o.rate, "rate-per-user", 200, s.add("rate-per-user", envRate, "signed requests per second per user (more get rateLimited/429)"))
	fs.IntVar(&o.burst, "rate-burst", 400, s.add("rate-burst", envBurst, "requests a user may send in a burst above the rate"))
	fs.DurationVar(&o.idle, "idle-timeout", 30*time.Minute, s.add("idle-timeout", envIdle, "a session ends after this long without a signed request"))
	fs.DurationVar(&o.lifetime, "session-lifetime", 12*time.Hour, s.add("session-lifetime", envLifetime, "a session ends this long after login"))
	fs.IntVar(&o.maxSessions, "max-sessions-per-user", 16, s.add("max-sessions-per-user", envMaxSessions, "sessions a user may hold; a login beyond ends the oldest"))
	fs.StringVar(&o.pprofAddr, "pprof-listen", "", s.add("pprof-listen", "QCONNECT_PPROF_LISTEN", "loopback address serving Go's profiler at /debug/pprof/ (default: off)"))
	fs.StringVar(&o.memBudget, "memory-budget", "", s.add("memory-budget", envMemBudget, `the gateway's memory budget, e.g. "1GB": DuckDB's memory limit, and calls run only while they hold a share of it (--memory-per-call), waiting in a queue otherwise (default: none)`))
	fs.StringVar(&o.memPerCall, "memory-per-call", "", s.add("memory-per-call", envMemPerCall, "a call's share of --memory-budget (default: an eighth of it, at least 32MiB)"))
	fs.IntVar(&o.memQueue, "memory-queue", 1024, s.add("memory-queue", envMemQueue, "calls that may wait for a share of --memory-budget; more get busy"))
	fs.DurationVar(&o.memQueueTimeout, "memory-queue-timeout", 60*time.Second, s.add("memory-queue-timeout", envMemQueueTO, "longest wait for a share of --memory-budget before busy"))
	fs.IntVar(&o.resultCacheMB, "result-cache-mb", 64, s.add("result-cache-mb", envResultCache, "MB of small DuckDB results kept to answer repeated calls until their tables are published to; 0 turns it off"))
	fs.IntVar(&o.replayMax, "replay-max-ids", auth.DefaultReplayMaxPerSession, s.add("replay-max-ids", envReplayMax, "request ids remembered per session (2×clock-skew plus 5%); beyond it rateLimited; about 26 bytes per UUID id"))
	fs.IntVar(&o.loginFails, "login-max-failures", 5, s.add("login-max-failures", envLoginFails, "failed logins per username or address per window before tooManyAttempts"))
	fs.DurationVar(&o.loginWindow, "login-window", 5*time.Minute, s.add("login-window", envLoginWindow, "the login throttling window"))
	fs.DurationVar(&o.drain, "shutdown-timeout", 30*time.Second, s.add("shutdown-timeout", envDrain, "how long SIGINT/SIGTERM waits for in-flight calls"))
	fs.IntVar(&o.threads, "duckdb-threads", 0, s.add("duckdb-threads", envThreads, "DuckDB worker threads (0 = DuckDB's default)"))
	fs.StringVar(&o.memLimit, "duckdb-memory-limit", "", s.add("duckdb-memory-limit", envMemLimit, `DuckDB memory limit, e.g. "2GB" (default DuckDB's, 80% of RAM; in demo mode --demo-memory-limit); beyond it sorts and tables spill to disk`))
	fs.StringVar(&o.tempDir, "duckdb-temp-dir", "", s.add("duckdb-temp-dir", envTempDir, "where DuckDB spills (default: a fresh directory under the system temp directory, removed at exit)"))
	o.ws.flags(fs, s)
	o.engine.flags(fs, s)
	o.login.flags(fs, s)
	o.redis.flags(fs, s)
	o.observe.flags(fs, s)
	o.tls.flags(fs, s)
	o.retention.flags(fs, s)
	o.proxy.flags(fs, s)
	return s
}

func runServe(ctx context.Context, e *env, args []string) error {
	var o serveOptions
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	st := o.flags(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		writeServeHelp(e.stdout, fs, st)
		return nil
	}
	if err != nil {
		return usageErrorf("%v; run 'qconnect serve --help' for the settings", err)
	}
	if len(pos) > 0 {
		return usageErrorf("serve takes no arguments, got %q; see qconnect serve -h", pos)
	}
	if o.config == "" {
		o.config = e.getenv(envConfig)
	}
	if err := st.resolve(e.getenv, o.config); err != nil {
		return err
	}
	return o.run(ctx, e)
}

func (o *serveOptions) demoMode() (bool, error) {
	switch o.demo {
	case "auto":
		return o.catalog == "" && o.users == "" && o.data == "" && o.duckdbPath == "", nil
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, usageErrorf("--demo must be auto, true or false, not %q", o.demo)
}

func (o *serveOptions) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, usageErrorf("--log-level must be debug, info, warn or error, not %q", o.logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, usageErrorf("--log-format must be text or json, not %q", o.logFormat)
}

func (o *serveOptions) run(ctx context.Context, e *env) error {
	demo, err := o.demoMode()
	if err != nil {
		return err
	}
	if err := o.ws.validate(); err != nil {
		return err
	}
	if err := o.login.validate(); err != nil {
		return err
	}
	docsMode := server.DocsMode(o.docs)
	if docsMode != server.DocsPublic && docsMode != server.DocsLogin && docsMode != server.DocsOff {
		return usageErrorf("--docs must be public, login or off, not %q", o.docs)
	}
	logOut, _ := e.stderr.(*os.File)
	if logOut == nil {
		logOut = os.Stderr
	}
	// The log (a line per request) is written by one goroutine that
	// gathers the lines of up to --log-delay (logbuf): one system call for
	// many requests under load. Everything pending is written on return.
	if o.logDelay < 0 || o.logDelay > time.Second {
		return usageErrorf("--log-delay must be between 0 and 1s, not %s", o.logDelay)
	}
	delay := o.logDelay
	if delay == 0 {
		delay = -1 // logbuf: at once
	}
	logBuf := logbuf.New(logOut, 0, delay)
	defer logBuf.Close()
	log, err := o.logger(logBuf)
	if err != nil {
		return err
	}
	if demo && o.users == "" && !o.insecureDemo && !isLoopback(o.listen) {
		return usageErrorf("demo mode has a well-known password and only listens on loopback; use --listen 127.0.0.1:PORT, give a --users file, or pass --insecure-demo if you really mean to expose it")
	}

	// Bind first: a taken port is reported at once, not after the data has
	// loaded. Connections wait in the backlog until the gateway serves.
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v (is another gateway running? choose another address with --listen)", o.listen, err)
	}
	defer ln.Close()

	// Catalog.
	def := catalog.Defaults{Backend: duckdb.Backend, Timeout: o.timeout, RowCap: o.rowCap}
	var cat *qconnect.Catalog
	switch {
	case o.catalog != "":
		cat, err = catalog.Load(o.catalog, def)
	case demo:
		cat, err = catalog.Parse(examples.DemoCatalog(), "examples/catalog.yaml (embedded)", def)
	default:
		return usageErrorf("no catalog: give --catalog FILE declaring your methods (see examples/mydata/catalog.yaml), or run in demo mode")
	}
	if err != nil {
		return fmt.Errorf("the catalog is invalid, the gateway did not start:\n%v", err)
	}

	// Users.
	var users *auth.UserDB
	switch {
	case o.users != "":
		users, err = auth.NewUserDB(o.users)
	case demo:
		var dir *auth.Directory
		dir, err = auth.ParseUsers(examples.DemoUsers(), "examples/users.yaml (embedded)")
		users = auth.NewStaticUserDB(dir)
	default:
		return usageErrorf("no users file: create one with `qconnect users add --users users.yaml <name>` and pass --users users.yaml")
	}
	if err != nil {
		return fmt.Errorf("the users file is invalid, the gateway did not start:\n%v", err)
	}

	memory, err := o.memory(demo)
	if err != nil {
		return err
	}

	// Engine.
	fmt.Fprintf(e.stdout, "qconnect: loading %s (this can take a while; the gateway listens once it is ready)\n", o.dataDescription(demo))
	started := time.Now()
	eng, err := duckdb.Open(ctx, duckdb.Config{
		Path: o.duckdbPath, DataDir: o.data, Demo: demo, Seed: o.demoSeed, DemoTrades: o.demoSize,
		Threads: o.threads, MemoryLimit: memory.limit, LoadMemoryLimit: memory.loadLimit, Uncompressed: !o.engine.compress, ResultCacheBytes: int64(o.resultCacheMB) << 20, TempDir: o.tempDir, MaxConns: o.maxConc, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("the data could not be loaded, the gateway did not start:\n%v", err)
	}
	defer eng.Close()
	if err := eng.CheckCatalog(cat); err != nil {
		return fmt.Errorf("the catalog does not match the data, the gateway did not start:\n%v", err)
	}
	log.Info("data ready", "tables", strings.Join(eng.Tables(), ","), "ms", time.Since(started).Milliseconds())
	backends, closeBackends, err := openBackends(o.config, os.Getenv, cat, log) // backends.go: the config's backends: list (kdb+)
	if err != nil {
		return fmt.Errorf("the backends could not be set up, the gateway did not start:\n%v", err)
	}
	defer closeBackends()
	backends[duckdb.Backend] = eng
	src := o.ws.demoSource(demo, eng, log) // nil unless the demo feed is on
	if src != nil {
		backends[duckdb.Backend] = src
	}

	sessCfg := auth.SessionConfig{IdleTimeout: o.idle, MaxLifetime: o.lifetime, MaxPerUser: o.maxSessions}
	shared, err := o.redis.open(ctx, sessCfg, o.skew, o.loginFails, o.loginWindow, o.rate, o.burst, log)
	if err != nil {
		return err
	}
	mem := auth.NewMemoryStore()
	var store auth.Store = mem
	var sharedDeps server.Shared
	var throttle auth.Throttle // nil: the server's in-memory throttle
	msrc := metrics.Sources{Catalog: cat, Pool: eng.PoolStats,
		Sessions: func(context.Context) (int64, error) { return int64(mem.Len()), nil }}
	if shared != nil {
		defer shared.client.Close()
		store, sharedDeps, throttle = shared.store, shared.shared, shared.throttle
		msrc.Sessions, msrc.RedisErrors = shared.store.Count, shared.client.Errors
	}
	aud, err := o.observe.openAudit(cat, log)
	if err != nil {
		return err
	}
	observers := []server.Observer{}
	if aud != nil {
		defer aud.Close()
		msrc.AuditDropped = aud.Dropped
	}
	met := metrics.New(msrc)
	observers = append(observers, met)
	if aud != nil {
		observers = append(observers, aud)
	}
	sessions := auth.NewSessions(store, sessCfg)
	// The docs are built after the bind, so that their command lines show the
	// address actually bound (--listen with port 0 included).
	doc, err := apidoc.New(cat, docsOptions(ln.Addr().String(), demo && o.users == ""))
	if err != nil {
		return fmt.Errorf("building the API documentation: %v", err)
	}
	cfg := server.Config{
		MaxBodyBytes: o.maxBody, ClockSkew: o.skew, DefaultTimeout: o.timeout, DefaultRowCap: o.rowCap,
		MaxConcurrent: o.maxConc, MaxConcurrentPerUser: o.maxConcUser, RatePerUser: o.rate, RateBurst: o.burst,
		MemoryBudget: memory.budget, MemoryPerCall: memory.perCall, MemoryQueue: o.memQueue, MemoryQueueTimeout: o.memQueueTimeout,
		ReplayMaxIDs: o.replayMax, LoginMaxFailures: o.loginFails, LoginWindow: o.loginWindow, Docs: docsMode, Logger: log,
	}
	o.ws.apply(&cfg)
	o.login.apply(&cfg)
	srv := server.New(cfg, server.Deps{
		Catalog: cat, Backends: backends,
		Users: users, Sessions: sessions, Docs: doc.Handler(), Shared: sharedDeps,
		Observers: observers, Throttle: throttle,
	})
	met.AddServer(srv)

	if o.pprofAddr != "" {
		if !isLoopback(o.pprofAddr) {
			return usageErrorf("--pprof-listen %s: the profiler is served on loopback addresses only (e.g. 127.0.0.1:6060)", o.pprofAddr)
		}
		pln, err := net.Listen("tcp", o.pprofAddr)
		if err != nil {
			return fmt.Errorf("cannot listen on %s for --pprof-listen: %v", o.pprofAddr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ps := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ps.Serve(pln) }()
		defer ps.Close()
		log.Info("profiler listening", "addr", "http://"+pln.Addr().String()+"/debug/pprof/")
	}
	tlsCfg, certs, err := o.tls.config()
	if err != nil {
		return err
	}
	handler, err := o.proxy.handler(o.observe.handler(srv, met))
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      o.timeout + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsCfg,
	}
	hs.RegisterOnShutdown(srv.CloseWebSockets) // upgraded connections are not drained by Shutdown
	// SIGHUP is caught before the banner says the gateway is up: a reload
	// sent right after it must not find the default action (exit).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	base := "http://" + ln.Addr().String()
	if tlsCfg != nil {
		base = "https://" + ln.Addr().String()
	}
	logBuf.Flush() // what was logged while starting is on stderr before the banner
	fmt.Fprintf(e.stdout, "qconnect gateway listening on %s\n", base)
	fmt.Fprintf(e.stdout, "  API docs:  %s/connect/index.html\n", base)
	switch {
	case demo && o.users == "":
		fmt.Fprintf(e.stdout, "  demo mode: log in as kxSupport / 12345678 (try: qconnect call %s)\n", ln.Addr().String())
	case demo:
		fmt.Fprintf(e.stdout, "  demo mode: demo data; log in as a user of %s\n", o.users)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Housekeeping every 5 s: an idle-expired session's WebSockets close
	// within 5 s of its expiry.
	go srv.Maintain(ctx, 5*time.Second)
	if err := o.observe.serveMetrics(ctx, met, log); err != nil {
		return err
	}
	if o.retention.every > 0 {
		go srv.Retain(ctx, o.retention.every)
	}
	if shared != nil {
		if err := shared.run(ctx, sessions, srv, log); err != nil {
			return err
		}
	}
	o.ws.startFeed(ctx, src, eng, cat, srv, shared.demoLease(o.ws.demoFeedLease, log), log)
	// SIGHUP reloads, in this order: the users file, the TLS certificate,
	// the audit log (reopened, for logrotate).
	reloads := []func(){func() { reloadUsers(ctx, srv, users, o.users, log) }}
	if certs != nil {
		reloads = append(reloads, func() { certs.reloadLogged(log) })
	}
	if aud != nil {
		reloads = append(reloads, func() { reopenAudit(aud, log) })
	}
	go onHUP(ctx, hup, reloads...)

	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- hs.ServeTLS(ln, "", "") // HTTP/2 is set up for the TLS listener
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("the HTTP server stopped: %v", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight calls", "timeout", o.drain)
	sctx, scancel := context.WithTimeout(context.Background(), o.drain)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Calls still running end in band (unavailable, "gateway shutting
		// down") and get their log line; then their connections close.
		log.Warn("shutdown did not drain in time; ending the calls in flight", "error", err)
		srv.EndCalls()
		gctx, gcancel := context.WithTimeout(context.Background(), endCallsGrace)
		if err := hs.Shutdown(gctx); err != nil {
			_ = hs.Close()
		}
		gcancel()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := srv.FlushPublishes(sctx); err != nil { // accepted publishes are written before the engine closes
		log.Warn("shutdown: some accepted publishes were not written in time", "error", err)
	}
	log.Info("stopped")
	return nil
}

// dataDescription says what serve is about to load, for the line printed
// before the engine opens.
func (o *serveOptions) dataDescription(demo bool) string {
	var parts []string
	if demo {
		parts = append(parts, fmt.Sprintf("the demo data (%s trades, %s quotes, 48 hours of memory samples)",
			groupThousands(int64(o.demoSize)), groupThousands(3*int64(o.demoSize))))
	}
	if o.data != "" {
		parts = append(parts, "the files of "+o.data)
	}
	if o.duckdbPath != "" {
		parts = append(parts, "the database "+o.duckdbPath)
	}
	if len(parts) == 0 {
		return "the engine"
	}
	return strings.Join(parts, " and ")
}

// endCallsGrace is how long the calls ended at shutdown have to write their
// ending (final chunk, trailers) before their connections are closed.
const endCallsGrace = 5 * time.Second

// onHUP runs every reload, in order, at each SIGHUP until ctx ends.
func onHUP(ctx context.Context, hup <-chan os.Signal, reloads ...func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			for _, r := range reloads {
				r()
			}
		}
	}
}

// reloadUsers reloads the users file (SIGHUP). A bad file is logged with
// its line and the old one stays in force. Sessions are kept, except those
// of users whose password changed or who were removed: they end, and their
// WebSockets close with 4401.
func reloadUsers(ctx context.Context, srv *server.Server, users *auth.UserDB, path string, log *slog.Logger) {
	if path == "" {
		log.Warn("SIGHUP: no users file to reload (demo mode)")
		return
	}
	ended, err := srv.ReloadUsers(ctx)
	if err != nil && ended == nil {
		log.Error("SIGHUP: the users file was not reloaded; the previous one stays in force", "file", filepath.Base(path), "error", err)
		return
	}
	if err != nil {
		log.Error("SIGHUP: users file reloaded, but not every session of a changed user could be ended", "error", err)
	}
	log.Info("SIGHUP: users file reloaded", "file", path, "users", len(users.Current().Users()),
		"sessionsEndedFor", strings.Join(ended, ","))
}

// isLoopback reports whether a listen address binds only loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseBytes parses a size: a number of bytes, or a number with a unit
// KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024),
// case-insensitive. "" is 0.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1}}
	lower, mult := strings.ToLower(t), 1.0
	for _, u := range units {
		if strings.HasSuffix(lower, u.suffix) {
			lower, mult = strings.TrimSpace(strings.TrimSuffix(lower, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(lower, 64)
	if err != nil || n < 0 || n*mult > 1<<62 {
		return 0, fmt.Errorf("%q is not a size: give bytes or a number with KB, MB, GB, KiB, MiB or GiB, e.g. 1GB", s)
	}
	return int64(n * mult), nil
}
