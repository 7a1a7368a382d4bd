package redisstate

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	gw "github.com/qconnect/qconnect/internal/server"
	"github.com/qconnect/qconnect/internal/testenv/signed"
)

// TestReplayTakesNoRateTokenMiniredis and ...RedisServer: through the
// gateway with the Redis store, requests refused by the replay check take no
// token of the user's rate (PROTOCOL appendix 34): with a burst of 3 and no
// refill, a request, five replays of it and two fresh requests all fit, and
// only the fourth fresh request is refused for the rate.
func TestReplayTakesNoRateTokenMiniredis(t *testing.T) {
	t.Parallel()
	testReplayTakesNoRateToken(t, miniServer(t))
}

func TestReplayTakesNoRateTokenRedisServer(t *testing.T) {
	t.Parallel()
	testReplayTakesNoRateToken(t, realServer(t))
}

func testReplayTakesNoRateToken(t *testing.T, srv server) {
	c := open(t, srv)
	hash, _ := auth.HashPassword("password1", 4)
	dir, err := auth.ParseUsers([]byte("users:\n  alice:\n    password: \""+hash+"\"\n    groups: [g]\ngroups:\n  g:\n    allow: [\"*\"]\n"), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := qconnect.NewCatalog(nil)
	sessions := auth.NewSessions(NewSessions(c, SessionConfig{}), auth.SessionConfig{})
	const rate, burst = 0.0001, 3 // no refill within the test
	g := gw.New(gw.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RatePerUser: rate, RateBurst: burst},
		gw.Deps{Catalog: cat, Users: auth.NewStaticUserDB(dir), Sessions: sessions,
			Shared: gw.Shared{Replay: NewGuard(c, 10*time.Minute, rate, burst), Rate: NewRateLimiter(c, rate, burst)}})
	sess, err := sessions.Open(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	ping := func(id string) (int, string) {
		req := signed.Ping("alice", sess.ID, id, time.Now())
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	if code, body := ping("first"); code != 200 {
		t.Fatalf("first request: %d %s", code, body)
	}
	for range 5 {
		if code, body := ping("first"); code != 409 || !bytes.Contains([]byte(body), []byte("replayedRequest")) {
			t.Fatalf("replay: %d %s, want 409 replayedRequest", code, body)
		}
	}
	for _, id := range []string{"second", "third"} {
		if code, body := ping(id); code != 200 {
			t.Fatalf("request %q within the burst of %d after five replays: %d %s (the replays took tokens)", id, burst, code, body)
		}
	}
	if code, body := ping("fourth"); code != 429 || !bytes.Contains([]byte(body), []byte("rateLimited")) {
		t.Fatalf("request beyond the burst: %d %s, want 429 rateLimited", code, body)
	}
}
