// Package server is the HTTP face of the gateway: every route of
// PROTOCOL.md section 0, the authentication pipeline of section 3.3 in its
// order, method calls streamed through the encoders of section 4.4, and the
// generated documentation.
//
// The server composes the protocol machinery (auth: users, sessions, replay
// cache, throttling; encode: result formats) and reaches analytics only
// through qconnect.Backend, so engines never import it and it imports no
// engine. cmd/qconnect builds the concrete values and hands them in as Deps.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
)

// DocsMode says who may read /connect/index.html and /connect/openapi.json.
type DocsMode string

// The documentation modes.
const (
	DocsPublic DocsMode = "public" // anyone (the default)
	DocsLogin  DocsMode = "login"  // HTTP Basic with a user's password (throttled like login)
	DocsOff    DocsMode = "off"    // not served (404)
)

// MinMemoryPerCall is the smallest default share of a memory budget: a
// call's sort or aggregate needs a few of DuckDB's blocks per thread to
// spill at all, and shares of a small budget cut finer than this made
// concurrent whole-day calls fail for memory (BENCHMARKS.md, issue 11).
const MinMemoryPerCall = 32 << 20

// Config holds the server's limits. The zero value of every field means the
// documented default.
type Config struct {
	MaxBodyBytes   int64         // request body limit; default 1 MiB (PROTOCOL 3.3)
	ClockSkew      time.Duration // allowed |date - server clock|; default 300 s
	DefaultTimeout time.Duration // per call when the method sets none; default 30 s
	DefaultRowCap  int64         // rows per result when the method sets none; default 1,000,000

	MaxConcurrent        int           // calls running at once on this gateway; default 64
	MaxConcurrentPerUser int           // calls running at once per user; default 8
	RatePerUser          float64       // signed requests per second per user (token bucket); default 200
	RateBurst            int           // bucket size; default 400
	BusyRetryAfter       time.Duration // Retry-After sent with busy; default 1 s

	// Memory budget (see admission): when MemoryBudget is positive, a call
	// runs only while it holds a share of MemoryPerCall bytes of it, and
	// waits for one in a FIFO queue otherwise.
	MemoryBudget       int64         // bytes; 0 = no admission by memory
	MemoryPerCall      int64         // default MemoryBudget/8, at least MinMemoryPerCall (at most the budget)
	MemoryQueue        int           // calls waiting at most; beyond, busy; default 1024
	MemoryQueueTimeout time.Duration // longest wait, then busy; default 60 s

	LoginMaxFailures int           // failed logins per username or address per window; default 5
	LoginWindow      time.Duration // default 5 min
	ReplayMaxIDs     int           // ids held per session (2·skew plus one bucket); default auth.DefaultReplayMaxPerSession (1,500,000)
	LoginConcurrency int           // password hashes computed at once; default max(1, NumCPU/2)
	LoginQueueWait   time.Duration // how long a login waits for a hashing slot before busy; default 1 s

	Docs DocsMode // default DocsPublic

	// CORSOrigins are the exact origins (scheme://host[:port]) whose pages
	// may call the API and open the WebSocket (cors.go); none by default.
	// Build it with ParseCORSOrigins.
	CORSOrigins []string

	// WebSocket limits (PROTOCOL 7); see ws.go.
	WSFirstFrameTimeout time.Duration // LoginReq or AuthReq must arrive within this; default 10 s
	WSPingInterval      time.Duration // the server pings every socket this often; default 30 s
	WSPongTimeout       time.Duration // a socket that has not answered a ping (or taken a frame) within this is closed; default 60 s
	WSMaxFrameBytes     int64         // largest inbound frame, and the size ExecuteResp and SnapshotMsg frames are cut to; default 1 MiB
	WSQueueBytes        int64         // outbound queue per socket; beyond it slowConsumer and close 4008; default 8 MiB (at least 2 frames)
	WSMaxSubscriptions  int           // subscriptions per socket; default 100
	WSMaxPerSession     int           // authenticated sockets per session; beyond, busy and close 4429; default 16
	WSMaxPerUser        int           // authenticated sockets per user (all sessions); beyond, busy and close 4429; default 64

	// Publishing (pipe.go, PROTOCOL appendix 35).
	PublishAck       string // what a publish's "ok" waits for: PublishAckAccepted (default) or PublishAckStored
	PublishQueueRows int    // rows accepted but not yet stored per table; past it publishers wait; default DefaultPublishQueueRows

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
}

