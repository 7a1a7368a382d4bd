package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// RequestRecord describes one finished HTTP request (WebSocket upgrades
// excluded) or one WebSocket login (LoginReq, AuthReq), logout, call or
// publish (ExecuteReq; Verb "WS", Path "/connect/ws"): what the request log
// line says, plus the envelope's msg of a signed request for the audit log. It never holds a session id, a
// signature or a password (a LoginReq's msg is not recorded).
type RequestRecord struct {
	Time     time.Time // when the request arrived
	Duration time.Duration
	Kind     string // login, logout, ping, meta, call, publish, subscribe, unsubscribe (WebSocket), or "" (docs, assets, unknown routes)
	Verb     string
	Path     string
	Method   string // group/method, or auth/login, auth/logout, auth/ping, meta/...
	User     string
	Addr     string // client address
	ID       string // envelope id
	Status   int
	Code     string // wire error code, "" on success
	Rows     int64
	Bytes    int64
	Msg      []json.RawMessage // the signed request's msg, nil otherwise
}

// Observer receives a record of every finished request: metrics and the
// audit log. ObserveRequest is called on the request's goroutine after the
// response is written; it must not block.
type Observer interface {
	ObserveRequest(*RequestRecord)
}

// counters are the gateway's event counts for Stats.
type counters struct {
	slowCuts        atomic.Int64
	publishes       atomic.Int64
	publishedRows   atomic.Int64
	publishFailures atomic.Int64 // accepted publishes whose commit failed
	busyRetries     atomic.Int64 // queries run again after a busy failure (retry.go)
}

// Stats are the gateway's counts at one instant, for metrics.
type Stats struct {
	Sockets          int   // open WebSockets
	Subscriptions    int   // open subscriptions
	Upstreams        int   // open stream upstreams (identical subscriptions share one)
	QueueBytes       int64 // bytes queued on all WebSockets
	SlowConsumerCuts int64 // subscriptions ended as slow consumers since start
	Publishes        int64 // publishes stored since start (REST, WebSocket, feed)
	PublishedRows    int64
	PublishFailures  int64 // publishes accepted and then not stored (pipe.go)
	InFlight         int   // calls running now (of Config.MaxConcurrent)
	BusyRetries      int64 // queries run again after the backend was busy (retry.go)
}

// Stats returns the gateway's counts now.
func (s *Server) Stats() Stats {
	hs := s.ws.hub.Stats()
	st := Stats{Subscriptions: hs.Subscriptions, Upstreams: hs.Upstreams,
		SlowConsumerCuts: s.counters.slowCuts.Load(), Publishes: s.counters.publishes.Load(),
		PublishedRows:   s.counters.publishedRows.Load(),
		PublishFailures: s.counters.publishFailures.Load(), InFlight: len(s.limits.global),
		BusyRetries: s.counters.busyRetries.Load()}
	s.ws.mu.Lock()
	conns := make([]*wsConn, 0, len(s.ws.conns))
	for c := range s.ws.conns {
		conns = append(conns, c)
	}
	s.ws.mu.Unlock()
	st.Sockets = len(conns)
	for _, c := range conns {
		c.mu.Lock()
		st.QueueBytes += c.queued
		c.mu.Unlock()
	}
	return st
}

// observe hands the record of a finished request to the observers.
func (s *Server) observe(r *http.Request, info *requestInfo, rec *statusRecorder, start time.Time) {
	if len(s.deps.Observers) == 0 {
		return
	}
	o := &RequestRecord{Time: start, Duration: time.Since(start), Kind: s.kindOf(info.method), Verb: r.Method,
		Path: r.URL.Path, Method: info.method, User: info.user, Addr: clientAddr(r), ID: info.id,
		Status: rec.status, Code: info.code, Rows: info.rows, Bytes: rec.bytes, Msg: info.msg}
	for _, ob := range s.deps.Observers {
		ob.ObserveRequest(o)
	}
}

func (s *Server) kindOf(method string) string {
	switch {
	case method == "":
		return ""
	case method == "auth/login":
		return "login"
	case method == "auth/logout":
		return "logout"
	case method == "auth/ping":
		return "ping"
	case strings.HasPrefix(method, "meta/"):
		return "meta"
	}
	if m, ok := s.deps.Catalog.LookupFull(method); ok && m.Publish {
		return "publish"
	}
	return "call"
}

// counted counts a stored publish of n rows.
func (s *Server) counted(n int) {
	s.counters.publishes.Add(1)
	s.counters.publishedRows.Add(int64(n))
}

// wsRecord starts the record of a WebSocket login, logout, call, publish,
// subscribe, unsubscribe or ping (PROTOCOL 7; appendix 33 and 35): the same
// RequestRecord that REST hands to the observers, with Verb "WS" and Path
// "/connect/ws". msg is what REST would record as the envelope's msg
// ([params] of an ExecuteReq or SubscribeReq; nil for a login).
func (c *wsConn) wsRecord(kind, method, id string, msg []json.RawMessage) *RequestRecord {
	return &RequestRecord{Time: time.Now(), Kind: kind, Verb: "WS", Path: "/connect/ws", Method: method,
		User: c.user, Addr: c.remote, ID: id, Msg: msg}
}

// wsFinish completes o with the frame that answered it and hands it to the
// observers. Status is the HTTP status the same outcome has over REST (200,
// or protocol.Status of err's code); a nil frame with an error means the
// socket went away before the answer (code clientGone, status 0, as REST).
func (c *wsConn) wsFinish(o *RequestRecord, frame []byte, err error, rows int64) {
	c.wsFinishBytes(o, int64(len(frame)), frame != nil, err, rows)
}

// wsFinishBytes is wsFinish for an answer of bytes bytes (several frames:
// SubscribeResp and its SnapshotMsg); answered false means no answer was
// queued: the socket went away (clientGone), or, for err slowConsumer, the
// answer overflowed the socket's queue.
func (c *wsConn) wsFinishBytes(o *RequestRecord, bytes int64, answered bool, err error, rows int64) {
	if len(c.s.deps.Observers) == 0 {
		return
	}
	o.Duration, o.Rows, o.Bytes = time.Since(o.Time), rows, bytes
	if o.User == "" {
		o.User = c.user
	}
	switch e := qconnect.AsError(err); {
	case err == nil:
		o.Status = http.StatusOK
	case !answered && e.Code != qconnect.CodeSlowConsumer:
		o.Code = "clientGone"
	default:
		o.Status, o.Code = protocol.Status(e.Code), string(e.Code)
	}
	for _, ob := range c.s.deps.Observers {
		ob.ObserveRequest(o)
	}
}

// wsAnswer queues the answer to an observed frame — ok's envelope with msg
// when err is nil, else the error envelope — and finishes its record.
func (c *wsConn) wsAnswer(o *RequestRecord, rp reply, msg any, err error) {
	var frame []byte
	if err == nil {
		frame = c.okFrame(rp, msg)
	} else {
		frame = c.errorFrame(rp, err)
	}
	c.wsFinish(o, frame, err, 0)
	c.send(frame)
}
