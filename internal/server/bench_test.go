package server

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/protocol"
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
		date := protocol.FormatDate(time.Now())
		body := []byte(`{"type":"PingReq","id":"` + strconv.Itoa(i) + `","date":"` + date + `","msg":[]}`)
		in := protocol.SignInput{Verb: "POST", Path: "/connect/api/auth/ping", Username: "alice",
			BodyMD5: protocol.BodyMD5(body), ContentType: "application/json", Date: date}
		req := httptest.NewRequest("POST", "/connect/api/auth/ping", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", protocol.Authorization("alice", sess.ID, protocol.Sign(in, sess.ID)))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
