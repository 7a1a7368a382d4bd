package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/internal/testenv/browser"
)

// testCA is a certificate authority made by the test, issuing certificates
// for 127.0.0.1.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemPath string
	pool    *x509.CertPool
}

func newTestCA(t *testing.T, dir string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "qconnect test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pemPath: filepath.Join(dir, "ca.pem"), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	writePEM(t, ca.pemPath, "CERTIFICATE", der)
	return ca
}

// issue writes a certificate for 127.0.0.1 with serial to cert/key files.
func (ca *testCA) issue(t *testing.T, certPath, keyPath string, serial int64) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	writePEM(t, keyPath+".tmp", "EC PRIVATE KEY", kb)
	writePEM(t, certPath+".tmp", "CERTIFICATE", der)
	// Replace both files by rename, as a deployment tool would.
	if err := os.Rename(keyPath+".tmp", keyPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(certPath+".tmp", certPath); err != nil {
		t.Fatal(err)
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// servedSerial is the serial number of the certificate a new TLS
// connection gets.
func servedSerial(t *testing.T, addr string, pool *x509.CertPool) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestTLS: HTTPS with HTTP/2 for REST and WSS, through the Go SDK, the
// CLI and the Node client, with a certificate made by the test; SIGHUP
// reloads the certificate without dropping connections.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t, dir)
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.issue(t, certPath, keyPath, 100)
	g := wsGateway(t, "--tls-cert", certPath, "--tls-key", keyPath)
	if !strings.HasPrefix(g.URL, "https://") {
		t.Fatalf("the gateway announced %s, want an https:// URL", g.URL)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, ForceAttemptHTTP2: true}}
	ctx := ctxFor(t, 2*time.Minute)

	// REST over HTTP/2.
	resp, err := hc.Get(g.URL + "/connect/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("GET openapi.json over TLS: %d %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}

	// The Go SDK: a call, a WSS subscription and a publish.
	c, err := client.New(g.URL, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Login(ctx, "trader", "pw-trader")
	if err != nil {
		t.Fatalf("SDK login over TLS: %v", err)
	}
	if res, err := s.Call(ctx, "monPublic/getMem", map[string]any{"syms": []string{"server_A"}}); err != nil || len(res.Rows) == 0 {
		t.Fatalf("SDK call over TLS: %v", err)
	}
	sub, err := s.Subscribe(ctx, "monPublic/sub", map[string]any{"syms": []string{"server_T"}})
	if err != nil {
		t.Fatalf("SDK subscribe over WSS: %v", err)
	}
	if m, err := sub.Next(ctx); err != nil || m.Kind != client.Snapshot {
		t.Fatalf("snapshot over WSS: %+v %v", m, err)
	}
	publish := func(used float64) {
		t.Helper()
		if _, err := s.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(time.Now(), "server_T", used)}); err != nil {
			t.Fatal(err)
		}
		m, err := sub.Next(ctx)
		if err != nil || m.Kind != client.Update || m.Rows[0][2] != used {
			t.Fatalf("update over WSS: %+v %v", m, err)
		}
	}
	publish(1)

	// The CLI: https:// with --ca; refused without it; --insecure-skip-verify.
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, stderr, code := testenv.Run(t, cctx, "", "call", g.URL, "trader", "pw-trader", "monPublic/getMem", "--ca", ca.pemPath, "--format", "ndjson"); code != 0 || !strings.Contains(out, "server_") {
		t.Fatalf("CLI call with --ca: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := testenv.Run(t, cctx, "", "call", g.URL, "trader", "pw-trader", "monPublic/getMem"); code != 4 || !strings.Contains(stderr, "certificate") {
		t.Fatalf("CLI call without --ca: exit %d (want 4, an unverified certificate)\n%s", code, stderr)
	}
	if _, stderr, code := testenv.Run(t, cctx, "", "methods", g.URL, "trader", "pw-trader", "--insecure-skip-verify"); code != 0 {
		t.Fatalf("CLI methods with --insecure-skip-verify: exit %d\n%s", code, stderr)
	}

	// The Node client (Node's https, trusting the test CA).
	if testenv.LookPath("node") {
		ndir := nodeDir(t)
		cmd := exec.CommandContext(cctx, "node", "connectSample.js", g.URL, "trader", "pw-trader", "monPublic/getMem", `{"syms":["server_A"]}`)
		cmd.Dir = ndir
		cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca.pemPath)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "server_A") {
			t.Fatalf("node over TLS: %v\n%s", err, out)
		}
	} else {
		testenv.Require(t, false, "QCONNECT_REQUIRE_NODE", "Node.js")
	}

	// SIGHUP: new connections get the new certificate; the open socket stays.
	if got := servedSerial(t, g.Addr, ca.pool); got != 100 {
		t.Fatalf("serving certificate %d, want 100", got)
	}
	ca.issue(t, certPath, keyPath, 200)
	if err := g.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the certificate reload", func() bool { return strings.Contains(g.Stderr(), "TLS certificate reloaded") })
	if got := servedSerial(t, g.Addr, ca.pool); got != 200 {
		t.Fatalf("after SIGHUP a new connection gets certificate %d, want 200", got)
	}
	publish(2) // the WSS subscription opened before the reload still delivers
}

