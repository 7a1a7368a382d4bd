package main

import (
	"context"
	"errors"
	"flag"
	"github.com/qconnect/qconnect"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qconnect/qconnect/client"
)

// TestOneArgumentGrammar: every client command reads
// [<host:port> <user> <password>] <group/method> alike, and a mistake names
// the right form.
func TestOneArgumentGrammar(t *testing.T) {
	e, _, _ := testEnv(nil, false)
	type parsed struct{ addr, user, pw, method string }
	parse := func(cmd string, args []string) (parsed, error) {
		switch cmd {
		case "call":
			o, err := parseCallArgs(e, args)
			if err != nil {
				return parsed{}, err
			}
			return parsed{o.gw.addr, o.gw.user, o.gw.password, o.method}, nil
		case "subscribe":
			o, err := parseSubscribeArgs(e, args)
			if err != nil {
				return parsed{}, err
			}
			return parsed{o.gw.addr, o.gw.user, o.gw.password, o.method}, nil
		case "publish":
			o, err := parsePublishArgs(e, args)
			if err != nil {
				return parsed{}, err
			}
			return parsed{o.gw.addr, o.gw.user, o.gw.password, o.method}, nil
		}
		o, err := parseMethodsArgs(e, args)
		if err != nil {
			return parsed{}, err
		}
		return parsed{o.gw.addr, o.gw.user, o.gw.password, ""}, nil
	}
	for _, cmd := range []string{"call", "subscribe", "publish"} {
		p, err := parse(cmd, []string{"marketData/getVwap"})
		if err != nil || p != (parsed{defaultGatewayAddr, defaultGatewayUser, defaultGatewayPass, "marketData/getVwap"}) {
			t.Errorf("%s with the method alone: %+v %v", cmd, p, err)
		}
		p, err = parse(cmd, []string{"h:1", "u", "pw", "g/m"})
		if err != nil || p != (parsed{"h:1", "u", "pw", "g/m"}) {
			t.Errorf("%s with all four: %+v %v", cmd, p, err)
		}
		p, err = parse(cmd, []string{"h:1", "g/m"})
		if err != nil || p != (parsed{"h:1", defaultGatewayUser, defaultGatewayPass, "g/m"}) {
			t.Errorf("%s with an address and the method: %+v %v", cmd, p, err)
		}
		for _, bad := range []struct {
			args []string
			want string
		}{
			{[]string{"getVwap"}, "neither <host:port> nor <group/method>"},
			{[]string{"g/m", "h:1"}, "must come last"},
			{[]string{"h:1", "u", "p", "getVwap"}, `method "getVwap" must be group/method`},
			{[]string{"a:1", "b", "c", "d", "g/m"}, "too many arguments"},
		} {
			_, err := parse(cmd, bad.args)
			var xe *exitError
			if !errors.As(err, &xe) || xe.code != exitUsage || !strings.Contains(xe.msg, bad.want) ||
				!strings.Contains(xe.msg, "[<host:port> <username> <password>]") || !strings.Contains(xe.msg, "e.g. qconnect "+cmd) {
				t.Errorf("%s %q: %v; want a usage error with %q, the form and an example", cmd, bad.args, err, bad.want)
			}
			if cmd == "publish" && err != nil && strings.Contains(err.Error(), "--params") {
				t.Errorf("publish %q suggests --params: %v", bad.args, err)
			}
		}
	}
	if _, err := parse("methods", []string{"h:1", "u", "p"}); err != nil {
		t.Errorf("methods h:1 u p: %v", err)
	}
	if _, err := parse("subscribe", []string{"h:1", "u", "p"}); err == nil || !strings.Contains(err.Error(), "which method?") {
		t.Errorf("subscribe without a method: %v", err)
	}
}

