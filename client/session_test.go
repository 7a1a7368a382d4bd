package client

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// reply writes a response envelope echoing the request's type and id.
func reply(w http.ResponseWriter, req *protocol.Request, status int, members string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	id, _ := json.Marshal(req.ID)
	w.Write([]byte(`{"type":"` + protocol.ResponseType(req.Type) + `","id":` + string(id) +
		`,"date":"Sat, 28 Nov 2026 09:30:00 GMT",` + members + `}`))
}

const okEmpty = `"msg":[],"meta":{"columns":[],"rowCount":0,"truncated":false,"elapsedMs":0.1},"success":true`

// TestSessionRequestsMatchVectors drives the Session with the clock and id
// of the signing vectors whose bodies it produces (call without
// parameters, logout, call with an empty parameter object, WebSocket
// AuthReq), and checks the exact bytes and Authorization received.
func TestSessionRequestsMatchVectors(t *testing.T) {
	vs := map[string]vector{}
	for _, v := range loadVectors(t) {
		vs[v.Name] = v
	}
	cases := []struct {
		vector string
		do     func(s *Session) error
	}{
		{"method call without parameters", func(s *Session) error {
			_, err := s.Call(ctxT(t), "marketData/listSyms", nil)
			return err
		}},
		{"logout", func(s *Session) error { return s.Logout(ctxT(t)) }},
		{"username containing a colon", func(s *Session) error {
			_, err := s.Call(ctxT(t), "monPublic/getMem", map[string]any{})
			return err
		}},
	}
	for _, tc := range cases {
		v, ok := vs[tc.vector]
		if !ok {
			t.Fatalf("vector %q missing from signing.json", tc.vector)
		}
		t.Run(tc.vector, func(t *testing.T) {
			fake, srv := newFake(t, v.SessionID, func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
				reply(w, req, 200, okEmpty)
			})
			date, err := protocol.ParseDate(v.Date)
			if err != nil {
				t.Fatal(err)
			}
			id := v.Body[strings.Index(v.Body, `"id":"`)+6:]
			id = id[:strings.IndexByte(id, '"')]
			s := login(t, srv, v.Username, WithClock(func() time.Time { return date }), WithIDs(func() string { return id }))
			if err := tc.do(s); err != nil {
				t.Fatal(err)
			}
			reqs := fake.requests()
			got := reqs[len(reqs)-1]
			if got.path != v.Path || string(got.body) != v.Body || got.authorization != v.Authorization || got.contentType != v.ContentType {
				t.Errorf("sent %s %q\n  body %s\n  Authorization %q\nwant %s %q\n  body %s\n  Authorization %q",
					got.path, got.contentType, got.body, got.authorization, v.Path, v.ContentType, v.Body, v.Authorization)
			}
		})
	}
	v := vs["WebSocket AuthReq"]
	_, srv := newFake(t, v.SessionID, nil)
	s := login(t, srv, v.Username)
	if got := s.WebSocketAuthorization(v.Date); got != v.Authorization {
		t.Errorf("WebSocketAuthorization = %q, want %q", got, v.Authorization)
	}
}

func TestRequestsHaveFreshIDsAndCurrentDates(t *testing.T) {
	fake, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		reply(w, req, 200, okEmpty)
	})
	s := login(t, srv, "alice")
	for i := 0; i < 3; i++ {
		if _, err := s.Call(ctxT(t), "g/m", nil); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, r := range fake.requests() {
		if !uuidV4.MatchString(r.req.ID) {
			t.Errorf("id %q is not a UUID v4", r.req.ID)
		}
		if seen[r.req.ID] {
			t.Errorf("id %q used twice", r.req.ID)
		}
		seen[r.req.ID] = true
		d, _ := protocol.ParseDate(r.req.Date)
		if time.Since(d).Abs() > time.Minute {
			t.Errorf("date %q is not the current time", r.req.Date)
		}
		if r.accept != FormatJSON {
			t.Errorf("Accept = %q, want %q", r.accept, FormatJSON)
		}
	}
	if len(seen) != 4 {
		t.Errorf("saw %d requests, want login + 3 calls", len(seen))
	}
}

