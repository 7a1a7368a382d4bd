package e2e

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect/protocol"
)

// scrape reads a Prometheus text exposition into series → value, the series
// written as in the text (labels sorted by name).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetrics: after known traffic, /metrics reports exactly that traffic.
func TestMetrics(t *testing.T) {
	t.Parallel()
	g := wsGateway(t)
	ctx := ctxFor(t, time.Minute)
	s1 := login(t, g, "trader", "pw-trader")
	login(t, g, "viewer", "pw-viewer")
	bad := post(t, g.URL+"/connect/api/auth/login", nil, envelope("LoginReq", freshID(), nowDate(), []any{map[string]string{"username": "viewer", "password": "wrong"}}))
	expect(t, "wrong password", bad, 401, "invalidCredentials")
	for range 3 {
		expect(t, "ping", s1.call("/connect/api/auth/ping", []any{}), 200, "")
	}
	r := s1.call("/connect/api/monPublic/getMem", []any{map[string]any{"syms": []string{"server_A"}}})
	expect(t, "getMem", r, 200, "")
	getMemRows := len(r.Env.Msg)
	expect(t, "unknown method", s1.call("/connect/api/nope/nothing", []any{}), 404, "unknownMethod")
	pub := sdkLogin(t, g, "trader", "pw-trader")
	at := time.Now()
	if n, err := pub.Publish(ctx, "monPublic/pubMem", []map[string]any{memRow(at, "server_A", 1), memRow(at, "server_B", 2), memRow(at, "server_C", 3)}); err != nil || n != 3 {
		t.Fatalf("publish: %d %v", n, err)
	}
	w := dialRaw(t, g, 0)
	w.login("viewer", "pw-viewer")
	w.send("SubscribeReq", []any{map[string]any{"method": "monPublic/sub", "params": map[string]any{}}})
	if f := w.expect("SubscribeResp"); f.Success {
		t.Fatal("viewer may not subscribe to monPublic/sub, yet did")
	}
	w2 := dialRaw(t, g, 0)
	w2.login("trader", "pw-trader")
	w2.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_A"}})
	// Subscriptions and pings are counted too (PROTOCOL appendix 36): a
	// second subscription, ended; an unsubscribe of an unknown id; a ping.
	w5 := dialRaw(t, g, 0)
	w5.login("trader", "pw-trader")
	subB := w5.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_B"}})
	w5.send("UnsubscribeReq", []any{map[string]string{"subscriptionId": subB}})
	for {
		f, err := w5.read(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for UnsubscribeResp: %v", err)
		}
		if f.Type == "UnsubscribeResp" {
			if !f.Success {
				t.Fatalf("unsubscribe: %+v", f.Error)
			}
			break
		}
	}
	w5.send("UnsubscribeReq", []any{map[string]string{"subscriptionId": subB}})
	if f := w5.expect("UnsubscribeResp"); f.code() != "invalidParams" {
		t.Fatalf("second unsubscribe: %+v", f)
	}
	w5.send("PingReq", []any{})
	if f := w5.expect("PingResp"); !f.Success {
		t.Fatalf("ping over the socket: %+v", f.Error)
	}
	w5.c.Close(websocket.StatusNormalClosure, "")

	// The same kinds of traffic over a third socket: a call, a publish, an
	// unknown method and a logout; and a socket whose LoginReq fails.
	w3 := dialRaw(t, g, 0)
	w3.login("trader", "pw-trader")
	w3.send("ExecuteReq", []any{map[string]any{"method": "monPublic/getMem", "params": map[string]any{"syms": []string{"server_B"}}}})
	wsGet := w3.expect("ExecuteResp")
	if !wsGet.Success || wsGet.Meta == nil || wsGet.Meta.RowCount == 0 {
		t.Fatalf("getMem over the socket: %+v %+v", wsGet.Error, wsGet.Meta)
	}
	w3.send("ExecuteReq", []any{map[string]any{"method": "monPublic/pubMem", "params": map[string]any{"rows": []map[string]any{memRow(at, "server_B", 4), memRow(at, "server_C", 5)}}}})
	if f := w3.expect("ExecuteResp"); !f.Success {
		t.Fatalf("publish over the socket: %+v", f.Error)
	}
	w3.send("ExecuteReq", []any{map[string]any{"method": "nope/nothing"}})
	if f := w3.expect("ExecuteResp"); f.code() != "unknownMethod" {
		t.Fatalf("unknown method over the socket: %+v", f)
	}
	w3.send("LogoutReq", []any{})
	if f := w3.expect("LogoutResp"); !f.Success {
		t.Fatalf("logout over the socket: %+v", f.Error)
	}
	w4 := dialRaw(t, g, 0)
	w4.send("LoginReq", []any{map[string]string{"username": "viewer", "password": "wrong"}})
	if f := w4.expect("LoginResp"); f.code() != "invalidCredentials" {
		t.Fatalf("wrong password over the socket: %+v", f)
	}

	var m map[string]float64
	waitFor(t, "the three closed sockets to be gone", func() bool {
		m = scrape(t, g.URL+"/metrics")
		return m[`qconnect_websockets_open`] == 2
	})
	want := map[string]float64{
		`qconnect_logins_total{outcome="ok"}`:                              7, // two raw, one SDK, four socket LoginReqs
		`qconnect_logins_total{outcome="invalidCredentials"}`:              2, // one REST, one socket
		`qconnect_requests_total{code="ok",method="auth/login"}`:           7,
		`qconnect_requests_total{code="ok",method="auth/logout"}`:          1,
		`qconnect_requests_total{code="ok",method="auth/ping"}`:            4, // 3 REST, 1 socket
		`qconnect_request_duration_seconds_count{method="auth/ping"}`:      4,
		`qconnect_requests_total{code="ok",method="monPublic/sub"}`:        3, // 2 SubscribeReq, 1 UnsubscribeReq
		`qconnect_requests_total{code="forbidden",method="monPublic/sub"}`: 1,
		`qconnect_requests_total{code="invalidParams",method="other"}`:     1, // the unsubscribe of an ended subscription
		`qconnect_requests_total{code="ok",method="monPublic/getMem"}`:     2,
		`qconnect_result_rows_total{method="monPublic/getMem"}`:            float64(int64(getMemRows) + wsGet.Meta.RowCount),
		`qconnect_requests_total{code="unknownMethod",method="other"}`:     2,
		`qconnect_requests_total{code="ok",method="monPublic/pubMem"}`:     2,
		`qconnect_result_rows_total{method="monPublic/pubMem"}`:            5,
		`qconnect_publishes_total`:                                         2,
		`qconnect_published_rows_total`:                                    5,
		`qconnect_websockets_open`:                                         2,
		`qconnect_subscriptions_open`:                                      1,
		`qconnect_stream_upstreams_open`:                                   1,
		`qconnect_slow_consumer_cutoffs_total`:                             0,
		`qconnect_publish_failures_total`:                                  0,
		`qconnect_sessions_live`:                                           5, // 3 REST + 2 socket logins (one logged out; a socket's own session ends with it)
		`qconnect_backend_pool_connections{state="in_use"}`:                0,
		`qconnect_calls_in_flight`:                                         0,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if getMemRows == 0 {
		t.Error("getMem returned no rows; the rows counter is not tested")
	}
	if got, want := m[`qconnect_response_bytes_total{method="monPublic/getMem"}`], float64(len(r.Body)+wsGet.size); got < want {
		t.Errorf("response bytes of getMem %v < the REST body's and the socket frame's %v", got, want)
	}
}

var metricsURL = regexp.MustCompile(`msg="metrics listening" url=(\S+)`)

// TestMetricsOffAndElsewhere: --metrics=false serves no /metrics;
// --metrics-listen moves it to its own address.
func TestMetricsOffAndElsewhere(t *testing.T) {
	t.Parallel()
	off, _ := testGateway(t, "--metrics=false")
	if resp, err := http.Get(off.URL + "/metrics"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("/metrics with --metrics=false: %v %v", resp.StatusCode, err)
	}
	g, _ := testGateway(t, "--metrics-listen", "127.0.0.1:0")
	if resp, err := http.Get(g.URL + "/metrics"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("/metrics on the gateway's address with --metrics-listen: %v %v", resp.StatusCode, err)
	}
	var url string
	waitFor(t, "the metrics address in the log", func() bool {
		mm := metricsURL.FindStringSubmatch(g.Stderr())
		if mm != nil {
			url = mm[1]
		}
		return mm != nil
	})
	login(t, g, "alice", "alice-password")
	if v := scrape(t, url)[`qconnect_logins_total{outcome="ok"}`]; v != 1 {
		t.Fatalf("logins on the separate metrics address = %v, want 1", v)
	}
}

func nowDate() string { return protocol.FormatDate(time.Now()) }
