package server

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
)

// wsConn is one WebSocket. Three goroutines serve it: the reader (the
// handler's goroutine: frames in, answers queued), the writer (the queue out,
// then the close handshake) and the pinger. Call goroutines (ExecuteReq,
// snapshots) and the stream hub queue frames too.
//
// The outbound queue is bounded in bytes (Config.WSQueueBytes). A frame that
// does not fit means the client has fallen that far behind: the socket is
// marked slow, its queue dropped, every subscription ends with
// SubscriptionEndMsg slowConsumer and the socket closes with 4008. Queueing
// never blocks, so a slow client holds up neither the publisher nor the
// other subscribers.
type wsConn struct {
	s       *Server
	ws      *websocket.Conn
	remote  string
	ctx     context.Context // ends when the socket is done
	cancel  context.CancelFunc
	started time.Time
	done    chan struct{} // closed when the writer has finished

	authed atomic.Bool
	// Set by the reader before authed is stored, read-only afterwards.
	user       string
	session    auth.Session
	ownSession bool // opened by this socket's LoginReq: it ends with the socket

	framesIn, framesOut atomic.Int64
	writing             atomic.Bool // the writer is inside a frame write

	mu          sync.Mutex
	queue       []outFrame
	queued      int64 // bytes in queue
	wake        chan struct{}
	closing     bool // no more frames but forced ones; close after the queue
	closeCode   websocket.StatusCode
	closeReason string
	slow        bool // the queue overflowed; the writer ends the subscriptions
	subs        map[string]*wsSub
	setups      int // subscriptions being set up (counted against the limit)
}

// outFrame is one text frame: head + body + tail. body may be shared by
// the frames of many sockets (the rows of an update). An UpdateMsg (seq >
// 0) has no head: the writer composes it from sub, seq and date.
type outFrame struct {
	head, body, tail []byte
	sub              string // subscription id of an UpdateMsg
	seq              uint64 // its seq; 0: not an UpdateMsg
	date             string // its date (shared by the batch's frames)
}

const (
	updatePrefix = `{"type":"UpdateMsg","subscriptionId":"`
	updateSeq    = `","seq":`
	updateDate   = `,"date":"`
	updateMsg    = `","msg":`
)

func (f outFrame) headLen() int {
	if f.seq == 0 {
		return len(f.head)
	}
	n := len(updatePrefix) + len(f.sub) + len(updateSeq) + len(updateDate) + len(f.date) + len(updateMsg)
	for v := f.seq; v > 0; v /= 10 {
		n++
	}
	return n
}

func (f outFrame) size() int64 { return int64(f.headLen() + len(f.body) + len(f.tail)) }

// appendHead appends the frame's head to dst.
func (f outFrame) appendHead(dst []byte) []byte {
	if f.seq == 0 {
		return append(dst, f.head...)
	}
	dst = append(dst, updatePrefix...)
	dst = append(dst, f.sub...)
	dst = append(dst, updateSeq...)
	dst = strconv.AppendUint(dst, f.seq, 10)
	dst = append(dst, updateDate...)
	dst = append(dst, f.date...)
	return append(dst, updateMsg...)
}

func (s *Server) newWSConn(c *websocket.Conn, remote string) *wsConn {
	ctx, cancel := context.WithCancel(context.Background())
	return &wsConn{s: s, ws: c, remote: remote, ctx: ctx, cancel: cancel, started: time.Now(),
		done: make(chan struct{}), wake: make(chan struct{}, 1), subs: map[string]*wsSub{}}
}

