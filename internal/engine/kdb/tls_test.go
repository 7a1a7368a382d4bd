package kdb

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/fakeq"
)

// TestTLS: a backend with tls: true and a CA file reaches a q process
// that requires TLS; without the CA the certificate is refused.
func TestTLS(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake q"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fakeq.StartTLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Example()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
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
