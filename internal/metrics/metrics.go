// Package metrics serves the gateway's Prometheus metrics (GET /metrics)
// from its own registry: requests by method and code with latency
// histograms, rows and bytes returned, logins by outcome, live sessions,
// WebSockets, subscriptions and queued bytes, slow-consumer cut-offs,
// publishes, busy answers and calls in flight, the backend pool, Redis
// errors and audit records dropped. It observes requests through
// server.Observer and reads gauges from the server when scraped.
package metrics

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/server"
)

// Sources are where the gauges come from; nil fields are left out.
type Sources struct {
	Server  *server.Server
	Catalog *qconnect.Catalog // bounds the method label: names outside it are "other"
	// Sessions counts live sessions (the session store's size).
	Sessions func(ctx context.Context) (int64, error)
	// Pool reports the backend's connection pool.
	Pool func() qconnect.PoolStats
	// RedisErrors counts failed Redis operations.
	RedisErrors func() int64
	// AuditDropped counts audit records dropped because the buffer was full.
	AuditDropped func() int64
}

// Metrics is the registry and the request instruments. Safe for concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	src     Sources
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	rows    *prometheus.CounterVec
	bytes   *prometheus.CounterVec
	logins  *prometheus.CounterVec

	// inst caches the instruments of each (method, code): label lookups
	// hash the label values on every request otherwise. Its size is bounded
	// by the label bounds (label: catalog methods and fixed routes; codes:
	// the protocol's).
	mu   sync.RWMutex
	inst map[instKey]*instruments
}

type instKey struct{ method, code string }

// instruments are the request instruments of one (method, code).
type instruments struct {
	reqs        prometheus.Counter
	latency     prometheus.Observer
	rows, bytes prometheus.Counter
}

// New registers every metric on a new registry.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), src: src, inst: map[instKey]*instruments{}}
	m.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qconnect_requests_total",
		Help: "API requests (REST, and WebSocket logins, logouts, calls, publishes, subscribes, unsubscribes and pings) by method (group/method, auth/..., meta/...; other for names outside the catalog) and wire code (ok on success)."}, []string{"method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "qconnect_request_duration_seconds",
		Help:    "Time from the request's arrival to the end of its response, by method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"method"})
	m.rows = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qconnect_result_rows_total",
		Help: "Rows returned by calls (rows stored, for publishes), by method."}, []string{"method"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qconnect_response_bytes_total",
		Help: "Response bytes written (REST bodies, WebSocket answer frames), by method."}, []string{"method"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qconnect_logins_total",
		Help: "Logins (REST LoginReq, WebSocket LoginReq and AuthReq) by outcome: ok or the wire code (invalidCredentials, tooManyAttempts, unavailable, ...)."}, []string{"outcome"})
	m.reg.MustRegister(m.reqs, m.latency, m.rows, m.bytes, m.logins,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if src.Server != nil {
		m.AddServer(src.Server)
	}
	if f := src.Sessions; f != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qconnect_sessions_live",
			Help: "Live sessions in the session store (with --redis: of the whole deployment)."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := f(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	if f := src.Pool; f != nil {
		m.reg.MustRegister(&poolCollector{f: f})
	}
	if f := src.RedisErrors; f != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "qconnect_redis_errors_total",
			Help: "Redis operations that failed (each answered unavailable, or retried in the background)."}, func() float64 { return float64(f()) }))
	}
	if f := src.AuditDropped; f != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "qconnect_audit_dropped_total",
			Help: "Audit records dropped because the audit buffer was full (the file could not keep up)."}, func() float64 { return float64(f()) }))
	}
	return m
}

