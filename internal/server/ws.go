package server

import (
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/stream"
)

// WebSocket close codes of PROTOCOL 7 beyond RFC 6455's.
const (
	closeUnauthorized websocket.StatusCode = 4401 // no or failed authentication; the session ended
	closeSlowConsumer websocket.StatusCode = 4008 // the outbound queue overflowed
	closeTooMany      websocket.StatusCode = 4429 // the session or the user already has the maximum of sockets open
)

// Defaults of the WebSocket settings of Config.
const (
	defaultWSFirstFrame    = 10 * time.Second
	defaultWSPingInterval  = 30 * time.Second
	defaultWSPongTimeout   = 60 * time.Second
	defaultWSMaxFrameBytes = 1 << 20
	defaultWSQueueBytes    = 8 << 20
	defaultWSMaxSubs       = 100
	defaultWSMaxPerSession = 16
	defaultWSMaxPerUser    = 64
)

func (c *Config) setWSDefaults() {
	orDefault(&c.WSFirstFrameTimeout, defaultWSFirstFrame)
	orDefault(&c.WSPingInterval, defaultWSPingInterval)
	orDefault(&c.WSPongTimeout, defaultWSPongTimeout)
	orDefault(&c.WSMaxFrameBytes, defaultWSMaxFrameBytes)
	c.WSMaxFrameBytes = max(c.WSMaxFrameBytes, 4<<10) // room for an error envelope
	orDefault(&c.WSQueueBytes, defaultWSQueueBytes)
	c.WSQueueBytes = max(c.WSQueueBytes, 2*c.WSMaxFrameBytes) // any single frame fits
	orDefault(&c.WSMaxSubscriptions, defaultWSMaxSubs)
	orDefault(&c.WSMaxPerSession, defaultWSMaxPerSession)
	orDefault(&c.WSMaxPerUser, defaultWSMaxPerUser)
}

// wsState is the gateway's WebSocket side: the open sockets by session (so
// that a session's end closes them), the stream hub and the per-table
// publishing locks.
type wsState struct {
	hub *stream.Hub

	mu                        sync.Mutex
	conns                     map[*wsConn]struct{}
	bySession                 map[string]map[*wsConn]struct{} // session id → its authenticated sockets
	byUser                    map[string]int                  // user → authenticated sockets
	boundTo                   map[*wsConn]string              // authenticated socket → its user
	maxPerSession, maxPerUser int
	down                      bool // CloseWebSockets was called
}

func newWSState(cfg Config) *wsState {
	return &wsState{
		// An update frame is its rows plus an envelope of a few hundred
		// bytes (PROTOCOL 7 UpdateMsg).
		hub:           stream.NewHub(stream.Config{MaxBatchBytes: int(cfg.WSMaxFrameBytes) - 1024, MaxHeldBytes: cfg.WSQueueBytes, Now: cfg.Now}),
		conns:         map[*wsConn]struct{}{},
		bySession:     map[string]map[*wsConn]struct{}{},
		byUser:        map[string]int{},
		boundTo:       map[*wsConn]string{},
		maxPerSession: cfg.WSMaxPerSession,
		maxPerUser:    cfg.WSMaxPerUser,
	}
}

// add registers a new socket; it reports false after CloseWebSockets.
func (w *wsState) add(c *wsConn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down {
		return false
	}
	w.conns[c] = struct{}{}
	return true
}

// bind records that c is authenticated as user with session id. Past
// Config.WSMaxPerSession sockets of the session or WSMaxPerUser of the user
// it binds nothing and returns busy; the caller then closes the socket with
// 4429 (PROTOCOL appendix 22).
func (w *wsState) bind(c *wsConn, user, sessionID string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.bySession[sessionID]); n >= w.maxPerSession {
		return qconnect.Errorf(qconnect.CodeBusy,
			"this session already has %d WebSockets open, the most a session may; close one, or use one socket for several subscriptions", n)
	}
	if n := w.byUser[user]; n >= w.maxPerUser {
		return qconnect.Errorf(qconnect.CodeBusy,
			"you already have %d WebSockets open, the most a user may; close one, or use one socket for several subscriptions", n)
	}
	w.byUser[user]++
	w.boundTo[c] = user
	set := w.bySession[sessionID]
	if set == nil {
		set = map[*wsConn]struct{}{}
		w.bySession[sessionID] = set
	}
	set[c] = struct{}{}
	return nil
}

// remove forgets a closed socket.
func (w *wsState) remove(c *wsConn, sessionID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.conns, c)
	if user, ok := w.boundTo[c]; ok {
		delete(w.boundTo, c)
		if w.byUser[user]--; w.byUser[user] <= 0 {
			delete(w.byUser, user)
		}
	}
	if set := w.bySession[sessionID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(w.bySession, sessionID)
		}
	}
}

// sessionEnded closes the sockets of an ended session with 4401 (logout,
// expiry, eviction by a newer login). It is an auth.Sessions OnEnd callback
// and does not block.
func (w *wsState) sessionEnded(sessionID string) {
	w.mu.Lock()
	set := w.bySession[sessionID]
	delete(w.bySession, sessionID)
	w.mu.Unlock()
	for c := range set {
		c.closeWith(closeUnauthorized, "the session ended (logout, expiry or a newer login); log in again")
	}
}

// CloseWebSockets closes every WebSocket with 1001 (going away) and refuses
// new ones; http.Server.Shutdown does not track upgraded connections, so
// the command calls this from RegisterOnShutdown. It does not wait for the
// close handshakes.
func (s *Server) CloseWebSockets() {
	s.ws.mu.Lock()
	s.ws.down = true
	conns := make([]*wsConn, 0, len(s.ws.conns))
	for c := range s.ws.conns {
		conns = append(conns, c)
	}
	s.ws.mu.Unlock()
	for _, c := range conns {
		c.closeWith(websocket.StatusGoingAway, "the gateway is shutting down; reconnect later")
	}
}

// StreamStats reports the stream hub's counts: upstreams and subscriptions
// open now, and upstreams opened since start. Identical subscriptions of one
// user share an upstream.
func (s *Server) StreamStats() stream.Stats { return s.ws.hub.Stats() }

// handleWS upgrades GET /connect/ws to a WebSocket (PROTOCOL 7) and serves
// it until it closes. Cross-origin upgrades are refused unless the origin
// is on Config.CORSOrigins (cors.go): a page from another site cannot drive
// a user's socket.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, s.wsAcceptOptions(r))
	if err != nil {
		// Accept has answered the request.
		s.log.Info("websocket upgrade refused", "remote", clientAddr(r), "error", err)
		return
	}
	c.SetReadLimit(s.cfg.WSMaxFrameBytes)
	conn := s.newWSConn(c, clientAddr(r))
	if !s.ws.add(conn) {
		_ = c.Close(websocket.StatusGoingAway, "the gateway is shutting down; reconnect later")
		return
	}
	conn.run()
}
