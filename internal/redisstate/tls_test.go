package redisstate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/testenv"
)

// TestTLSRedisServer: rediss:// reaches a redis-server that speaks TLS
// only, for the guard's own connection as for go-redis's pool, and the
// guard keeps one connection (the TLS session tickets Redis sends after
// the handshake are not taken for a closed connection).
func TestTLSRedisServer(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.LookPath("redis-server"), "QCONNECT_REQUIRE_REDIS", "redis-server")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", "0", "--bind", "127.0.0.1", "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", certFile, "--tls-auth-clients", "no",
		"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server with TLS on %s did not answer: %v\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition: the port accepting
	}
	c, err := Open(context.Background(), "rediss://"+addr+"/0?skip_verify=true", Options{Prefix: "tls:", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	g := NewGuard(c, time.Minute, 1000, 1000)
	now := time.Now()
	for i := range 20 {
		if rate, err := g.CheckRate("s", strconv.Itoa(i), "ann", now); rate != nil || err != nil {
			t.Fatalf("check %d over TLS: %v, %v", i, rate, err)
		}
	}
	if _, err := g.CheckRate("s", "3", "ann", now); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("replay over TLS = %v, want ErrReplayed", err)
	}
	// One connection for the pool's PING and one for the guard, not one per check.
	if n, err := c.rdb.Info(context.Background(), "stats").Result(); err != nil {
		t.Fatal(err)
	} else if conns := infoField(n, "total_connections_received"); conns > 3 {
		t.Fatalf("%d connections for 21 checks: the guard redials", conns)
	}
}

func infoField(info, field string) int {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1.
func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redis test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}
