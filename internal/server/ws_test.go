package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/protocol"
)

// The end-to-end suite (e2e/ws_test.go) drives the WebSocket of the real
// binary with the real DuckDB engine. These in-process tests exist to run
// the socket's goroutines (reader, writer, pinger, hub delivery, calls)
// under the race detector, which the binary is not built with. memTable is
// a fake backend for that reason only: it stores appended rows and answers
// every query (the snapshot) with them, without SQL.
type memTable struct {
	mu   sync.Mutex
	rows [][]any
}

func (b *memTable) Append(ctx context.Context, table string, cols []qconnect.Column, rows [][]any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range rows {
		if r[1] == "FAIL" {
			return qconnect.Errorf(qconnect.CodeAnalyticError, "append failed")
		}
	}
	b.rows = append(b.rows, rows...)
	return nil
}

func (b *memTable) Query(ctx context.Context, call qconnect.Call) (qconnect.Rows, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &memRows{cols: call.Method.Columns, rows: append([][]any(nil), b.rows...)}, nil
}

type memRows struct {
	cols []qconnect.Column
	rows [][]any
	done bool
}

func (r *memRows) Columns() []qconnect.Column { return r.cols }
func (r *memRows) Next(context.Context) (*qconnect.Batch, error) {
	if r.done || len(r.rows) == 0 {
		return nil, io.EOF
	}
	r.done = true
	return qconnect.BatchOf(r.cols, r.rows)
}
func (r *memRows) Close() error { return nil }

var tickCols = []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol}, {Name: "price", Type: qconnect.Float}}

func wsTestServer(t *testing.T, cfg Config) (*httptest.Server, *Server, *auth.Sessions) {
	t.Helper()
	return wsTestServerWith(t, cfg, &memTable{})
}

// wsTestServerWith is wsTestServer with backend b.
func wsTestServerWith(t *testing.T, cfg Config, b qconnect.Backend, obs ...Observer) (*httptest.Server, *Server, *auth.Sessions) {
	t.Helper()
	hash, err := auth.HashPassword("password1", 4)
	if err != nil {
		t.Fatal(err)
	}
	users := "users:\n  alice:\n    password: \"" + hash + "\"\n    groups: [g]\n  bob:\n    password: \"" + hash + "\"\n    groups: [r]\n" +
		"groups:\n  g:\n    allow: [\"*\"]\n    write: [\"*\"]\n  r:\n    allow: [\"t/sub\"]\n"
	dir, err := auth.ParseUsers([]byte(users), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sub := &qconnect.Method{Group: "t", Name: "sub", Streaming: true, Columns: tickCols,
		Params: []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}},
		Stream: &qconnect.StreamSpec{Table: "ticks", Key: "sym", Filters: map[string]string{"syms": "sym"}, Snapshot: "snapshot"}}
	pub := &qconnect.Method{Group: "t", Name: "pub", Publish: true, Columns: tickCols, Stream: &qconnect.StreamSpec{Table: "ticks"}}
	cat, err := qconnect.NewCatalog([]*qconnect.Method{sub, pub})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sessions := auth.NewSessions(auth.NewMemoryStore(), auth.SessionConfig{})
	s := New(cfg, Deps{Catalog: cat, Backends: map[string]qconnect.Backend{qconnect.DefaultBackend: b},
		Users: auth.NewStaticUserDB(dir), Sessions: sessions, Observers: obs})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, s, sessions
}

type wsClient struct {
	t  *testing.T
	c  *websocket.Conn
	id int
}

func dialWS(t *testing.T, ts *httptest.Server) *wsClient { return dialWSBuf(t, ts, 0) }