// run serves the socket until it closes, then releases everything it held.
func (c *wsConn) run() {
	go c.writeLoop()
	go c.pingLoop()
	readErr := c.readLoop()
	c.closeWith(websocket.StatusNormalClosure, "")
	// The peer may be gone: do not wait longer for the writer than a close
	// handshake takes.
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
	}
	c.cancel()
	_ = c.ws.CloseNow()
	<-c.done
	c.endSubs(nil)
	c.s.ws.remove(c, c.session.ID)
	if c.ownSession {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.s.deps.Sessions.End(ctx, c.session.ID); err != nil {
			c.s.log.Warn("websocket: ending the socket's session", "user", c.user, "error", err)
		}
		cancel()
	}
	c.mu.Lock()
	code, reason := c.closeCode, c.closeReason
	c.mu.Unlock()
	if cs := websocket.CloseStatus(readErr); cs != -1 && code == websocket.StatusNormalClosure && reason == "" {
		code, reason = cs, "closed by the client"
	}
	c.s.log.LogAttrs(context.Background(), slog.LevelInfo, "websocket closed",
		slog.String("user", c.user), slog.String("remote", c.remote),
		slog.Int("code", int(code)), slog.String("reason", reason),
		slog.Int64("framesIn", c.framesIn.Load()), slog.Int64("framesOut", c.framesOut.Load()),
		slog.Float64("seconds", time.Since(c.started).Seconds()))
}

// enqueue queues a frame. It reports false when the socket is closing or
// the frame does not fit, which marks the socket slow.
func (c *wsConn) enqueue(f outFrame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	if c.queued+f.size() > c.s.cfg.WSQueueBytes {
		c.markSlowLocked()
		return false
	}
	c.pushLocked(f)
	return true
}

// send queues a complete frame (a response).
func (c *wsConn) send(frame []byte) bool { return c.enqueue(outFrame{head: frame}) }