// TestLoginStoresCredentials: login checks the credentials against a
// gateway, stores them 0600, later commands use them, logout removes them.
func TestLoginStoresCredentials(t *testing.T) {
	si := &standIn{}
	srv := httptest.NewServer(si)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "cfg")
	runIn := func(stdin string, vars map[string]string, args ...string) (int, string) {
		e, _, stderr := testEnv(vars, false)
		e.stdin = strings.NewReader(stdin)
		e.configDir = func() (string, error) { return dir, nil }
		code := run(context.Background(), e, args)
		return code, stderr.String()
	}
	if code, msg := runIn("bad\n", nil, "login", srv.URL, "alice"); code != exitAuth {
		t.Fatalf("login with a wrong password: exit %d, %s", code, msg)
	}
	if _, err := os.Stat(filepath.Join(dir, credsFile)); err == nil {
		t.Fatal("a refused login stored its credentials")
	}
	if code, msg := runIn("s3cret\n", nil, "login", srv.URL, "alice"); code != exitOK {
		t.Fatalf("login: exit %d, %s", code, msg)
	}
	fi, err := os.Stat(filepath.Join(dir, credsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v; want 0600", err, fi.Mode())
	}
	e, _, _ := testEnv(nil, false)
	e.configDir = func() (string, error) { return dir, nil }
	if g := resolveGateway(e, nil); g != (gatewayArgs{addr: srv.URL, user: "alice", password: "s3cret"}) {
		t.Errorf("after login, no arguments resolve to %+v", g)
	}
	if g := resolveGateway(e, []string{srv.URL, "bob"}); g.password == "s3cret" {
		t.Error("alice's stored password was used for bob")
	}
	e.getenv = func(k string) string { return map[string]string{envGatewayPassword: "fromenv"}[k] }
	if g := resolveGateway(e, nil); g.password != "fromenv" {
		t.Errorf("QCONNECT_PASSWORD does not win over the stored password: %+v", g)
	}
	if code, msg := runIn("", nil, "logout", "other:1"); code == exitOK || !strings.Contains(msg, srv.URL) {
		t.Errorf("logout of an unknown gateway: exit %d, %s", code, msg)
	}
	if code, msg := runIn("", nil, "logout"); code != exitOK {
		t.Fatalf("logout: exit %d, %s", code, msg)
	}
	if _, err := os.Stat(filepath.Join(dir, credsFile)); err == nil {
		t.Error("logout left the credentials file")
	}
	if g := resolveGateway(e, nil); g.addr != defaultGatewayAddr {
		t.Errorf("after logout: %+v", g)
	}
	if code, _ := runIn("", nil, "login", "not-an-address"); code != exitUsage {
		t.Errorf("login not-an-address: exit %d", code)
	}
}

func TestBareUsageVersionCompletion(t *testing.T) {
	e, stdout, stderr := testEnv(nil, false)
	if code := run(context.Background(), e, nil); code != exitUsage || stdout.Len() != 0 || !strings.Contains(stderr.String(), "Usage: qconnect") {
		t.Errorf("bare qconnect: exit %d, stdout %q, stderr %q; want usage on stderr, exit 2", code, stdout, stderr)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		e, stdout, _ := testEnv(nil, false)
		// A test binary is a build from the checkout: the repository's VERSION.
		if code := run(context.Background(), e, args); code != exitOK || !strings.HasPrefix(stdout.String(), "qconnect "+qconnect.Version+" ") || !strings.Contains(stdout.String(), "commit ") {
			t.Errorf("%v: exit %d, %q", args, code, stdout)
		}
	}
	version, commit = "9.9.9", "abc1234"
	defer func() { version, commit = "", "" }()
	e, stdout, _ = testEnv(nil, false)
	run(context.Background(), e, []string{"version"})
	if !strings.Contains(stdout.String(), "qconnect 9.9.9 (commit abc1234") {
		t.Errorf("ldflags version not shown: %q", stdout)
	}
	e, stdout, _ = testEnv(nil, false)
	if code := run(context.Background(), e, []string{"completion", "bash"}); code != exitOK {
		t.Fatalf("completion bash: exit %d", code)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to source the completion script")
	}
	script := filepath.Join(t.TempDir(), "c.bash")
	os.WriteFile(script, stdout.Bytes(), 0o644)
	out, err := exec.Command(bash, "-c", "source "+script+" && complete -p qconnect && COMP_WORDS=(qconnect ca) COMP_CWORD=1 _qconnect && echo ${COMPREPLY[@]}").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-F _qconnect qconnect") || !strings.Contains(string(out), "call") {
		t.Errorf("bash cannot source the completion: %v\n%s", err, out)
	}
	e, _, _ = testEnv(nil, false)
	if code := run(context.Background(), e, []string{"completion", "fish"}); code != exitUsage {
		t.Errorf("completion fish: exit %d", code)
	}
}

// TestServeHelp: serve --help (and -h) prints the hand-written intro and
// every setting, grouped, as a double-dash flag with its environment
// variable, on stdout, exit 0; an unknown flag points to --help.
func TestServeHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		e, stdout, stderr := testEnv(nil, false)
		if code := run(context.Background(), e, []string{"serve", arg}); code != exitOK {
			t.Fatalf("serve %s: exit %d, %s", arg, code, stderr)
		}
		out := stdout.String()
		var o serveOptions
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		st := o.flags(fs)
		for _, s := range st.list {
			if !strings.Contains(out, "\n  --"+s.key+" ") {
				t.Errorf("serve %s: setting --%s missing", arg, s.key)
			}
			if s.env != "" && !strings.Contains(out, "env "+s.env) {
				t.Errorf("serve %s: env %s missing", arg, s.env)
			}
		}
		for _, h := range []string{"Usage: qconnect serve", "\nListening and access:\n", "\nWebSocket:\n", "(default 30m;"} {
			if !strings.Contains(out, h) {
				t.Errorf("serve %s lacks %q", arg, h)
			}
		}
		if strings.Contains(out, "\n  -listen") {
			t.Error("single-dash flags in the help")
		}
	}
	e, _, stderr := testEnv(nil, false)
	if code := run(context.Background(), e, []string{"serve", "--nope"}); code != exitUsage || !strings.Contains(stderr.String(), "qconnect serve --help") {
		t.Errorf("serve --nope: exit %d, %s", code, stderr)
	}
}