func TestCallDecodesEveryColumnType(t *testing.T) {
	// meta after msg, as on the wire; the third row lists its keys in
	// another order and the second holds nulls.
	const body = `"msg":[` +
		`{"b":true,"l":-42,"i":7,"f":1.5,"r":null,"s":"a,\"b\"","y":"server_A","c":"x","ts":"2019-07-26T15:59:00.123456789Z","d":"2019-07-26","t":"09:30:00.250","sp":"1D02:03:04.500000000","g":"e133598e-7b9e-429a-b3e5-bda881c47024"},` +
		`{"b":null,"l":null,"i":null,"f":null,"r":null,"s":null,"y":null,"c":null,"ts":null,"d":null,"t":null,"sp":null,"g":null},` +
		`{"g":null,"sp":"-0D00:00:01.000000000","t":null,"d":null,"ts":null,"c":null,"y":"server_B","s":"","r":2.25,"f":null,"i":null,"l":9007199254740993,"b":false}` +
		`],"meta":{"columns":[{"name":"b","type":"boolean"},{"name":"l","type":"long"},{"name":"i","type":"int"},{"name":"f","type":"float"},{"name":"r","type":"real"},{"name":"s","type":"string"},{"name":"y","type":"symbol"},{"name":"c","type":"char"},{"name":"ts","type":"timestamp"},{"name":"d","type":"date"},{"name":"t","type":"time"},{"name":"sp","type":"timespan"},{"name":"g","type":"guid"}],` +
		`"rowCount":3,"truncated":true,"elapsedMs":3.25},"success":true`
	fake, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		reply(w, req, 200, body)
	})
	s := login(t, srv, "alice")
	res, err := s.Call(ctxT(t), "monPublic/getMem", map[string]any{
		"start": time.Date(2019, 7, 26, 9, 0, 0, 500, time.UTC),
		"span":  90 * time.Second,
		"syms":  []any{"server_A"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The parameters went out in their 4.2 JSON forms.
	reqs := fake.requests()
	var sent []map[string]any
	raw, _ := json.Marshal(reqs[len(reqs)-1].req.Msg)
	json.Unmarshal(raw, &sent)
	if sent[0]["start"] != "2019-07-26T09:00:00.0000005Z" || sent[0]["span"] != "1m30s" {
		t.Errorf("params sent as %v", sent)
	}
	if reqs[len(reqs)-1].req.Type != "getMemReq" {
		t.Errorf("type = %q, want getMemReq", reqs[len(reqs)-1].req.Type)
	}

	if len(res.Columns) != 13 || res.RowCount != 3 || !res.Truncated || res.ElapsedMs != 3.25 || len(res.Rows) != 3 {
		t.Fatalf("result meta = %d cols, rowCount %d, truncated %v, elapsed %v, %d rows", len(res.Columns), res.RowCount, res.Truncated, res.ElapsedMs, len(res.Rows))
	}
	ts := time.Date(2019, 7, 26, 15, 59, 0, 123456789, time.UTC)
	want0 := []any{true, int64(-42), int64(7), 1.5, nil, `a,"b"`, "server_A", "x", ts,
		time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC), 9*time.Hour + 30*time.Minute + 250*time.Millisecond,
		26*time.Hour + 3*time.Minute + 4*time.Second + 500*time.Millisecond,
		[16]byte{0xe1, 0x33, 0x59, 0x8e, 0x7b, 0x9e, 0x42, 0x9a, 0xb3, 0xe5, 0xbd, 0xa8, 0x81, 0xc4, 0x70, 0x24}}
	for i, w := range want0 {
		got := res.Rows[0][i]
		if gt, ok := got.(time.Time); ok {
			if !gt.Equal(w.(time.Time)) {
				t.Errorf("row 0 %s = %v, want %v", res.Columns[i].Name, got, w)
			}
			continue
		}
		if got != w {
			t.Errorf("row 0 %s = %#v (%T), want %#v (%T)", res.Columns[i].Name, got, got, w, w)
		}
	}
	for i, v := range res.Rows[1] {
		if v != nil {
			t.Errorf("row 1 %s = %#v, want nil", res.Columns[i].Name, v)
		}
	}
	r2 := res.Rows[2]
	if r2[0] != false || r2[1] != int64(9007199254740993) || r2[4] != 2.25 || r2[5] != "" || r2[6] != "server_B" || r2[11] != -time.Second || r2[12] != nil {
		t.Errorf("row 2 (keys in another order) = %#v", r2)
	}
}

func TestCallFailures(t *testing.T) {
	cases := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request, req *protocol.Request)
		check  func(t *testing.T, err error)
	}{
		{"error after rows", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			reply(w, req, 200, `"msg":[{"x":1},{"x":2}],"meta":{"columns":[{"name":"x","type":"long"}],"rowCount":2},"success":false,"error":{"code":"analyticError","message":"backend went away"}`)
		}, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.Code != qconnect.CodeAnalyticError || e.Status != 200 || e.Message != "backend went away" {
				t.Errorf("err = %#v, want analyticError with status 200", err)
			}
		}},
		{"forbidden", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			reply(w, req, 403, `"msg":[],"success":false,"error":{"code":"forbidden","message":"not entitled"}`)
		}, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.Code != qconnect.CodeForbidden || e.Status != 403 ||
				!strings.Contains(err.Error(), "ask an administrator for access to g/m") {
				t.Errorf("err = %v", err)
			}
		}},
		{"invalid params with details", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			reply(w, req, 422, `"msg":[],"success":false,"error":{"code":"invalidParams","message":"2 problems","details":["start: not a timestamp","foo: unknown parameter"]}`)
		}, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || len(e.Details) != 2 || !strings.Contains(err.Error(), "foo: unknown parameter") {
				t.Errorf("err = %v", err)
			}
		}},
		{"busy with Retry-After", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			w.Header().Set("Retry-After", "7")
			reply(w, req, 503, `"msg":[],"success":false,"error":{"code":"busy","message":"at capacity"}`)
		}, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.RetryAfter != 7*time.Second || !strings.Contains(err.Error(), "retry after 7s") {
				t.Errorf("err = %v", err)
			}
		}},
		{"cut body", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"type":"mResp","msg":[{"x":1},{"x":`))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrIncomplete) {
				t.Errorf("err = %v, want ErrIncomplete", err)
			}
		}},
		{"html error page", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(404)
			w.Write([]byte("<html><body>Not Found</body></html>"))
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotGateway) || !strings.Contains(err.Error(), "does not look like a qconnect gateway") {
				t.Errorf("err = %v, want ErrNotGateway", err)
			}
		}},
		{"html with 200", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>hello</html>"))
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotGateway) {
				t.Errorf("err = %v, want ErrNotGateway", err)
			}
		}},
		{"json that is not an envelope", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"ok"}`))
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotGateway) {
				t.Errorf("err = %v, want ErrNotGateway", err)
			}
		}},
		{"column not in meta", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			reply(w, req, 200, `"msg":[{"x":1,"y":2}],"meta":{"columns":[{"name":"x","type":"long"}]},"success":true`)
		}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), `"y"`) {
				t.Errorf("err = %v, want a complaint about column y", err)
			}
		}},
		{"wrong id echoed", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
			req.ID = "another"
			reply(w, req, 200, okEmpty)
		}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "another") {
				t.Errorf("err = %v, want an id mismatch", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", tc.handle)
			s := login(t, srv, "alice")
			res, err := s.Call(ctxT(t), "g/m", nil)
			if res != nil {
				t.Errorf("got a result %+v along with err %v", res, err)
			}
			tc.check(t, err)
		})
	}
}

