package main

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Environment variables of the client commands' TLS settings.
const (
	envCA           = "QCONNECT_CA"
	envInsecureSkip = "QCONNECT_INSECURE_SKIP_VERIFY"
)

// clientTLS are the TLS flags every client command (call, methods,
// subscribe, publish) takes, for https:// gateway addresses: --ca FILE
// trusts the PEM certificates in FILE (besides the system's), and
// --insecure-skip-verify skips verification (tests only).
type clientTLS struct {
	ca       string
	insecure bool
}

// takeClientTLS removes the TLS flags from args (anywhere before "--") and
// returns the rest; the environment supplies what the flags do not.
func takeClientTLS(e *env, args []string) ([]string, clientTLS, error) {
	t := clientTLS{ca: e.getenv(envCA), insecure: e.getenv(envInsecureSkip) == "1" || e.getenv(envInsecureSkip) == "true"}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			out = append(out, a)
			continue
		}
		switch name {
		case "ca":
			if !hasVal {
				if i+1 >= len(args) {
					return nil, t, usageErrorf("--ca needs a PEM file of the certificate authorities to trust")
				}
				i++
				val = args[i]
			}
			t.ca = val
		case "insecure-skip-verify":
			t.insecure = !hasVal || val == "true" || val == "1"
		default:
			out = append(out, a)
		}
	}
	return out, t, nil
}

// httpClient returns the HTTP client for the gateway, or nil for the
// default one (no TLS flags).
func (t clientTLS) httpClient() (*http.Client, error) {
	if t.ca == "" && !t.insecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.insecure}
	if t.ca != "" {
		pem, err := os.ReadFile(t.ca)
		if err != nil {
			return nil, usageErrorf("--ca: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("--ca %s holds no PEM certificate", t.ca)
		}
		cfg.RootCAs = pool
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       cfg,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 10 * time.Minute,
	}}, nil
}
