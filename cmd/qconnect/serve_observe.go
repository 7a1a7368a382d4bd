package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/audit"
	"github.com/qconnect/qconnect/internal/metrics"
)

// Environment variables of the observability settings of `qconnect serve`.
const (
	envMetrics       = "QCONNECT_METRICS"
	envMetricsListen = "QCONNECT_METRICS_LISTEN"
	envAuditLog      = "QCONNECT_AUDIT_LOG"
	envAuditBuffer   = "QCONNECT_AUDIT_BUFFER"
	envAuditMaxValue = "QCONNECT_AUDIT_MAX_VALUE"
)

// observeOptions are the metrics and audit settings.
type observeOptions struct {
	metrics       bool
	metricsListen string
	auditLog      string
	auditBuffer   int
	auditMaxValue int
}

func (o *observeOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.BoolVar(&o.metrics, "metrics", true, s.add("metrics", envMetrics, "serve Prometheus metrics at GET /metrics (false: off)"))
	fs.StringVar(&o.metricsListen, "metrics-listen", "", s.add("metrics-listen", envMetricsListen, "serve /metrics on this address instead of the gateway's (e.g. 127.0.0.1:9090)"))
	fs.StringVar(&o.auditLog, "audit-log", "", s.add("audit-log", envAuditLog, "append one JSON line per login, logout, call and publish to this file (reopened on SIGHUP)"))
	fs.IntVar(&o.auditBuffer, "audit-buffer", audit.DefaultBuffer, s.add("audit-buffer", envAuditBuffer, "audit records held for the writer; beyond it records are dropped and counted (qconnect_audit_dropped_total)"))
	fs.IntVar(&o.auditMaxValue, "audit-max-value", audit.DefaultMaxValue, s.add("audit-max-value", envAuditMaxValue, "bytes of a parameter's value kept in the audit log; longer values are cut"))
}

// handler returns the gateway's handler with /metrics added when the
// metrics are on and share the gateway's address.
func (o *observeOptions) handler(gw http.Handler, m *metrics.Metrics) http.Handler {
	if !o.metrics || o.metricsListen != "" {
		return gw
	}
	// A plain check rather than a second ServeMux in front of the
	// gateway's: every API request would pay for two pattern matches.
	// Paths that need cleaning reach the gateway's mux, which redirects
	// them to the clean path.
	mh := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			mh.ServeHTTP(w, r)
			return
		}
		gw.ServeHTTP(w, r)
	})
}

// serveMetrics serves /metrics on its own address, until ctx ends.
func (o *observeOptions) serveMetrics(ctx context.Context, m *metrics.Metrics, log *slog.Logger) error {
	if !o.metrics || o.metricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", o.metricsListen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s for /metrics: %v (choose another --metrics-listen)", o.metricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	go hs.Serve(ln)
	log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return nil
}

// openAudit opens the audit log when --audit-log is given (nil otherwise).
func (o *observeOptions) openAudit(cat *qconnect.Catalog, log *slog.Logger) (*audit.Log, error) {
	if o.auditLog == "" {
		return nil, nil
	}
	return audit.Open(o.auditLog, audit.Options{Buffer: o.auditBuffer, MaxValue: o.auditMaxValue, Catalog: cat, Logger: log})
}

// reopenAudit reopens the audit log (SIGHUP, for logrotate); on failure
// the old file stays in use.
func reopenAudit(a *audit.Log, log *slog.Logger) {
	if err := a.Reopen(); err != nil {
		log.Error("SIGHUP: the audit log was not reopened; the old file stays in use", "error", err)
		return
	}
	log.Info("SIGHUP: audit log reopened")
}
