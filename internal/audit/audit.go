// Package audit writes the gateway's audit log: one JSON line per login,
// logout, call and publish (REST and WebSocket) and per WebSocket subscribe
// and unsubscribe (PROTOCOL appendix 36), with the time, user, client address,
// method, parameters (values longer than a limit cut, parameters declared
// secret: true in the catalog redacted), status, wire code, rows, bytes,
// milliseconds and request id.
//
// Writing never blocks a request: lines go through a bounded buffer to a
// writer goroutine; when the buffer is full the line is dropped and counted
// (Dropped, exported as a metric) and a warning is logged. Reopen reopens
// the file (after logrotate moved it; the gateway calls it on SIGHUP).
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/server"
)

// Defaults of Options.
const (
	DefaultBuffer   = 10000
	DefaultMaxValue = 256
)

// Options configure Open. Zero values take the defaults.
type Options struct {
	Buffer   int               // lines held before dropping; default 10000
	MaxValue int               // bytes of a parameter's JSON kept; default 256
	Catalog  *qconnect.Catalog // declares which parameters are secret
	Logger   *slog.Logger      // default slog.Default()
}

// Log is an open audit log. Safe for concurrent use.
type Log struct {
	path string
	opts Options
	log  *slog.Logger

	lines   chan []byte
	reopen  chan chan error
	done    chan struct{}
	dropped atomic.Int64
	warned  atomic.Int64 // unix ns of the last drop warning

	closeOnce sync.Once
}

// Open opens (creating, 0600, appending) the audit log at path and starts
// its writer.
func Open(path string, o Options) (*Log, error) {
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.MaxValue <= 0 {
		o.MaxValue = DefaultMaxValue
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	l := &Log{path: path, opts: o, log: o.Logger, lines: make(chan []byte, o.Buffer),
		reopen: make(chan chan error), done: make(chan struct{})}
	go l.write(f)
	return l, nil
}

func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the audit log: %v (check --audit-log and the directory's permissions)", err)
	}
	return f, nil
}

// write is the writer goroutine.
func (l *Log) write(f *os.File) {
	defer close(l.done)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				f.Close()
				return
			}
			l.writeLine(f, line)
		case reply := <-l.reopen:
			// Records observed before the reopen go to the old file.
		drain:
			for {
				select {
				case line, ok := <-l.lines:
					if !ok {
						break drain
					}
					l.writeLine(f, line)
				default:
					break drain
				}
			}
			nf, err := openFile(l.path)
			if err == nil {
				f.Close()
				f = nf
			}
			reply <- err
		}
	}
}

func (l *Log) writeLine(f *os.File, line []byte) {
	if _, err := f.Write(line); err != nil {
		l.dropped.Add(1)
		l.warn("the audit log cannot be written; records are dropped", err)
	}
}

// Reopen closes and reopens the file at the same path (for logrotate).
// Records observed before Reopen are written to the old file first.
// On failure the old file stays in use.
func (l *Log) Reopen() error {
	reply := make(chan error, 1)
	select {
	case l.reopen <- reply:
		return <-reply
	case <-l.done:
		return fmt.Errorf("the audit log is closed")
	}
}

// Close writes what is buffered and closes the file.
func (l *Log) Close() error {
	l.closeOnce.Do(func() { close(l.lines) })
	<-l.done
	return nil
}

// Dropped is the number of records dropped so far (full buffer or a write
// error).
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// warn logs at most one warning per 10 s.
func (l *Log) warn(msg string, err error) {
	now := time.Now().UnixNano()
	last := l.warned.Load()
	if now-last < int64(10*time.Second) || !l.warned.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn(msg, "dropped", l.dropped.Load(), "error", err)
}

// Record is one line of the audit log.
type Record struct {
	Time   string                     `json:"time"` // RFC 3339, UTC, nanoseconds
	Event  string                     `json:"event"`
	User   string                     `json:"user"`
	Addr   string                     `json:"addr"`
	Method string                     `json:"method"`
	Params map[string]json.RawMessage `json:"params,omitempty"`
	Status int                        `json:"status"`
	Code   string                     `json:"code"`
	Rows   int64                      `json:"rows"`
	Bytes  int64                      `json:"bytes"`
	MS     float64                    `json:"ms"`
	ID     string                     `json:"id"`
}

// ObserveRequest writes the record of a login, logout, call, publish,
// subscribe or unsubscribe (server.Observer); other requests (pings, meta,
// documentation) are not audited.
func (l *Log) ObserveRequest(r *server.RequestRecord) {
	switch r.Kind {
	case "login", "logout", "call", "publish", "subscribe", "unsubscribe":
	default:
		return
	}
	rec := Record{Time: r.Time.UTC().Format(time.RFC3339Nano), Event: r.Kind, User: r.User, Addr: r.Addr,
		Method: r.Method, Params: l.params(r), Status: r.Status, Code: r.Code, Rows: r.Rows, Bytes: r.Bytes,
		MS: float64(r.Duration.Microseconds()) / 1000, ID: r.ID}
	line, err := json.Marshal(rec)
	if err != nil {
		return
	}
	line = append(line, '\n')
	select {
	case l.lines <- line:
	default:
		l.dropped.Add(1)
		l.warn("the audit buffer is full; records are dropped (see qconnect_audit_dropped_total)", nil)
	}
}

var redacted = json.RawMessage(`"[redacted]"`)

// params is the call's msg[0] object, each value cut or redacted.
func (l *Log) params(r *server.RequestRecord) map[string]json.RawMessage {
	if len(r.Msg) == 0 || (r.Kind != "call" && r.Kind != "publish" && r.Kind != "subscribe") {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(r.Msg[0], &obj) != nil {
		return map[string]json.RawMessage{"msg": l.cut(r.Msg[0])}
	}
	var m *qconnect.Method
	if l.opts.Catalog != nil {
		m, _ = l.opts.Catalog.LookupFull(r.Method)
	}
	out := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		if m != nil && isSecret(m, k) {
			out[k] = redacted
			continue
		}
		out[k] = l.cut(v)
	}
	return out
}

func isSecret(m *qconnect.Method, name string) bool {
	for _, p := range m.Params {
		if p.Name == name {
			return p.Secret
		}
	}
	return false
}

// cut keeps a JSON value of at most MaxValue bytes as it is; a longer one
// becomes a string of its first MaxValue bytes (whole UTF-8 characters)
// followed by "…(cut, N bytes)".
func (l *Log) cut(v json.RawMessage) json.RawMessage {
	v = bytes.TrimSpace(v)
	if len(v) <= l.opts.MaxValue {
		return v
	}
	head := v[:l.opts.MaxValue]
	for len(head) > 0 && !utf8.Valid(head) {
		head = head[:len(head)-1]
	}
	s, _ := json.Marshal(fmt.Sprintf("%s…(cut, %d bytes)", head, len(v)))
	return s
}