func (c *Config) setDefaults() {
	orDefault(&c.MaxBodyBytes, 1<<20)
	orDefault(&c.ClockSkew, 300*time.Second)
	orDefault(&c.DefaultTimeout, 30*time.Second)
	orDefault(&c.DefaultRowCap, 1_000_000)
	orDefault(&c.MaxConcurrent, 64)
	orDefault(&c.MaxConcurrentPerUser, 8)
	orDefault(&c.RatePerUser, 200)
	orDefault(&c.RateBurst, 400)
	orDefault(&c.BusyRetryAfter, time.Second)
	if c.MemoryBudget > 0 {
		orDefault(&c.MemoryPerCall, max(c.MemoryBudget/8, min(MinMemoryPerCall, c.MemoryBudget)))
		orDefault(&c.MemoryQueue, 1024)
		orDefault(&c.MemoryQueueTimeout, 60*time.Second)
	}
	orDefault(&c.LoginMaxFailures, 5)
	orDefault(&c.LoginWindow, 5*time.Minute)
	orDefault(&c.ReplayMaxIDs, auth.DefaultReplayMaxPerSession)
	orDefault(&c.LoginConcurrency, max(1, runtime.NumCPU()/2))
	orDefault(&c.LoginQueueWait, time.Second)
	c.setWSDefaults()
	orDefault(&c.PublishQueueRows, DefaultPublishQueueRows)
	if c.PublishAck == "" {
		c.PublishAck = PublishAckAccepted
	}
	if c.Docs == "" {
		c.Docs = DocsPublic
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// orDefault sets *p to v when *p is zero or negative: the documented
// meaning of a zero Config field.
func orDefault[T int | int64 | float64 | time.Duration](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

// Deps are the collaborators the server needs.
type Deps struct {
	Catalog *qconnect.Catalog
	// Backends by name (Method.Backend; "" means qconnect.DefaultBackend).
	Backends map[string]qconnect.Backend
	Users    *auth.UserDB
	Sessions *auth.Sessions
	// Throttle counts login attempts (PROTOCOL 2); nil means an in-process
	// auth.MemThrottle with LoginMaxFailures per LoginWindow. With --redis,
	// cmd/qconnect gives redisstate's, shared by every gateway.
	Throttle auth.Throttle
	// Docs serves /connect/index.html, /connect/openapi.json, /connect/protocol.md
	// and /connect/assets/ (apidoc.Docs.Handler); nil = not served.
	Docs http.Handler
	// Shared is the state shared with other gateways (shared.go); zero =
	// this gateway's own memory.
	Shared Shared
	// Observers see every finished request (metrics, audit; observe.go).
	Observers []Observer
}

// Server is the gateway's HTTP handler. Create it with New.
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	replay   ReplayGuard
	admit    *admission // nil without a memory budget
	callEnds callEnds   // REST calls running, for retries after busy (retry.go)
	throttle auth.Throttle
	hashes   *hashGate // bounds the password hashes running at once
	limits   *limiter
	counters counters // observe.go
	ws       *wsState // sockets, the stream hub (ws.go)
	pub      pubState // the publishing pipelines (pipe.go)
	drain    drain    // calls in flight, for EndCalls (call.go)
	mux      *http.ServeMux
	date     atomic.Pointer[dateNow] // respond.go
	keys     keyCache                // pipeline.go
}

// New builds a server. It does not listen; use it as an http.Handler.
func New(cfg Config, deps Deps) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:      cfg,
		deps:     deps,
		log:      cfg.Logger,
		replay:   auth.NewReplayCache(2*cfg.ClockSkew, cfg.ReplayMaxIDs),
		throttle: deps.Throttle,
		hashes:   newHashGate(cfg.LoginConcurrency, cfg.LoginQueueWait),
		limits:   newLimiter(cfg.MaxConcurrent, cfg.MaxConcurrentPerUser, cfg.RatePerUser, cfg.RateBurst),
	}
	if s.throttle == nil {
		s.throttle = auth.NewThrottle(cfg.LoginMaxFailures, cfg.LoginWindow, 100_000)
	}
	if deps.Shared.Replay != nil {
		s.replay = deps.Shared.Replay
	}
	s.limits.shared = deps.Shared.Rate
	if cfg.MemoryBudget > 0 {
		s.admit = newAdmission(int(max(cfg.MemoryBudget/cfg.MemoryPerCall, 1)), cfg.MemoryQueue, cfg.MemoryQueueTimeout, cfg.BusyRetryAfter)
	}
	s.ws = newWSState(cfg)
	s.mux = s.routes()
	if deps.Sessions != nil {
		deps.Sessions.OnEnd(s.replay.Forget)
		deps.Sessions.OnEnd(s.keys.forget)
		deps.Sessions.OnEnd(s.ws.sessionEnded)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.logRequests(s.cors(s.mux)).ServeHTTP(w, r)
}

// Maintain runs periodic housekeeping (expired sessions, old replay ids,
// idle rate buckets) until ctx ends.
func (s *Server) Maintain(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.deps.Sessions != nil {
				s.deps.Sessions.Sweep(ctx)
			}
			s.replay.Sweep(s.cfg.Now())
			if sw, ok := s.throttle.(interface{ Sweep(time.Time) }); ok {
				sw.Sweep(s.cfg.Now())
			}
			s.limits.sweep(s.cfg.Now())
		}
	}
}

// Config returns the configuration in force, defaults filled in.
func (s *Server) Config() Config { return s.cfg }
