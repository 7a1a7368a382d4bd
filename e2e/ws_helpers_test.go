package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/protocol"
)

// wsUsersFile writes a users file with the CLI: trader may call monPublic
// and marketData and publish to the three demo publishing methods; viewer
// may only call monPublic/getMem. Their passwords are pw-trader, pw-viewer.
func wsUsersFile(t *testing.T) string {
	t.Helper()
	return cliUsers(t, "groups:\n  traders:\n    allow: [monPublic, marketData]\n    write: [monPublic/pubMem, marketData/pubTrades, marketData/pubQuotes]\n"+
		"  viewers:\n    allow: [monPublic/getMem]\n",
		[3]string{"trader", "traders", "pw-trader"}, [3]string{"viewer", "viewers", "pw-viewer"})
}

// wsGateway starts the gateway in demo mode (the demo catalog's streaming
// and publishing methods over the real DuckDB engine) without the demo
// feed, so that every update comes from the test, with a users file made by
// the CLI: trader may call monPublic and marketData and publish to the
// three demo publishing methods; viewer may only call monPublic/getMem.
func wsGateway(t *testing.T, args ...string) *testenv.Gateway {
	t.Helper()
	path := wsUsersFile(t)
	base := []string{"--demo=true", "--users", path, "--demo-feed=false"}
	return testenv.StartGateway(t, append(base, args...)...)
}

// sdkLogin logs in with the Go SDK.
func sdkLogin(t *testing.T, g *testenv.Gateway, user, pass string) *client.Session {
	t.Helper()
	c, err := client.New(g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Login(ctx, user, pass)
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return s
}

// rawWS is a WebSocket client written against PROTOCOL 7 directly, for what
// the SDK hides: frame order, close codes, AuthReq details.
type rawWS struct {
	t *testing.T
	c *websocket.Conn
}

// dialRaw connects to /connect/ws; rcvBuf > 0 sets the TCP receive buffer
// (a small one makes a client that stops reading fall behind quickly).
func dialRaw(t *testing.T, g *testenv.Gateway, rcvBuf int) *rawWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var opts *websocket.DialOptions
	if rcvBuf > 0 {
		d := &net.Dialer{}
		opts = &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				if err == nil {
					err = c.(*net.TCPConn).SetReadBuffer(rcvBuf)
				}
				return c, err
			}}}}
	}
	c, _, err := websocket.Dial(ctx, "ws://"+g.Addr+"/connect/ws", opts)
	if err != nil {
		t.Fatalf("dial /connect/ws: %v", err)
	}
	c.SetReadLimit(32 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &rawWS{t: t, c: c}
}

// sendDated sends an envelope with the given date and returns its id.
func (w *rawWS) sendDated(typ, date string, msg any) string {
	w.t.Helper()
	id := freshID()
	if err := w.c.Write(context.Background(), websocket.MessageText, envelope(typ, id, date, msg)); err != nil {
		w.t.Fatalf("send %s: %v", typ, err)
	}
	return id
}

func (w *rawWS) send(typ string, msg any) string {
	w.t.Helper()
	return w.sendDated(typ, protocol.FormatDate(time.Now()), msg)
}

// wsFrame is any frame of PROTOCOL 7.
type wsFrame struct {
	Type           string            `json:"type"`
	ID             *string           `json:"id"`
	SubscriptionID string            `json:"subscriptionId"`
	Seq            uint64            `json:"seq"`
	Reset          bool              `json:"reset"` // a SnapshotMsg of a live source's reset (PROTOCOL appendix 27)
	Date           string            `json:"date"`
	Msg            []json.RawMessage `json:"msg"`
	Meta           *struct {
		RowCount  int64 `json:"rowCount"`
		Truncated bool  `json:"truncated"`
	} `json:"meta"`
	Success bool                `json:"success"`
	Error   *protocol.WireError `json:"error"`
	size    int
}

func (f wsFrame) code() string {
	if f.Error == nil {
		return ""
	}
	return string(f.Error.Code)
}