func (c *wsConn) pushLocked(f outFrame) {
	c.queue = append(c.queue, f)
	c.queued += f.size()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// markSlowLocked starts the slow-consumer end: the queue is dropped (its
// memory is released at once), no frame is queued any more but the
// SubscriptionEndMsg frames, and the writer closes with 4008.
func (c *wsConn) markSlowLocked() {
	if c.closing {
		return
	}
	c.slow, c.closing = true, true
	c.s.counters.slowCuts.Add(1)
	c.closeCode = closeSlowConsumer
	c.closeReason = "slow consumer: the outbound queue overflowed; read faster or subscribe to less"
	c.queue, c.queued = nil, 0
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// closeWith asks the writer to send what is queued, then close with code.
// Later calls do nothing. It does not block.
func (c *wsConn) closeWith(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.closing, c.closeCode, c.closeReason = true, code, reason
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *wsConn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// writeBound is the reused timeout context of a socket's writes.
type writeBound struct {
	ctx    context.Context
	cancel context.CancelFunc
	made   time.Time
}

// get returns a context ending at least d/2 from now (and at most d).
func (b *writeBound) get(parent context.Context, d time.Duration) context.Context {
	if now := time.Now(); b.ctx == nil || now.Sub(b.made) > d/2 {
		b.stop()
		b.ctx, b.cancel = context.WithTimeout(parent, d)
		b.made = now
	}
	return b.ctx
}

func (b *writeBound) stop() {
	if b.cancel != nil {
		b.cancel()
	}
}

// writeLoop writes queued frames in order; when the socket is closing and
// the queue is empty it performs the close handshake.
//
// Each write is bounded by WSPongTimeout: the bound's context is made once
// and reused for the writes of the next WSPongTimeout/2 (so each write has
// between half and all of the timeout), not made per frame, which cost a
// tenth of the fan-out's CPU.
func (c *wsConn) writeLoop() {
	defer close(c.done)
	var buf []byte
	var bound writeBound
	defer bound.stop()
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closing {
			c.mu.Unlock()
			select {
			case <-c.wake:
			case <-c.ctx.Done():
				return
			}
			c.mu.Lock()
		}
		if c.slow {
			c.slow = false
			c.mu.Unlock()
			c.endSubs(qconnect.Errorf(qconnect.CodeSlowConsumer,
				"this socket fell more than %d bytes behind; read faster, subscribe to less, or ask for conflation", c.s.cfg.WSQueueBytes))
			continue
		}
		if len(c.queue) == 0 {
			code, reason := c.closeCode, c.closeReason
			c.mu.Unlock()
			_ = c.ws.Close(code, reason)
			c.cancel()
			return
		}
		f := c.queue[0]
		c.queue[0] = outFrame{}
		c.queue = c.queue[1:]
		c.queued -= f.size()
		c.mu.Unlock()

		var p []byte
		if f.seq == 0 && len(f.body) == 0 && len(f.tail) == 0 {
			p = f.head
		} else {
			if n := int(f.size()); cap(buf) < n {
				buf = make([]byte, 0, n)
			}
			p = append(append(f.appendHead(buf[:0]), f.body...), f.tail...)
		}
		c.writing.Store(true)
		err := c.ws.Write(bound.get(c.ctx, c.s.cfg.WSPongTimeout), websocket.MessageText, p)
		c.writing.Store(false)
		if cap(buf) > 64<<10 {
			buf = nil // do not keep a large buffer per socket
		}
		if err != nil {
			c.cancel()
			_ = c.ws.CloseNow()
			return
		}
		c.framesOut.Add(1)
	}
}

// pingLoop pings the client every WSPingInterval and closes a socket that
// does not answer within WSPongTimeout. While a frame write is under way the
// ping is skipped: the write has the same timeout and is itself the
// liveness test (a ping would wait for the frame lock and, by the library's
// rule, kill the socket after 5 s — before a slow consumer could read its
// SubscriptionEndMsg). An answered ping keeps the session alive (the socket
// is activity) and re-checks the subscriptions' entitlements, so a grant
// revoked by a users-file reload ends them.
func (c *wsConn) pingLoop() {
	t := time.NewTicker(c.s.cfg.WSPingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if c.writing.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.WSPongTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			if c.ctx.Err() == nil {
				c.closeWith(websocket.StatusPolicyViolation, "no pong within the timeout; the socket is presumed dead")
				// The writer may be stuck on a dead peer: do not wait for it.
				_ = c.ws.CloseNow()
			}
			return
		}
		if !c.authed.Load() {
			continue
		}
		if err := c.s.deps.Sessions.Touch(c.ctx, c.session.ID); err != nil {
			if errors.Is(err, auth.ErrNoSession) {
				c.closeWith(closeUnauthorized, "the session ended (logout, expiry or a newer login); log in again")
				return
			}
		}
		c.recheckEntitlements()
	}
}

// recheckEntitlements ends subscriptions whose method the user may no
// longer call.
func (c *wsConn) recheckEntitlements() {
	dir := c.s.deps.Users.Current()
	c.mu.Lock()
	var revoked []*wsSub
	for _, sub := range c.subs {
		m := sub.method
		if !dir.Allowed(c.user, m.Group, m.Name) {
			revoked = append(revoked, sub)
		}
	}
	c.mu.Unlock()
	for _, sub := range revoked {
		c.endSub(sub, qconnect.Errorf(qconnect.CodeForbidden,
			"you are no longer entitled to %s; ask an administrator to grant it to one of your groups", sub.method.FullName()))
	}
}

// endSubs ends every subscription of the socket. With err non-nil each
// announced one gets a SubscriptionEndMsg, queued even though the socket is
// closing.
func (c *wsConn) endSubs(err *qconnect.Error) {
	c.mu.Lock()
	subs := make([]*wsSub, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.subs = map[string]*wsSub{}
	c.mu.Unlock()
	sort.Slice(subs, func(i, j int) bool { return subs[i].id < subs[j].id })
	for _, s := range subs {
		s.sub.Close()
		if err != nil && s.announced.Load() {
			c.mu.Lock()
			c.pushLocked(outFrame{head: subscriptionEnd(s.id, c.s.cfg.Now(), err)})
			c.mu.Unlock()
		}
	}
}

// endSub ends one subscription with a SubscriptionEndMsg carrying err.
func (c *wsConn) endSub(s *wsSub, err *qconnect.Error) {
	c.mu.Lock()
	_, ok := c.subs[s.id]
	delete(c.subs, s.id)
	c.mu.Unlock()
	if !ok {
		return
	}
	s.sub.Close()
	if s.announced.Load() {
		c.send(subscriptionEnd(s.id, c.s.cfg.Now(), err))
	}
}