func TestCallResultTooLarge(t *testing.T) {
	_, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		reply(w, req, 200, `"msg":[`+strings.Repeat(`{"x":1},`, 100)+`{"x":1}],"meta":{"columns":[{"name":"x","type":"long"}]},"success":true`)
	})
	s := login(t, srv, "alice", WithMaxResultBytes(300))
	_, err := s.Call(ctxT(t), "g/m", nil)
	if err == nil || !strings.Contains(err.Error(), "Session.Stream") {
		t.Errorf("err = %v, want a too-large error that suggests Stream", err)
	}
}

func TestLoginFailures(t *testing.T) {
	_, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", nil)
	c, _ := New(srv.URL)
	_, err := c.Login(ctxT(t), "alice", "bad-s3cret")
	var e *Error
	if !errors.As(err, &e) || e.Code != qconnect.CodeInvalidCredentials || e.Status != 401 || !e.IsAuth() ||
		!strings.Contains(err.Error(), "check the username and password") {
		t.Errorf("err = %v, want invalidCredentials with a hint", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error text shows the password: %v", err)
	}

	// A closed port: nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ = New(addr)
	_, err = c.Login(ctxT(t), "alice", "x")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %v, want ErrUnreachable naming %s", err, addr)
	}

	// The session id of a login response is required.
	bad := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, 200, `"msg":[{"username":"alice"}],"success":true`)
	})
	srv2 := httptest.NewServer(bad)
	defer srv2.Close()
	c, _ = New(srv2.URL)
	if _, err := c.Login(ctxT(t), "alice", "x"); !errors.Is(err, ErrNotGateway) {
		t.Errorf("err = %v, want ErrNotGateway for a login without sessionId", err)
	}
}