// dialWSBuf dials with a TCP receive buffer of rcvBuf bytes (0: the
// system's, which grows as the client reads).
func dialWSBuf(t *testing.T, ts *httptest.Server, rcvBuf int) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var opts *websocket.DialOptions
	if rcvBuf > 0 {
		dialer := &net.Dialer{}
		opts = &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dialer.DialContext(ctx, network, addr)
				if err == nil {
					err = c.(*net.TCPConn).SetReadBuffer(rcvBuf)
				}
				return c, err
			}}}}
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/connect/ws", opts)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(4 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(typ string, msg any) string {
	w.t.Helper()
	w.id++
	id := fmt.Sprintf("%s-%d", typ, w.id)
	b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "date": protocol.FormatDate(time.Now()), "msg": msg})
	if err := w.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
	return id
}

type frame struct {
	Type           string            `json:"type"`
	ID             string            `json:"id"`
	SubscriptionID string            `json:"subscriptionId"`
	Seq            uint64            `json:"seq"`
	Reset          bool              `json:"reset"`
	Msg            []json.RawMessage `json:"msg"`
	Success        bool              `json:"success"`
	Error          *protocol.WireError
	Meta           *struct {
		RowCount int64 `json:"rowCount"`
	} `json:"meta"`
}

func (w *wsClient) read() (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := w.c.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		w.t.Fatalf("frame is not JSON: %s", data)
	}
	return f, nil
}

// expect reads frames until one of type typ arrives, failing on any other
// response.
func (w *wsClient) expect(typ string) frame {
	w.t.Helper()
	f, err := w.read()
	if err != nil {
		w.t.Fatalf("waiting for %s: %v", typ, err)
	}
	if f.Type != typ {
		w.t.Fatalf("got %+v, want a %s", f, typ)
	}
	return f
}

// login sends LoginReq and returns the session id.
func (w *wsClient) login(user string) string {
	w.t.Helper()
	w.send("LoginReq", []any{map[string]string{"username": user, "password": "password1"}})
	f := w.expect("LoginResp")
	var m struct {
		SessionID string `json:"sessionId"`
	}
	if !f.Success || json.Unmarshal(f.Msg[0], &m) != nil || m.SessionID == "" {
		w.t.Fatalf("login: %+v %s", f.Error, f.Msg)
	}
	return m.SessionID
}

func row(sym string, price float64) map[string]any {
	return map[string]any{"time": "2024-05-01T10:00:00Z", "sym": sym, "price": price}
}

