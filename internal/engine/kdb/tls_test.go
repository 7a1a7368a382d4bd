package kdb

import (
	"crypto/tls"
	"net"
	"strconv"
	"testing"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/fakeq"
	"github.com/qconnect/qconnect/internal/testenv"
)

// TestTLS: a backend with tls: true and a CA file reaches a q process
// that requires TLS; without the CA the certificate is refused.
func TestTLS(t *testing.T) {
	t.Parallel()
	ca, _, cert := testenv.SelfSigned(t, t.TempDir(), "fake q")
	s, err := fakeq.StartTLS(&tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Example()
	host, port, _ := net.SplitHostPort(s.Addr())
	p, _ := strconv.Atoi(port)
	cfg := Config{Name: "tls", Host: host, Port: p, User: "gw", TLS: true, TLSCAFile: ca}
	e := open(t, cfg)
	r, err := e.QueryRows(ctx10(t), qconnect.Call{Method: getMem(), Params: map[string]any{"syms": []any{"server_A"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all(t, r)); n != fakeq.MemRows/3 {
		t.Fatalf("%d rows over TLS", n)
	}
	cfg.TLSCAFile = ""
	if err := open(t, cfg).Ping(ctx10(t)); qconnect.ErrorCode(err) != qconnect.CodeUnavailable {
		t.Fatalf("untrusted certificate: %v", err)
	}
}
