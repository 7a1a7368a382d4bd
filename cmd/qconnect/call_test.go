package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
)

// testEnv is an env of buffers; vars stands in for the process environment.
func testEnv(vars map[string]string, terminal bool) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{
		stdin:      strings.NewReader(""),
		stdout:     &out,
		stderr:     &errb,
		getenv:     func(k string) string { return vars[k] },
		isTerminal: func(io.Writer) bool { return terminal },
	}, &out, &errb
}

func TestParseCallArgs(t *testing.T) {
	dir := t.TempDir()
	pfile := filepath.Join(dir, "p.json")
	os.WriteFile(pfile, []byte(`{"syms":["server_A"],"n":9007199254740993}`), 0o644)
	full := map[string]string{envGatewayAddr: "gw:9", envGatewayUser: "envuser", envGatewayPassword: "envpw"}
	cases := []struct {
		name string
		vars map[string]string
		args []string
		want string // gw addr|user|password|method|format|out|csv, or "usage: <substring>"
	}{
		{"defaults", nil, nil, "localhost:8080|kxSupport|12345678|monPublic/getMem|table||"},
		{"environment", full, nil, "gw:9|envuser|envpw|monPublic/getMem|table||"},
		{"one positional wins over env", full, []string{"h:1"}, "h:1|envuser|envpw|monPublic/getMem|table||"},
		{"all four", full, []string{"h:1", "u", "p", "g/m"}, "h:1|u|p|g/m|table||"},
		{"flags between positionals", nil, []string{"h:1", "--format", "csv", "u", "-o", "x.out", "p", "g/m"}, "h:1|u|p|g/m|csv|x.out|"},
		{"format from extension", nil, []string{"-o", "out.ndjson"}, "localhost:8080|kxSupport|12345678|monPublic/getMem|ndjson|out.ndjson|"},
		{"csv export", nil, []string{"--csv", "r.csv"}, "localhost:8080|kxSupport|12345678|monPublic/getMem|table||r.csv"},
		{"json to stdout", nil, []string{"--format", "JSON"}, "localhost:8080|kxSupport|12345678|monPublic/getMem|json||"},
		{"too many", nil, []string{"h", "u", "p", "g/m", "extra"}, "usage: too many arguments"},
		{"bad method", nil, []string{"h", "u", "p", "getMem"}, "usage: must be group/method"},
		{"bad format", nil, []string{"--format", "xml"}, "usage: --format \"xml\""},
		{"-o without format", nil, []string{"-o", "out.bin"}, "usage: say which format"},
		{"-o with table", nil, []string{"--format", "table", "-o", "x.csv"}, "usage: -o streams"},
		{"--csv with csv format", nil, []string{"--format", "csv", "--csv", "x.csv"}, "usage: --csv exports the printed table"},
		{"unknown flag", nil, []string{"--nope"}, "usage: flag provided but not defined: -nope"},
		{"bad params json", nil, []string{"--params", `{"syms":[`}, "usage: --params is not a JSON object (unexpected EOF)"},
		{"params not an object", nil, []string{"--params", `["a"]`}, "usage: --params is not a JSON object (json: cannot unmarshal array"},
		{"params trailing", nil, []string{"--params", `{} {}`}, "usage: --params has more after its JSON object"},
		{"params file missing", nil, []string{"--params", "@" + filepath.Join(dir, "nope.json")}, "usage: --params @"},
		{"bad timeout", nil, []string{"--timeout", "-1s"}, "usage: --timeout must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _, _ := testEnv(tc.vars, false)
			o, err := parseCallArgs(e, tc.args)
			if sub, ok := strings.CutPrefix(tc.want, "usage: "); ok {
				var xe *exitError
				if !errors.As(err, &xe) || xe.code != exitUsage || !strings.Contains(xe.msg, sub) {
					t.Errorf("err = %v, want a usage error containing %q", err, sub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join([]string{o.gw.addr, o.gw.user, o.gw.password, o.method, o.format, o.outFile, o.csvFile}, "|")
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}

	e, _, _ := testEnv(nil, false)
	o, err := parseCallArgs(e, []string{"--params", "@" + pfile})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(o.params); string(b) != `{"n":9007199254740993,"syms":["server_A"]}` {
		t.Errorf("params from file = %s (large integers must stay exact)", b)
	}
	e.stdin = strings.NewReader(`{"a":1}`)
	if o, err := parseCallArgs(e, []string{"--params", "@-"}); err != nil || o.params["a"] != json.Number("1") {
		t.Errorf("params from stdin = %v, %v", o, err)
	}
	// Arrow is never written to a terminal.
	e.isTerminal = func(io.Writer) bool { return true }
	if _, err := parseCallArgs(e, []string{"--format", "arrow"}); err == nil || !strings.Contains(err.Error(), "binary") {
		t.Errorf("arrow to a terminal: %v", err)
	}
	// -h prints the usage and is not an error.
	e, out, _ := testEnv(nil, false)
	if err := runCall(context.Background(), e, []string{"-h"}); err != nil || !strings.Contains(out.String(), "Usage: qconnect call") {
		t.Errorf("-h: %v, %q", err, out.String())
	}
}

func TestCommandFailureExitCodes(t *testing.T) {
	g := gatewayArgs{addr: "h:1", user: "bob", password: "pw-secret"}
	cases := []struct {
		err  error
		code int
		msg  []string
	}{
		{&client.Error{Status: 401, Code: qconnect.CodeInvalidCredentials, Message: "wrong username or password"}, exitAuth,
			[]string{"invalidCredentials: wrong username or password", "check the username and password", `user "bob" at h:1`, "QCONNECT_PASSWORD"}},
		{&client.Error{Status: 401, Code: qconnect.CodeClockSkew, Message: "date is 10m off; server time is ..."}, exitAuth, []string{"clockSkew", "clock"}},
		{&client.Error{Status: 401, Code: qconnect.CodeInvalidSession, Message: "no session"}, exitAuth, []string{"log in again"}},
		{&client.Error{Status: 403, Code: qconnect.CodeForbidden, Message: "not entitled", Method: "g/m"}, exitCallFailed, []string{"forbidden: not entitled", "access to g/m"}},
		{&client.Error{Status: 422, Code: qconnect.CodeInvalidParams, Message: "2 problems", Details: []string{"start: bad", "foo: unknown"}}, exitCallFailed,
			[]string{"invalidParams: 2 problems\n  start: bad\n  foo: unknown\n"}},
		{&client.Error{Status: 200, Code: qconnect.CodeAnalyticError, Message: "boom"}, exitCallFailed, []string{"analyticError: boom"}},
		{fmt.Errorf("%w at http://h:1: connection refused", client.ErrUnreachable), exitUnreachable, []string{"connection refused", "qconnect serve"}},
		{fmt.Errorf("%w: h:1 answered HTTP 404 with text/html", client.ErrNotGateway), exitUnreachable, []string{"does not look like a qconnect gateway", "QCONNECT_ADDR"}},
		{fmt.Errorf("%w (g/m)", client.ErrIncomplete), exitCallFailed, []string{"incomplete"}},
		{fmt.Errorf("request stopped: %w", context.DeadlineExceeded), exitCallFailed, []string{"--timeout 1m0s"}},
		{usageErrorf("bad address"), exitUsage, []string{"bad address"}},
	}
	for _, tc := range cases {
		err := commandFailure(context.Background(), tc.err, g, time.Minute)
		var xe *exitError
		if !errors.As(err, &xe) || xe.code != tc.code {
			t.Errorf("%v: got %v, want exit %d", tc.err, err, tc.code)
			continue
		}
		for _, m := range tc.msg {
			if !strings.Contains(xe.msg, m) {
				t.Errorf("%v: message %q lacks %q", tc.err, xe.msg, m)
			}
		}
		if strings.Contains(xe.msg, "pw-secret") {
			t.Errorf("message shows the password: %q", xe.msg)
		}
	}
	// An interrupted command keeps its plain error, so run reports 130.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	base := errors.New("request stopped: context canceled")
	if err := commandFailure(ctx, base, g, time.Minute); err != base {
		t.Errorf("interrupted: %v", err)
	}
}

// standIn is a stand-in for the gateway's transport only: it accepts any
// login (or refuses the password "bad"), answers calls with canned bodies
// chosen by Accept, and records logouts. It checks nothing about signatures
// (the client package tests those against the vectors); the end-to-end
// tests with the real server live in the server/e2e suite.
type standIn struct {
	bodies  map[string]func(w http.ResponseWriter) // by Accept
	mu      sync.Mutex
	logouts int
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var env struct {
		ID  string              `json:"id"`
		Msg []map[string]string `json:"msg"`
	}
	json.Unmarshal(body, &env)
	envelope := func(status int, members string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"type":"Resp","id":%q,"date":"Sat, 28 Nov 2026 09:30:00 GMT",%s}`, env.ID, members)
	}
	switch r.URL.Path {
	case "/connect/api/auth/login":
		if env.Msg[0]["password"] == "bad" {
			envelope(401, `"msg":[],"success":false,"error":{"code":"invalidCredentials","message":"wrong username or password"}`)
			return
		}
		envelope(200, `"msg":[{"sessionId":"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo","idleTimeout":1800,"expires":"Sat, 28 Nov 2026 21:30:00 GMT"}],"success":true`)
	case "/connect/api/auth/logout":
		s.mu.Lock()
		s.logouts++
		s.mu.Unlock()
		envelope(200, `"msg":[],"success":true`)
	case "/connect/api/meta/methods":
		envelope(200, `"msg":[{"group":"monPublic","name":"getMem","path":"/connect/api/monPublic/getMem","description":"Raw memory.","streaming":false,`+
			`"params":[{"name":"syms","type":"symbol[]","required":true,"description":"Which servers."}],"columns":[{"name":"time","type":"timestamp"}],"extra":1}],"success":true`)
	case "/connect/api/g/params":
		envelope(422, `"msg":[],"success":false,"error":{"code":"invalidParams","message":"2 problems","details":["start: not a timestamp","foo: unknown parameter"]}`)
	default:
		if f := s.bodies[r.Header.Get("Accept")]; f != nil {
			f(w)
			return
		}
		http.Error(w, "unexpected", 500)
	}
}

func (s *standIn) logoutCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logouts
}

const csvBody = "time,sym,usedMem\r\n2019-07-26T09:00:00.000000000Z,server_A,100\r\n2019-07-26T09:00:00.000000000Z,\"a,b\",\r\n"

func csvWriter(trailer string, cut bool) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/csv")
		w.Header().Set("Trailer", "Connect-Status")
		io.WriteString(w, csvBody)
		if cut {
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Connect-Status", trailer)
	}
}

func TestCallCommandAgainstStandIn(t *testing.T) {
	tableBody := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"type":"getMemResp","msg":[{"sym":"server_A","usedMem":100},{"sym":"b","usedMem":-5}],`+
			`"meta":{"columns":[{"name":"sym","type":"symbol"},{"name":"usedMem","type":"long"}],"rowCount":2,"truncated":false,"elapsedMs":1.5},"success":true}`)
	}
	arrowCut := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/vnd.apache.arrow.stream")
		w.Write([]byte("SCHEMA..BATCH..\xff\xff\xff\xff"))
	}
	cases := []struct {
		name    string
		bodies  map[string]func(w http.ResponseWriter)
		args    []string // after the address
		code    int
		stdout  string // substring
		stderr  []string
		file    string // expected content of out file; "" = must not exist
		logouts int
	}{
		{"table", map[string]func(http.ResponseWriter){client.FormatJSON: tableBody}, []string{"u", "p", "g/m"}, exitOK,
			"sym       usedMem\n--------  -------\nserver_A      100\nb              -5\nrows: 2  elapsed: 1.5 ms\n", nil, "", 1},
		{"csv to file", map[string]func(http.ResponseWriter){client.FormatCSV: csvWriter("ok", false)}, []string{"u", "p", "g/m", "--format", "csv", "-o", "OUT"}, exitOK,
			"", []string{"wrote 2 rows"}, csvBody, 1},
		{"csv error trailer", map[string]func(http.ResponseWriter){client.FormatCSV: csvWriter("error timeout ran past 10s", false)}, []string{"u", "p", "g/m", "-o", "OUT.csv"}, exitCallFailed,
			"", []string{"timeout: ran past 10s"}, "", 1},
		{"csv cut", map[string]func(http.ResponseWriter){client.FormatCSV: csvWriter("ok", true)}, []string{"u", "p", "g/m", "--format", "csv", "-o", "OUT"}, exitCallFailed,
			"", []string{"incomplete"}, "", 1},
		{"arrow without end marker", map[string]func(http.ResponseWriter){client.FormatArrow: arrowCut}, []string{"u", "p", "g/m", "-o", "OUT.arrow"}, exitCallFailed,
			"", []string{"end-of-stream marker"}, "", 1},
		{"csv to stdout", map[string]func(http.ResponseWriter){client.FormatCSV: csvWriter("ok", false)}, []string{"u", "p", "g/m", "--format", "csv"}, exitOK,
			csvBody, nil, "", 1},
		{"invalid params", nil, []string{"u", "p", "g/params"}, exitCallFailed,
			"", []string{"invalidParams: 2 problems\n  start: not a timestamp\n  foo: unknown parameter\n"}, "", 1},
		{"bad password", nil, []string{"u", "bad"}, exitAuth,
			"", []string{"authentication failed: invalidCredentials", "check the username and password"}, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			si := &standIn{bodies: tc.bodies}
			srv := httptest.NewServer(si)
			defer srv.Close()
			dir := t.TempDir()
			args := []string{"call", srv.URL}
			var outPath string
			for _, a := range tc.args {
				if strings.HasPrefix(a, "OUT") {
					outPath = filepath.Join(dir, a)
					a = outPath
				}
				args = append(args, a)
			}
			e, stdout, stderr := testEnv(nil, true)
			if code := run(context.Background(), e, args); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if tc.stdout != "" && !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr, s)
				}
			}
			if outPath != "" {
				got, err := os.ReadFile(outPath)
				switch {
				case tc.file == "" && err == nil:
					t.Errorf("%s exists after a failure", outPath)
				case tc.file != "" && string(got) != tc.file:
					t.Errorf("%s = %q (%v), want %q", outPath, got, err, tc.file)
				}
				if _, err := os.Stat(outPath + ".partial"); err == nil {
					t.Errorf("%s.partial left behind", outPath)
				}
			}
			if n := si.logoutCount(); n != tc.logouts {
				t.Errorf("%d logouts, want %d", n, tc.logouts)
			}
		})
	}
}

