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