// AddServer registers the gauges and counters read from the server's Stats
// (for a server built after the metrics, which observe its requests).
func (m *Metrics) AddServer(s *server.Server) {
	gauge := func(name, help string, f func(server.Stats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(s.Stats()) }))
	}
	counter := func(name, help string, f func(server.Stats) float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(s.Stats()) }))
	}
	gauge("qconnect_websockets_open", "WebSockets open.", func(st server.Stats) float64 { return float64(st.Sockets) })
	gauge("qconnect_subscriptions_open", "Stream subscriptions open.", func(st server.Stats) float64 { return float64(st.Subscriptions) })
	gauge("qconnect_stream_upstreams_open", "Stream upstreams open (identical subscriptions share one).", func(st server.Stats) float64 { return float64(st.Upstreams) })
	gauge("qconnect_websocket_queue_bytes", "Bytes queued for all WebSockets.", func(st server.Stats) float64 { return float64(st.QueueBytes) })
	gauge("qconnect_calls_in_flight", "Calls running now (busy beyond --max-concurrent).", func(st server.Stats) float64 { return float64(st.InFlight) })
	counter("qconnect_slow_consumer_cutoffs_total", "WebSockets cut off for an overflowing queue, and subscriptions ended because this gateway fell behind the shared stream.", func(st server.Stats) float64 { return float64(st.SlowConsumerCuts) })
	counter("qconnect_publishes_total", "Publishes stored (REST, WebSocket, demo feed; relayed ones on the gateway that received them).", func(st server.Stats) float64 { return float64(st.Publishes) })
	counter("qconnect_published_rows_total", "Rows in the publishes stored.", func(st server.Stats) float64 { return float64(st.PublishedRows) })
	counter("qconnect_busy_retries_total", "Queries run again because the backend was busy (out of memory or spill space) while other calls ran; the call waited for one of them to end.", func(st server.Stats) float64 { return float64(st.BusyRetries) })
	counter("qconnect_publish_failures_total", "Publishes accepted and then not stored (the write failed); each is also logged.", func(st server.Stats) float64 { return float64(st.PublishFailures) })
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest counts one finished request (server.Observer).
func (m *Metrics) ObserveRequest(r *server.RequestRecord) {
	if r.Method == "" && r.Kind == "" {
		return // docs, assets, unknown routes
	}
	code := r.Code
	if code == "" {
		code = "ok"
	}
	in := m.instruments(r.Method, code)
	in.reqs.Inc()
	in.latency.Observe(r.Duration.Seconds())
	in.rows.Add(float64(r.Rows))
	in.bytes.Add(float64(r.Bytes))
	if r.Kind == "login" {
		m.logins.WithLabelValues(code).Inc() // rare: not cached
	}
}

// instruments returns the cached instruments of a request's method (as
// recorded, before label bounds it) and code.
func (m *Metrics) instruments(method, code string) *instruments {
	k := instKey{method, code}
	m.mu.RLock()
	in := m.inst[k]
	m.mu.RUnlock()
	if in != nil {
		return in
	}
	label := m.label(method)
	in = &instruments{reqs: m.reqs.WithLabelValues(label, code), latency: m.latency.WithLabelValues(label),
		rows: m.rows.WithLabelValues(label), bytes: m.bytes.WithLabelValues(label)}
	if label == "other" {
		return in // made-up methods are not remembered: they would grow the cache
	}
	m.mu.Lock()
	m.inst[k] = in
	m.mu.Unlock()
	return in
}

// label bounds the method label to the catalog's methods and the fixed
// routes, so a client cannot grow the metrics with made-up paths.
func (m *Metrics) label(method string) string {
	if strings.HasPrefix(method, "auth/") || strings.HasPrefix(method, "meta/") {
		return method
	}
	if m.src.Catalog != nil {
		if _, ok := m.src.Catalog.LookupFull(method); ok {
			return method
		}
	}
	return "other"
}

// poolCollector exports a backend's qconnect.PoolStats.
type poolCollector struct{ f func() qconnect.PoolStats }

var (
	poolOpen   = prometheus.NewDesc("qconnect_backend_pool_connections", "Backend (DuckDB) pool connections by state.", []string{"state"}, nil)
	poolMax    = prometheus.NewDesc("qconnect_backend_pool_max_connections", "Backend pool size limit.", nil, nil)
	poolWaits  = prometheus.NewDesc("qconnect_backend_pool_waits_total", "Calls that waited for a free backend connection.", nil, nil)
	poolWaited = prometheus.NewDesc("qconnect_backend_pool_wait_seconds_total", "Time calls spent waiting for a free backend connection.", nil, nil)
)

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolOpen
	ch <- poolMax
	ch <- poolWaits
	ch <- poolWaited
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := p.f()
	ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(st.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(st.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.Max))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.Waits))
	ch <- prometheus.MustNewConstMetric(poolWaited, prometheus.CounterValue, st.WaitTime.Seconds())
}
