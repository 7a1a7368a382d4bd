package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// Environment variables of the TLS settings of `qconnect serve`.
const (
	envTLSCert = "QCONNECT_TLS_CERT"
	envTLSKey  = "QCONNECT_TLS_KEY"
)

// tlsOptions are the TLS settings: with both files, the gateway serves
// HTTPS (HTTP/2 for REST) and WSS.
type tlsOptions struct {
	cert, key string
}

func (o *tlsOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.StringVar(&o.cert, "tls-cert", "", s.add("tls-cert", envTLSCert, "PEM certificate (chain) file: serve HTTPS and WSS (reloaded on SIGHUP)"))
	fs.StringVar(&o.key, "tls-key", "", s.add("tls-key", envTLSKey, "PEM private key file of --tls-cert"))
}

// certReloader serves the current certificate and swaps in a new one on
// reload; connections already open keep theirs.
type certReloader struct {
	cert, key string
	cur       atomic.Pointer[tls.Certificate]
}

// config returns the server TLS configuration, or nil without TLS.
func (o *tlsOptions) config() (*tls.Config, *certReloader, error) {
	if o.cert == "" && o.key == "" {
		return nil, nil, nil
	}
	if o.cert == "" || o.key == "" {
		return nil, nil, usageErrorf("TLS needs both --tls-cert and --tls-key")
	}
	r := &certReloader{cert: o.cert, key: o.key}
	if err := r.reload(); err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.cur.Load(), nil },
	}
	return cfg, r, nil
}

func (r *certReloader) reload() error {
	c, err := tls.LoadX509KeyPair(r.cert, r.key)
	if err != nil {
		return fmt.Errorf("cannot load the TLS certificate and key (%s, %s): %v", r.cert, r.key, err)
	}
	r.cur.Store(&c)
	return nil
}

// reloadLogged reloads the certificate (SIGHUP); a bad pair is logged and
// the old one stays in use.
func (r *certReloader) reloadLogged(log *slog.Logger) {
	if err := r.reload(); err != nil {
		log.Error("SIGHUP: the TLS certificate was not reloaded; the old one stays in use", "error", err)
		return
	}
	log.Info("SIGHUP: TLS certificate reloaded", "file", r.cert)
}