func TestCallCSVExportAndUnreachable(t *testing.T) {
	si := &standIn{bodies: map[string]func(http.ResponseWriter){client.FormatJSON: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"type":"r","msg":[{"s":"a,b","n":1},{"s":null,"n":null}],"meta":{"columns":[{"name":"s","type":"string"},{"name":"n","type":"long"}],"rowCount":2},"success":true}`)
	}}}
	srv := httptest.NewServer(si)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "r.csv")
	e, stdout, _ := testEnv(nil, false)
	if code := run(context.Background(), e, []string{"call", srv.URL, "u", "p", "g/m", "--csv", path}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if got, _ := os.ReadFile(path); string(got) != "s,n\r\n\"a,b\",1\r\n,\r\n" {
		t.Errorf("csv export = %q", got)
	}
	if !strings.Contains(stdout.String(), "rows: 2") {
		t.Errorf("the table was not printed along with --csv FILE: %q", stdout)
	}
	e, stdout, _ = testEnv(nil, false)
	run(context.Background(), e, []string{"call", srv.URL, "u", "p", "g/m", "--csv", "-"})
	if stdout.String() != "s,n\r\n\"a,b\",1\r\n,\r\n" {
		t.Errorf("--csv - printed %q, want only the CSV", stdout)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e, _, stderr := testEnv(map[string]string{envGatewayAddr: addr}, false)
	if code := run(context.Background(), e, []string{"call"}); code != exitUnreachable || !strings.Contains(stderr.String(), "qconnect serve") {
		t.Errorf("unreachable: exit %d, stderr %q", code, stderr)
	}

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(404)
		io.WriteString(w, "<html>not found</html>")
	}))
	defer html.Close()
	e, _, stderr = testEnv(nil, false)
	if code := run(context.Background(), e, []string{"call", html.URL}); code != exitUnreachable || !strings.Contains(stderr.String(), "does not look like a qconnect gateway") {
		t.Errorf("html: exit %d, stderr %q", code, stderr)
	}
}
