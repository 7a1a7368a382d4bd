package server

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/testenv/signed"
)

// BenchmarkSignedPing measures the server's cost of one signed auth/ping:
// the whole PROTOCOL 3.3 pipeline and the response, with logging on (to
// io.Discard), in process (no network).
func BenchmarkSignedPing(b *testing.B) {
	hash, _ := auth.HashPassword("password1", 4)
	dir, err := auth.ParseUsers([]byte("users:\n  alice:\n    password: \""+hash+"\"\n    groups: [g]\ngroups:\n  g:\n    allow: [\"*\"]\n"), "users.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cat, _ := qconnect.NewCatalog(nil)
	sessions := auth.NewSessions(auth.NewMemoryStore(), auth.SessionConfig{})
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RatePerUser: 1e9, RateBurst: 1 << 30, ReplayMaxIDs: 1 << 30},
		Deps{Catalog: cat, Users: auth.NewStaticUserDB(dir), Sessions: sessions})
	sess, err := sessions.Open(b.Context(), "alice")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := signed.Ping("alice", sess.ID, strconv.Itoa(i), time.Now())
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