// TestTLSDemoNeedsInsecureDemoOffLoopback: TLS does not lift the demo
// mode's loopback rule.
func TestTLSDemoNeedsInsecureDemoOffLoopback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t, dir)
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.issue(t, certPath, keyPath, 7)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, stderr, code := testenv.Run(t, ctx, "", "serve", "--listen", "0.0.0.0:0", "--tls-cert", certPath, "--tls-key", keyPath)
	if code != 2 || !strings.Contains(stderr, "--insecure-demo") {
		t.Fatalf("demo mode with TLS on 0.0.0.0: exit %d, %s", code, stderr)
	}
}

// TestTLSBrowser: the docs page over HTTPS in Chromium: log in (the page
// signs with WebCrypto, which needs a secure context) and call a method.
// Chromium is told to accept the test's certificate
// (--ignore-certificate-errors): importing a CA into its store needs tools
// the test machine lacks.
func TestTLSBrowser(t *testing.T) {
	t.Parallel()
	_, err := os.Stat(browser.Path)
	testenv.Require(t, err == nil, browser.Gate, "Chromium at "+browser.Path)
	dir := t.TempDir()
	ca := newTestCA(t, dir)
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.issue(t, certPath, keyPath, 1)
	g, _ := testGateway(t, "--tls-cert", certPath, "--tls-key", keyPath)

	parent, cancelTimeout := context.WithTimeout(context.Background(), 2*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(parent, chromedp.ExecPath(browser.Path),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()))
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelTimeout() })

	do(t, ctx, "load the docs page over HTTPS", chromedp.Navigate(g.URL+"/connect/index.html"))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.qconnect !== undefined`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page script did not start: %v", err)
	}
	if !js[bool](t, ctx, `window.isSecureContext && location.protocol === "https:"`) {
		t.Fatal("the page is not a secure https: context")
	}
	js[bool](t, ctx, `(() => { for (const d of document.querySelectorAll("details.try-it")) d.open = true; return true; })()`)
	do(t, ctx, "log in",
		chromedp.SendKeys(chromedp.ID("login-username"), "alice"),
		chromedp.SendKeys(chromedp.ID("login-password"), "alice-password"),
		chromedp.Click(chromedp.ID("login-submit")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#session").hidden`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("login over HTTPS did not complete: %v", err)
	}
	do(t, ctx, "type syms", chromedp.SendKeys(chromedp.CSS(`form[data-method="monPublic/getMem"] [data-param="syms"]`), "server_A"))
	out := callForm(t, ctx, "monPublic/getMem")
	if out.Code != "" || len(out.Rows) == 0 {
		t.Fatalf("getMem over HTTPS: %s %s %s, %d rows", out.Code, out.Status, out.Message, len(out.Rows))
	}
}
