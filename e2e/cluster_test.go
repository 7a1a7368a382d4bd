package e2e

import (
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/protocol"
)

// cluster is three gateways sharing one real redis-server (issue 12).
type cluster struct {
	redis *testenv.Redis
	gw    []*testenv.Gateway
	args  []string
}

// startCluster starts redis-server and three `qconnect serve` processes on
// the demo catalog with the users of wsGateway (trader, viewer), all with
// --redis; extra args go to every gateway.
func startCluster(t *testing.T, extra ...string) *cluster {
	t.Helper()
	r := testenv.StartRedis(t)
	path := wsUsersFile(t)
	c := &cluster{redis: r, args: append([]string{"--demo=true", "--users", path, "--demo-feed=false", "--redis", r.URL()}, extra...)}
	for range 3 {
		c.gw = append(c.gw, testenv.StartGateway(t, c.args...))
	}
	return c
}

// on is s calling through gateway g.
func (s *session) on(g *testenv.Gateway) *session {
	c := *s
	c.g = g
	return &c
}

func TestClusterSharedState(t *testing.T) {
	t.Parallel()
	c := startCluster(t, "--login-max-failures", "3", "--login-window", "3s")
	a, b, gc := c.gw[0], c.gw[1], c.gw[2]
	outer := t // gateways started in a subtest must outlive it

	t.Run("a session from A is accepted by B and C", func(t *testing.T) {
		s := login(t, a, "trader", "pw-trader")
		for _, g := range c.gw {
			expect(t, "ping via "+g.Addr, s.on(g).call("/connect/api/auth/ping", []any{}), 200, "")
		}
		r := s.on(gc).call("/connect/api/monPublic/getMem", []any{map[string]any{}})
		expect(t, "getMem via C", r, 200, "")
		if len(r.Env.Msg) == 0 {
			t.Fatalf("getMem via C returned no rows: %s", r.Body)
		}
	})

	t.Run("a replayed request id is refused on every instance", func(t *testing.T) {
		s := login(t, b, "trader", "pw-trader")
		body := envelope("PingReq", freshID(), protocol.FormatDate(time.Now()), []any{})
		expect(t, "first, via A", s.on(a).send("/connect/api/auth/ping", body, nil), 200, "")
		expect(t, "replay via B", s.on(b).send("/connect/api/auth/ping", body, nil), 409, "replayedRequest")
		expect(t, "replay via C", s.on(gc).send("/connect/api/auth/ping", body, nil), 409, "replayedRequest")
	})

	t.Run("logout on A ends the session everywhere and closes its sockets", func(t *testing.T) {
		s := login(t, a, "trader", "pw-trader")
		var sockets []*rawWS
		for _, g := range []*testenv.Gateway{b, gc} {
			w := dialRaw(t, g, 0)
			if f := w.authReq("trader", s.sid); !f.Success {
				t.Fatalf("AuthReq on %s: %+v", g.Addr, f.Error)
			}
			w.subscribe("monPublic/sub", map[string]any{"syms": []string{"server_A"}})
			sockets = append(sockets, w)
		}
		expect(t, "logout via A", s.call("/connect/api/auth/logout", []any{}), 200, "")
		for i, w := range sockets {
			if code := w.closeCode(3 * time.Second); code != 4401 {
				t.Errorf("socket %d: close code %d, want 4401", i, code)
			}
		}
		expect(t, "ping via C after logout", s.on(gc).call("/connect/api/auth/ping", []any{}), 401, "invalidSession")
	})

	t.Run("a restarted gateway keeps every session", func(t *testing.T) {
		s := login(t, a, "viewer", "pw-viewer")
		a.Stop()
		a2 := testenv.StartGateway(outer, c.args...)
		expect(t, "ping via the restarted gateway", s.on(a2).call("/connect/api/auth/ping", []any{}), 200, "")
		c.gw[0], a = a2, a2
	})

	t.Run("Redis down: unavailable, then recovery", func(t *testing.T) {
		s := login(t, b, "trader", "pw-trader")
		c.redis.Stop()
		r := s.on(gc).call("/connect/api/auth/ping", []any{})
		expect(t, "ping with Redis down", r, 503, "unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Error("unavailable without Retry-After")
		}
		c.redis.Start()
		waitFor(t, "a signed call to succeed after Redis is back", func() bool {
			return s.on(gc).call("/connect/api/auth/ping", []any{}).Status == 200
		})
		expect(t, "via A after recovery", s.on(a).call("/connect/api/auth/ping", []any{}), 200, "")
	})

	t.Run("the login throttle counts across instances", func(t *testing.T) {
		attempt := func(g *testenv.Gateway, pass string) *result {
			return post(t, g.URL+"/connect/api/auth/login", nil, envelope("LoginReq", freshID(),
				protocol.FormatDate(time.Now()), []any{map[string]string{"username": "viewer", "password": pass}}))
		}
		expect(t, "failure 1 via A", attempt(a, "wrong"), 401, "invalidCredentials")
		expect(t, "failure 2 via B", attempt(b, "wrong"), 401, "invalidCredentials")
		expect(t, "failure 3 via C", attempt(gc, "wrong"), 401, "invalidCredentials")
		r := attempt(a, "pw-viewer")
		expect(t, "the right password via A after 3 failures elsewhere", r, 429, "tooManyAttempts")
		if r.Header.Get("Retry-After") == "" {
			t.Error("tooManyAttempts without Retry-After")
		}
		waitFor(t, "the window to pass", func() bool { return attempt(b, "pw-viewer").Status == 200 })
	})
}
