package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect/protocol"
)

// fakeGateway is a minimal stand-in for the Connect login and signed-call
// endpoints. It exists only to check the shape of the requests this SDK
// sends (envelope, headers, signature) and to serve canned responses; the
// real server end-to-end test of the SDK lives in the server/e2e suite.
type fakeGateway struct {
	t         *testing.T
	sessionID string
	// handle answers a signed request whose signature verified.
	handle func(w http.ResponseWriter, r *http.Request, req *protocol.Request)

	mu   sync.Mutex
	seen []seenRequest
}

// seenRequest is one request as received.
type seenRequest struct {
	path, contentType, accept, authorization string
	body                                     []byte
	req                                      *protocol.Request
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func newFake(t *testing.T, sessionID string, handle func(w http.ResponseWriter, r *http.Request, req *protocol.Request)) (*fakeGateway, *httptest.Server) {
	t.Helper()
	f := &fakeGateway{t: t, sessionID: sessionID, handle: handle}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGateway) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake: read body: %v", err)
		return
	}
	req, perr := protocol.ParseRequest(body)
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
		accept: r.Header.Get("Accept"), authorization: r.Header.Get("Authorization"), body: body, req: req})
	f.mu.Unlock()
	if r.Method != http.MethodPost {
		f.t.Errorf("fake: %s %s: want POST", r.Method, r.URL.Path)
	}
	if perr != nil {
		f.t.Errorf("fake: %s: the SDK sent an invalid envelope: %v\n%s", r.URL.Path, perr, body)
		writeEnvelope(w, http.StatusBadRequest, `"msg":[],"success":false,"error":{"code":"badRequest","message":"bad"}`)
		return
	}
	if _, err := protocol.ParseDate(req.Date); err != nil {
		f.t.Errorf("fake: date %q: %v", req.Date, err)
	}
	if r.URL.Path == "/connect/api/auth/login" {
		if a := r.Header.Get("Authorization"); a != "" {
			f.t.Errorf("fake: login carries Authorization %q; it must not", a)
		}
		var m []map[string]string
		raw, _ := json.Marshal(req.Msg)
		if req.Type != "LoginReq" || json.Unmarshal(raw, &m) != nil || len(m) != 1 || m[0]["username"] == "" {
			f.t.Errorf("fake: login envelope has the wrong shape: %s", body)
		}
		if strings.HasPrefix(m[0]["password"], "bad-") {
			writeEnvelope(w, http.StatusUnauthorized, `"msg":[],"success":false,"error":{"code":"invalidCredentials","message":"wrong username or password"}`)
			return
		}
		writeEnvelope(w, http.StatusOK, `"msg":[{"sessionId":"`+f.sessionID+`","username":"`+m[0]["username"]+
			`","idleTimeout":1800,"expires":"Sat, 28 Nov 2026 21:30:00 GMT"}],"success":true`)
		return
	}
	cred, err := protocol.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		f.t.Errorf("fake: %s: Authorization %q: %v", r.URL.Path, r.Header.Get("Authorization"), err)
		return
	}
	in := protocol.SignInput{Verb: r.Method, Path: r.URL.EscapedPath(), Username: cred.Username,
		BodyMD5: protocol.BodyMD5(body), ContentType: r.Header.Get("Content-Type"), Date: req.Date}
	if cred.Suffix != protocol.Suffix(f.sessionID) || !protocol.Verify(in, f.sessionID, cred.Signature) {
		writeEnvelope(w, http.StatusUnauthorized, `"msg":[],"success":false,"error":{"code":"invalidSignature","message":"the signature does not match"}`)
		return
	}
	f.handle(w, r, req)
}

// writeEnvelope writes a JSON envelope with the given members after type,
// id and date.
func writeEnvelope(w http.ResponseWriter, status int, members string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, `{"type":"Resp","id":null,"date":"Sat, 28 Nov 2026 09:30:00 GMT",`+members+`}`)
}

// login logs in to a fake gateway with the given options.
func login(t *testing.T, srv *httptest.Server, user string, opts ...Option) *Session {
	t.Helper()
	c, err := New(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Login(ctx, user, "12345678")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
