package audit

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/server"
)

func rec(i int) *server.RequestRecord {
	return &server.RequestRecord{Time: time.Unix(int64(i), 0), Kind: "call", Method: "g/m", User: "u", Addr: "127.0.0.1",
		ID: "id", Status: 200, Msg: []json.RawMessage{json.RawMessage(`{"p": "` + strings.Repeat("v", 200) + `"}`)}}
}

// TestFullBufferDropsAndCounts: a writer that cannot keep up (a pipe nobody
// reads) never blocks ObserveRequest; what does not fit is counted, and
// written + dropped = observed.
func TestFullBufferDropsAndCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l, err := Open(path, Options{Buffer: 8})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000 // ~1.3 MB: far more than a pipe holds
	for i := range n {
		l.ObserveRequest(rec(i))
	}
	if l.Dropped() == 0 {
		t.Fatal("nothing dropped although the writer was stuck")
	}
	dropped := l.Dropped()
	// Drain: the writer finishes what it holds.
	if err := syscall.SetNonblock(int(r.Fd()), false); err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	l.Close()
	written := strings.Count(string(<-done), "\n")
	if int64(written)+dropped != n {
		t.Fatalf("written %d + dropped %d != %d observed", written, dropped, n)
	}
}

// TestReopen: after the file is moved, Reopen starts a new one.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.ObserveRequest(rec(1))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.ObserveRequest(rec(2))
	l.ObserveRequest(&server.RequestRecord{Kind: "ping"}) // not audited
	l.Close()
	for _, p := range []string{path + ".1", path} {
		b, _ := os.ReadFile(p)
		if strings.Count(string(b), "\n") != 1 {
			t.Fatalf("%s: %q, want one line", p, b)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit file mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestWebSocketSubscriptions: SubscribeReq and UnsubscribeReq records are
// audited (PROTOCOL appendix 36) with their method, status and parameters
// (secret ones redacted); pings are not.
func TestWebSocketSubscriptions(t *testing.T) {
	sub := &qconnect.Method{Group: "g", Name: "sub", Streaming: true,
		Params: []qconnect.Param{{Name: "token", Type: qconnect.Symbol, Secret: true}, {Name: "syms", Type: qconnect.Symbol, List: true}}}
	cat, err := qconnect.NewCatalog([]*qconnect.Method{sub})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l.ObserveRequest(&server.RequestRecord{Time: at, Duration: 1500 * time.Microsecond, Kind: "subscribe", Verb: "WS", Path: "/connect/ws",
		Method: "g/sub", User: "ann", Addr: "10.0.0.1", ID: "s-1", Status: 200, Rows: 7, Bytes: 900,
		Msg: []json.RawMessage{json.RawMessage(`{"token":"hush","syms":["A"]}`)}})
	l.ObserveRequest(&server.RequestRecord{Time: at, Kind: "subscribe", Verb: "WS", Method: "g/nope", User: "ann", ID: "s-2", Status: 404, Code: "unknownMethod"})
	l.ObserveRequest(&server.RequestRecord{Time: at, Kind: "unsubscribe", Verb: "WS", Method: "g/sub", User: "ann", ID: "u-1", Status: 200, Bytes: 120})
	l.ObserveRequest(&server.RequestRecord{Time: at, Kind: "ping", Verb: "WS", Method: "auth/ping", User: "ann", ID: "p-1", Status: 200})
	l.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	want := []string{
		`{"time":"2026-01-02T03:04:05Z","event":"subscribe","user":"ann","addr":"10.0.0.1","method":"g/sub","params":{"syms":["A"],"token":"[redacted]"},"status":200,"code":"","rows":7,"bytes":900,"ms":1.5,"id":"s-1"}`,
		`{"time":"2026-01-02T03:04:05Z","event":"subscribe","user":"ann","addr":"","method":"g/nope","status":404,"code":"unknownMethod","rows":0,"bytes":0,"ms":0,"id":"s-2"}`,
		`{"time":"2026-01-02T03:04:05Z","event":"unsubscribe","user":"ann","addr":"","method":"g/sub","status":200,"code":"","rows":0,"bytes":120,"ms":0,"id":"u-1"}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), data)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], want[i])
		}
	}
}