// TestZshCompletion: zsh can load the completion script and registers it
// for qconnect (skipped without zsh).
func TestZshCompletion(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh")
	}
	e, stdout, _ := testEnv(nil, false)
	if code := run(context.Background(), e, []string{"completion", "zsh"}); code != exitOK {
		t.Fatalf("completion zsh: exit %d", code)
	}
	script := filepath.Join(t.TempDir(), "_qconnect")
	os.WriteFile(script, stdout.Bytes(), 0o644)
	out, err := exec.Command(zsh, "-f", "-c", "autoload -U compinit && compinit -u -D && source "+script+" && print ${_comps[qconnect]}").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "_qconnect" {
		t.Errorf("zsh did not register the completion: %v\n%s", err, out)
	}
}

// TestServerErrorTextSaysEachThingOnce: the problems of invalidParams are
// listed once (not in the message and again in the details), a wrong
// password gets one hint, publish never suggests --params, and a method of
// the wrong kind points to the right command.
func TestServerErrorTextSaysEachThingOnce(t *testing.T) {
	ip := &client.Error{Code: "invalidParams", Message: "invalid parameters for g/m: a: bad; b: unknown parameter; did you mean bb? this method takes bb",
		Details: []string{"a: bad", "b: unknown parameter; did you mean bb? this method takes bb"}}
	got := serverErrorText(ip, "call")
	for _, d := range ip.Details {
		if strings.Count(got, d) != 1 {
			t.Errorf("%q appears %d times in\n%s", d, strings.Count(got, d), got)
		}
	}
	if !strings.HasPrefix(got, "invalidParams: invalid parameters for g/m\n") || !strings.Contains(got, "--params") {
		t.Errorf("call invalidParams:\n%s", got)
	}
	if pub := serverErrorText(ip, "publish"); strings.Contains(pub, "--params") {
		t.Errorf("publish suggests --params:\n%s", pub)
	}
	one := &client.Error{Code: "invalidParams", Message: "n: below the minimum 1", Details: []string{"n: below the minimum 1"}}
	if got := serverErrorText(one, "call"); strings.Count(got, "below the minimum") != 1 {
		t.Errorf("a single problem is repeated:\n%s", got)
	}
	cred := &client.Error{Code: "invalidCredentials", Message: "the username or password is wrong; check both and try again"}
	if got := serverErrorText(cred, ""); strings.Count(got, "check") != 1 {
		t.Errorf("two hints for a wrong password:\n%s", got)
	}
	wrongKind := &client.Error{Code: "unknownMethod", Method: "g/sub", Message: "g/sub is a streaming method; subscribe to it over the WebSocket at /connect/ws (PROTOCOL 7)"}
	if got := serverErrorText(wrongKind, "call"); !strings.Contains(got, "qconnect subscribe g/sub") || strings.Contains(got, "qconnect methods") || strings.Contains(got, "over the WebSocket") {
		t.Errorf("streaming method called:\n%s", got)
	}
}

func TestPluralAndSpans(t *testing.T) {
	for n, want := range map[int64]string{0: "0 rows", 1: "1 row", 2: "2 rows", 1000: "1,000 rows"} {
		if got := plural(n, "row"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
	if got := storedBefore(1); got != "1 row before it was stored" {
		t.Errorf("storedBefore(1) = %q", got)
	}
	min, max := 10.0, 86400.0
	p := client.ParamInfo{Name: "bucket", Type: "timespan", Default: "5m0s", Min: &min, Max: &max}
	if got := paramUse(p) + " [" + paramConstraints(p) + "]"; got != "default 5m [min 10s; max 24h]" {
		t.Errorf("timespan shown as %q", got)
	}
}

func TestExampleAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080", "0.0.0.0:9000": "localhost:9000", "[::]:9000": "localhost:9000",
		":7000": "localhost:7000", "127.0.0.1:0": "", "nonsense": "",
	} {
		if got := exampleAddr(in); got != want {
			t.Errorf("exampleAddr(%q) = %q, want %q", in, got, want)
		}
	}
	if o := docsOptions("127.0.0.1:1", false); o.Demo != nil || o.Now.IsZero() || o.Addr != "127.0.0.1:1" {
		t.Errorf("docsOptions without the demo users: %+v", o)
	}
	if o := docsOptions("127.0.0.1:1", true); o.Demo == nil || o.Demo.Username != defaultGatewayUser {
		t.Errorf("docsOptions with the demo users: %+v", o)
	}
}
