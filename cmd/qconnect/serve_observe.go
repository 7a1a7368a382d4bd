package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/qconnect/qconnect/metrics"
)

// Environment variables of the observability settings of `qconnect serve`.
const (
	envMetrics       = "QCONNECT_METRICS"
	envMetricsListen = "QCONNECT_METRICS_LISTEN"
)

// observeOptions are the metrics settings.
type observeOptions struct {
	metrics       bool
	metricsListen string
}

func (o *observeOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.BoolVar(&o.metrics, "metrics", true, s.add("metrics", envMetrics, "serve Prometheus metrics at GET /metrics (false: off)"))
	fs.StringVar(&o.metricsListen, "metrics-listen", "", s.add("metrics-listen", envMetricsListen, "serve /metrics on this address instead of the gateway's (e.g. 127.0.0.1:9090)"))
}

// handler returns the gateway's handler with /metrics added when the
// metrics are on and share the gateway's address.
func (o *observeOptions) handler(gw http.Handler, m *metrics.Metrics) http.Handler {
	if !o.metrics || o.metricsListen != "" {
		return gw
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", gw)
	return mux
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