func TestWSSubscribePublishRace(t *testing.T) {
	ts, s, _ := wsTestServer(t, Config{})
	pub := dialWS(t, ts)
	pub.login("alice")
	pub.send("ExecuteReq", []any{map[string]any{"method": "t/pub", "params": map[string]any{"rows": []any{row("A", 1)}}}})
	if f := pub.expect("ExecuteResp"); !f.Success || string(f.Msg[0]) != `{"rows":1}` {
		t.Fatalf("publish: %+v %s", f, f.Msg)
	}

	const subscribers, publishes = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, subscribers)
	ready := make(chan struct{}, subscribers)
	for i := range subscribers {
		sub := dialWS(t, ts)
		sub.login("alice")
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub.send("SubscribeReq", []any{map[string]any{"method": "t/sub", "params": map[string]any{"syms": []string{"A", "B"}}}})
			f, _ := sub.read()
			if f.Type != "SubscribeResp" || !f.Success {
				errs <- fmt.Errorf("subscriber %d: %+v", i, f)
				return
			}
			if f, _ := sub.read(); f.Type != "SnapshotMsg" || len(f.Msg) < 1 {
				errs <- fmt.Errorf("subscriber %d: want a snapshot with the first row, got %+v", i, f)
				return
			}
			ready <- struct{}{}
			rows := 0
			for want := uint64(1); rows < publishes; want++ {
				f, err := sub.read()
				if err != nil || f.Type != "UpdateMsg" || f.Seq != want {
					errs <- fmt.Errorf("subscriber %d: update %d: %+v %v", i, want, f, err)
					return
				}
				rows += len(f.Msg)
			}
		}()
	}
	for range subscribers {
		<-ready
	}
	if st := s.StreamStats(); st.Upstreams != 1 || st.Subscriptions != subscribers {
		t.Fatalf("identical subscriptions of one user: %+v, want one upstream", st)
	}
	for i := range publishes {
		sym := "A"
		if i%2 == 1 {
			sym = "C" // filtered out
		}
		pub.send("ExecuteReq", []any{map[string]any{"method": "t/pub", "params": map[string]any{"rows": []any{row(sym, float64(i)), row("B", float64(i))}}}})
		pub.expect("ExecuteResp")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestWSErrorsAndLimits(t *testing.T) {
	ts, _, _ := wsTestServer(t, Config{WSMaxSubscriptions: 2})
	c := dialWS(t, ts)
	c.login("bob")
	cases := []struct {
		typ  string
		msg  any
		code qconnect.Code
	}{
		{"ExecuteReq", []any{map[string]any{"method": "t/pub", "params": map[string]any{"rows": []any{}}}}, qconnect.CodeForbidden},
		{"SubscribeReq", []any{map[string]any{"method": "t/nope"}}, qconnect.CodeUnknownMethod},
		{"SubscribeReq", []any{map[string]any{"method": "t/sub", "params": map[string]any{"syms": 5}}}, qconnect.CodeInvalidParams},
		{"ExecuteReq", []any{map[string]any{"method": "t/sub"}}, qconnect.CodeUnknownMethod}, // streaming: subscribe
		{"UnsubscribeReq", []any{map[string]any{"subscriptionId": "nope"}}, qconnect.CodeInvalidParams},
		{"FooReq", []any{}, qconnect.CodeBadRequest},
		{"SubscribeReq", []any{}, qconnect.CodeBadRequest},
	}
	for _, tc := range cases {
		id := c.send(tc.typ, tc.msg)
		f := c.expect(protocol.ResponseType(tc.typ))
		if f.Success || f.Error == nil || f.Error.Code != tc.code || f.ID != id {
			t.Errorf("%s %v: got %+v %+v, want %s", tc.typ, tc.msg, f, f.Error, tc.code)
		}
	}
	for range 2 {
		c.send("SubscribeReq", []any{map[string]any{"method": "t/sub"}})
		if f := c.expect("SubscribeResp"); !f.Success {
			t.Fatalf("SubscribeResp: %+v", f.Error)
		}
		c.expect("SnapshotMsg")
	}
	c.send("SubscribeReq", []any{map[string]any{"method": "t/sub"}})
	if f := c.expect("SubscribeResp"); f.Error == nil || f.Error.Code != qconnect.CodeBusy {
		t.Fatalf("a subscription past the limit: %+v", f)
	}
	c.send("PingReq", []any{})
	if f := c.expect("PingResp"); !f.Success {
		t.Fatalf("ping: %+v", f.Error)
	}
}

func closeCode(t *testing.T, c *wsClient) websocket.StatusCode {
	t.Helper()
	for {
		_, err := c.read()
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestWSFirstFrameTimeoutAndSessionEnd(t *testing.T) {
	ts, _, sessions := wsTestServer(t, Config{WSFirstFrameTimeout: 200 * time.Millisecond})
	idle := dialWS(t, ts)
	if code := closeCode(t, idle); code != closeUnauthorized {
		t.Fatalf("no first frame: close %d, want 4401", code)
	}
	wrong := dialWS(t, ts)
	wrong.send("PingReq", []any{})
	if f := wrong.expect("PingResp"); f.Error == nil {
		t.Fatal("a PingReq before authentication succeeded")
	}
	if code := closeCode(t, wrong); code != closeUnauthorized {
		t.Fatalf("PingReq first: close %d, want 4401", code)
	}

	// A session ended elsewhere (REST logout, expiry) closes its sockets.
	c := dialWS(t, ts)
	sid := c.login("alice")
	if err := sessions.End(context.Background(), sid); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, c); code != closeUnauthorized {
		t.Fatalf("session ended: close %d, want 4401", code)
	}

	d := dialWS(t, ts)
	d.login("alice")
	d.send("LogoutReq", []any{})
	d.expect("LogoutResp")
	if code := closeCode(t, d); code != websocket.StatusNormalClosure {
		t.Fatalf("LogoutReq: close %d, want 1000", code)
	}
}

// TestWSSlowConsumer: a subscriber that stops reading is ended with
// SubscriptionEndMsg slowConsumer and close 4008 once its queue overflows,
// while a subscriber of the same upstream keeps receiving every update.
func TestWSSlowConsumer(t *testing.T) {
	ts, s, _ := wsTestServer(t, Config{WSMaxFrameBytes: 64 << 10, WSQueueBytes: 128 << 10, WSPingInterval: 100 * time.Millisecond})
	pub, fast, slow := dialWS(t, ts), dialWS(t, ts), dialWSBuf(t, ts, 32<<10)
	for _, c := range []*wsClient{pub, fast, slow} {
		c.login("alice")
	}
	for _, c := range []*wsClient{fast, slow} {
		c.send("SubscribeReq", []any{map[string]any{"method": "t/sub"}})
		c.expect("SubscribeResp")
		c.expect("SnapshotMsg")
	}
	// Long symbols make bytes cheaply (the race detector slows per-token
	// JSON work, not long strings).
	batch := make([]any, 50)
	for i := range batch {
		batch[i] = row(strings.Repeat("S", 1000), float64(i))
	}
	// 5,000 rows, about 5.3 MB of updates: more than the queue (128 KiB),
	// the slow client's receive buffer (32 KiB) and the server's send buffer
	// (at most 4 MiB: net.ipv4.tcp_wmem).
	//
	// The publisher waits for the fast subscriber to have read each batch
	// before it publishes the next, so the fast one's queue never holds more
	// than one batch however the scheduler runs it (it used to be cut under
	// CPU load), while the slow one, which reads nothing, must overflow.
	const publishes = 100
	fastDone := make(chan error, 1)
	fastRows := make(chan int, publishes*len(batch))
	go func() {
		rows := 0
		for want := uint64(1); rows < publishes*len(batch); want++ {
			f, err := fast.read()
			if err != nil || f.Type != "UpdateMsg" || f.Seq != want {
				fastDone <- fmt.Errorf("fast subscriber, update %d: %+v %v", want, f, err)
				return
			}
			rows += len(f.Msg)
			fastRows <- rows
		}
		fastDone <- nil
	}()
	for i := range publishes {
		pub.send("ExecuteReq", []any{map[string]any{"method": "t/pub", "params": map[string]any{"rows": batch}}})
		if f := pub.expect("ExecuteResp"); !f.Success {
			t.Fatalf("publish: %+v", f.Error)
		}
		for got := 0; got < (i+1)*len(batch); {
			select {
			case got = <-fastRows:
			case err := <-fastDone:
				if err != nil {
					t.Fatalf("after publish %d: %v", i+1, err)
				}
				fastDone <- nil // it read every row; keep the result for below
				got = publishes * len(batch)
			}
		}
	}
	if err := <-fastDone; err != nil {
		t.Fatal(err)
	}
	// Now the slow one reads: updates with contiguous seq, the end message,
	// then close 4008.
	var want uint64 = 1
	for {
		f, err := slow.read()
		if err != nil {
			if code := websocket.CloseStatus(err); code != closeSlowConsumer {
				t.Fatalf("slow subscriber closed with %d (%v), want 4008", code, err)
			}
			break
		}
		switch f.Type {
		case "UpdateMsg":
			if f.Seq != want {
				t.Fatalf("slow subscriber: seq %d, want %d", f.Seq, want)
			}
			want++
		case "SubscriptionEndMsg":
			if f.Error == nil || f.Error.Code != qconnect.CodeSlowConsumer {
				t.Fatalf("end message %+v", f)
			}
			want = 0 // nothing but the close may follow
		default:
			t.Fatalf("slow subscriber got %+v", f)
		}
	}
	if want != 0 {
		t.Fatal("the slow subscriber was closed without a SubscriptionEndMsg")
	}
	if st := s.StreamStats(); st.Subscriptions != 1 {
		t.Fatalf("stats %+v: the slow subscription was not dropped", st)
	}
}

// TestWSDeadPeerClosed: a client that answers no ping (it does not read, so
// its library sends no pong) is closed after WSPongTimeout, and the socket's
// resources are released.
func TestWSDeadPeerClosed(t *testing.T) {
	ts, s, _ := wsTestServer(t, Config{WSPingInterval: 100 * time.Millisecond, WSPongTimeout: 300 * time.Millisecond})
	c := dialWS(t, ts)
	c.login("alice")
	c.send("SubscribeReq", []any{map[string]any{"method": "t/sub"}})
	// Not reading: pings go unanswered, until the server closes the socket.
	open := func() int {
		s.ws.mu.Lock()
		defer s.ws.mu.Unlock()
		return len(s.ws.conns)
	}
	// The pong timeout is 300 ms; the deadline only bounds a loaded
	// machine's scheduling (the race detector, other packages' tests).
	deadline := time.Now().Add(20 * time.Second)
	for open() != 0 || s.StreamStats().Subscriptions != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the dead socket is still open: %d sockets, %+v", open(), s.StreamStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		if _, err := c.read(); err != nil {
			return // closed
		}
	}
}