// read reads one frame within d; a closed socket is returned as the error.
func (w *rawWS) read(d time.Duration) (wsFrame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, data, err := w.c.Read(ctx)
	if err != nil {
		return wsFrame{}, err
	}
	var f wsFrame
	if err := json.Unmarshal(data, &f); err != nil {
		w.t.Fatalf("frame is not an envelope: %.200s", data)
	}
	f.size = len(data)
	return f, nil
}

// expect reads the next frame and checks its type.
func (w *rawWS) expect(typ string) wsFrame {
	w.t.Helper()
	f, err := w.read(20 * time.Second)
	if err != nil {
		w.t.Fatalf("waiting for %s: %v", typ, err)
	}
	if f.Type != typ {
		w.t.Fatalf("got a %s (%+v), want a %s", f.Type, f.Error, typ)
	}
	return f
}

// expect2 reads the next frame and checks that it is of one of two types.
func (w *rawWS) expect2(a, b string) wsFrame {
	w.t.Helper()
	f, err := w.read(20 * time.Second)
	if err != nil {
		w.t.Fatalf("waiting for %s or %s: %v", a, b, err)
	}
	if f.Type != a && f.Type != b {
		w.t.Fatalf("got a %s (%+v), want a %s or %s", f.Type, f.Error, a, b)
	}
	return f
}

// closeCode reads until the socket closes and returns the close code.
func (w *rawWS) closeCode(d time.Duration) websocket.StatusCode {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := w.read(time.Until(deadline)); err != nil {
			return websocket.CloseStatus(err)
		}
	}
	w.t.Fatalf("the socket was not closed within %s", d)
	return 0
}

// login sends LoginReq as the first frame and returns the session id.
func (w *rawWS) login(user, pass string) string {
	w.t.Helper()
	w.send("LoginReq", []any{map[string]string{"username": user, "password": pass}})
	f := w.expect("LoginResp")
	var m struct {
		SessionID string `json:"sessionId"`
	}
	if !f.Success || json.Unmarshal(f.Msg[0], &m) != nil || m.SessionID == "" {
		w.t.Fatalf("LoginReq over the socket: %+v", f.Error)
	}
	return m.SessionID
}

// authReq attaches an existing session with a signed AuthReq (PROTOCOL 7).
func (w *rawWS) authReq(user, sessionID string) wsFrame {
	w.t.Helper()
	date := protocol.FormatDate(time.Now())
	in := protocol.SignInput{Verb: "GET", Path: "/connect/ws", Username: user, BodyMD5: protocol.EmptyBodyMD5, Date: date}
	authz := protocol.Authorization(user, sessionID, protocol.Sign(in, sessionID))
	w.sendDated("AuthReq", date, []any{map[string]string{"authorization": authz}})
	return w.expect("AuthResp")
}

// subscribe sends SubscribeReq and returns the subscription id.
func (w *rawWS) subscribe(method string, params any) string {
	w.t.Helper()
	w.send("SubscribeReq", []any{map[string]any{"method": method, "params": params}})
	f := w.expect("SubscribeResp")
	var m struct {
		SubscriptionID string `json:"subscriptionId"`
	}
	if !f.Success || json.Unmarshal(f.Msg[0], &m) != nil {
		w.t.Fatalf("subscribe %s: %+v", method, f.Error)
	}
	return m.SubscriptionID
}

// tradeRow is a marketData trade in its JSON form.
func tradeRow(at time.Time, sym string, price float64, size int) map[string]any {
	return map[string]any{"time": at.UTC().Format(time.RFC3339Nano), "sym": sym, "price": price, "size": size, "side": "buy"}
}

// rowsOf decodes the row objects of a frame.
func rowsOf(t *testing.T, f wsFrame) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(f.Msg))
	for i, r := range f.Msg {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// vmKB reads a field (VmRSS, VmHWM) of /proc/<pid>/status in KiB.
func vmKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
