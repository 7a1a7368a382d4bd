package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/testenv"
)

func nginxPath() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	return ""
}

// startNginx runs Debian's nginx with examples/deploy/nginx-qconnect.conf,
// its upstreams, TLS listener and certificate replaced by the test's, and
// returns its https:// URL.
func startNginx(t *testing.T, gateways []*testenv.Gateway, certPath, keyPath string) string {
	t.Helper()
	bin := nginxPath()
	testenv.Require(t, bin != "", "QCONNECT_REQUIRE_NGINX", "nginx")
	site, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "examples", "deploy", "nginx-qconnect.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := string(site)
	if i := strings.Index(s, "server {\n    listen 80;"); i >= 0 {
		s = s[:i] // the plain-HTTP redirect
	}
	for i, g := range gateways {
		s = strings.Replace(s, fmt.Sprintf("127.0.0.1:%d", 8081+i), g.Addr, 1)
	}
	repl := strings.NewReplacer(
		"listen 443 ssl http2;", "listen "+addr+" ssl http2;",
		"listen [::]:443 ssl http2;", "",
		"/etc/qconnect/tls/fullchain.pem", certPath,
		"/etc/qconnect/tls/privkey.pem", keyPath)
	s = repl.Replace(s)
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	main := user + "daemon off;\npid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents { worker_connections 1024; }\n" +
		"http {\n access_log off;\n client_body_temp_path " + dir + "/body;\n proxy_temp_path " + dir + "/proxy;\n" +
		" fastcgi_temp_path " + dir + "/fcgi;\n uwsgi_temp_path " + dir + "/uwsgi;\n scgi_temp_path " + dir + "/scgi;\n" +
		" include " + dir + "/site.conf;\n}\n"
	os.WriteFile(filepath.Join(dir, "site.conf"), []byte(s), 0o600)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600)
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	// A file, not a pipe: nginx's workers inherit it, and Wait would wait
	// for them to close a pipe.
	outFile, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful: the master stops its workers
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "nginx.out"))
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out, log)
		}
	})
	waitFor(t, "nginx to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "https://" + addr
}

// TestDeployNginx: the example nginx configuration in front of three
// gateways and one Redis: TLS termination, calls spread over the gateways,
// a WebSocket subscription through the upgrade, and the client's address
// passed on (X-Forwarded-For from a trusted proxy).
func TestDeployNginx(t *testing.T) {
	t.Parallel()
	if nginxPath() == "" {
		testenv.Require(t, false, "QCONNECT_REQUIRE_NGINX", "nginx")
	}
	c := startCluster(t, "--trusted-proxy", "127.0.0.1/32")
	dir := t.TempDir()
	ca := newTestCA(t, dir)
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.issue(t, certPath, keyPath, 1)
	url := startNginx(t, c.gw, certPath, keyPath)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, ForceAttemptHTTP2: true}}
	ctx := ctxFor(t, 2*time.Minute)

	cl, err := client.New(url, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cl.Login(ctx, "trader", "pw-trader")
	if err != nil {
		t.Fatalf("login through nginx: %v", err)
	}
	sub, err := s.Subscribe(ctx, "monPublic/sub", map[string]any{"syms": []string{"server_N"}})
	if err != nil {
		t.Fatalf("subscribe through nginx (WebSocket upgrade): %v", err)
	}
	if m, err := sub.Next(ctx); err != nil || m.Kind != client.Snapshot {
		t.Fatalf("snapshot through nginx: %+v %v", m, err)
	}
	for i := range 12 { // least_conn spreads these over the gateways
		if _, err := s.Call(ctx, "monPublic/getMem", map[string]any{"syms": []string{"server_A"}}); err != nil {
			t.Fatalf("call %d through nginx: %v", i, err)
		}
	}
	if _, err := s.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(time.Now(), "server_N", 42)}); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.Next(ctx); err != nil || m.Kind != client.Update || m.Seq != 1 || m.Rows[0][2] != 42.0 {
		t.Fatalf("update through nginx: %+v %v", m, err)
	}
	// Log lines reach stderr up to --log-delay after the request.
	waitFor(t, "a gateway's log line of the call", func() bool {
		for _, g := range c.gw {
			if strings.Contains(g.Stderr(), "method=monPublic/getMem") {
				return true
			}
		}
		return false
	})
	served := 0
	for _, g := range c.gw {
		if strings.Contains(g.Stderr(), "method=monPublic/getMem") {
			served++
		}
		if strings.Contains(g.Stderr(), "method=monPublic/getMem") && !strings.Contains(g.Stderr(), "remote=127.0.0.1") {
			t.Errorf("gateway %s logs no client address 127.0.0.1", g.Addr)
		}
	}
	if served < 2 {
		t.Errorf("the calls through nginx reached %d gateway(s), want at least 2", served)
	}
	if err := s.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
}