// TestWSSocketCaps: past WSMaxPerSession sockets on one session, or
// WSMaxPerUser for one user, a new socket's first frame is answered busy
// and the socket is closed with 4429; a closed socket frees its place.
func TestWSSocketCaps(t *testing.T) {
	t.Parallel()
	ts, _, sessions := wsTestServer(t, Config{WSMaxPerSession: 2, WSMaxPerUser: 3})
	sess, err := sessions.Open(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	attach := func() (*wsClient, frame) {
		c := dialWS(t, ts)
		date := protocol.FormatDate(time.Now())
		in := protocol.SignInput{Verb: "GET", Path: "/connect/ws", Username: "alice", BodyMD5: protocol.EmptyBodyMD5, Date: date}
		b, _ := json.Marshal(map[string]any{"type": "AuthReq", "id": protocol.BodyMD5([]byte(date + fmt.Sprint(time.Now().UnixNano()))), "date": date,
			"msg": []any{map[string]string{"authorization": protocol.Authorization("alice", sess.ID, protocol.Sign(in, sess.ID))}}})
		if err := c.c.Write(context.Background(), websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		return c, c.expect("AuthResp")
	}
	a1, f1 := attach()
	_, f2 := attach()
	if !f1.Success || !f2.Success {
		t.Fatalf("two sockets on one session: %+v %+v", f1.Error, f2.Error)
	}
	a3, f3 := attach()
	if f3.Success || f3.Error.Code != qconnect.CodeBusy {
		t.Fatalf("third socket on a session with a cap of 2: %+v", f3)
	}
	if code := closeCode(t, a3); code != closeTooMany {
		t.Fatalf("refused socket closed with %d, want 4429", code)
	}
	// The user's third socket (its own session) is allowed; the fourth is not.
	dialWS(t, ts).login("alice")
	u4 := dialWS(t, ts)
	u4.send("LoginReq", []any{map[string]string{"username": "alice", "password": "password1"}})
	if f := u4.expect("LoginResp"); f.Success || f.Error.Code != qconnect.CodeBusy {
		t.Fatalf("fourth socket of a user with a cap of 3: %+v", f)
	}
	if code := closeCode(t, u4); code != closeTooMany {
		t.Fatalf("refused socket closed with %d, want 4429", code)
	}
	// Another user is not affected.
	dialWS(t, ts).login("bob")
	// Closing a socket frees its place (waiting for the server to see it).
	a1.c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, f := attach()
		if f.Success {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed socket's place was not freed: %+v", f.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