func TestNewAddresses(t *testing.T) {
	for addr, want := range map[string]string{
		"localhost:8080":         "http://localhost:8080",
		"http://h:1":             "http://h:1",
		"https://gw.example:443": "https://gw.example:443",
		"http://h:1/":            "http://h:1",
	} {
		c, err := New(addr)
		if err != nil || c.Addr() != want {
			t.Errorf("New(%q) = %v, %v; want %s", addr, c, err, want)
		}
	}
	for _, addr := range []string{"", "ftp://h:1", "http://h:1/connect", "http://u:p@h:1", "http://h:1?x=1"} {
		if _, err := New(addr); err == nil {
			t.Errorf("New(%q) succeeded, want an error", addr)
		}
	}
}

func TestCallRejectsBadMethodNames(t *testing.T) {
	_, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", nil)
	s := login(t, srv, "alice")
	for _, m := range []string{"getMem", "a/b/c", "meta/methods", "auth/login", "g/bad-name", "/m"} {
		if _, err := s.Call(ctxT(t), m, nil); err == nil {
			t.Errorf("Call(%q) succeeded", m)
		}
	}
}

func TestMethodsAndPing(t *testing.T) {
	const list = `"msg":[{"group":"monPublic","name":"getMem","path":"/connect/api/monPublic/getMem","description":"Raw memory","streaming":false,` +
		`"params":[{"name":"syms","type":"symbol[]","required":false,"default":["server_A"],"description":"which","enum":["server_A","server_B"],"maxLen":100},` +
		`{"name":"bucket","type":"long","required":false,"default":5,"min":1,"description":"size"}],` +
		`"columns":[{"name":"time","type":"timestamp"}],"future":"kept in Raw"}],"success":true`
	fake, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		switch r.URL.Path {
		case "/connect/api/meta/methods":
			reply(w, req, 200, list)
		case "/connect/api/auth/ping":
			reply(w, req, 200, `"msg":[{"idleTimeout":600,"expires":"Sat, 28 Nov 2026 21:30:00 GMT"}],"success":true`)
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
	})
	s := login(t, srv, "alice")
	if s.IdleTimeout != 30*time.Minute || !s.Expires.Equal(time.Date(2026, 11, 28, 21, 30, 0, 0, time.UTC)) {
		t.Errorf("session idle %v expires %v", s.IdleTimeout, s.Expires)
	}
	ms, err := s.Methods(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].FullName() != "monPublic/getMem" || len(ms[0].Params) != 2 || ms[0].Columns[0].Type != qconnect.Timestamp {
		t.Fatalf("methods = %+v", ms)
	}
	p := ms[0].Params
	if p[0].Type != "symbol[]" || p[0].MaxLen != 100 || len(p[0].Enum) != 2 || p[1].Default != json.Number("5") || *p[1].Min != 1 {
		t.Errorf("params = %+v", p)
	}
	if !strings.Contains(string(ms[0].Raw), `"future":"kept in Raw"`) {
		t.Errorf("Raw = %s", ms[0].Raw)
	}
	info, err := s.Ping(ctxT(t))
	if err != nil || info.IdleTimeout != 10*time.Minute || info.Expires.IsZero() {
		t.Errorf("ping = %+v, %v", info, err)
	}
	types := []string{}
	for _, r := range fake.requests() {
		types = append(types, r.req.Type)
	}
	if strings.Join(types, ",") != "LoginReq,MethodsReq,PingReq" {
		t.Errorf("request types = %v", types)
	}
}

func TestSessionConcurrentCalls(t *testing.T) {
	fake, srv := newFake(t, "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		reply(w, req, 200, `"msg":[{"x":1}],"meta":{"columns":[{"name":"x","type":"long"}],"rowCount":1},"success":true`)
	})
	s := login(t, srv, "alice")
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			res, err := s.Call(ctxT(t), "g/m", map[string]any{"a": 1})
			if err == nil && res.Rows[0][0] != int64(1) {
				err = errors.New("wrong row")
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(fake.requests()); n != 17 {
		t.Errorf("%d requests, want 17", n)
	}
}
