package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/encode"
	"github.com/qconnect/qconnect/protocol"
)

// readLoop reads frames until the socket closes. The first frame must be a
// LoginReq or an AuthReq within WSFirstFrameTimeout, else the socket closes
// with 4401. It returns the error that ended reading.
func (c *wsConn) readLoop() error {
	var gotFirst atomic.Bool
	first := time.AfterFunc(c.s.cfg.WSFirstFrameTimeout, func() {
		if !gotFirst.Load() {
			c.closeWith(closeUnauthorized, "no LoginReq or AuthReq within the first-frame timeout; authenticate first (PROTOCOL 7)")
		}
	})
	defer first.Stop()
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			return err
		}
		gotFirst.Store(true)
		c.framesIn.Add(1)
		if c.isClosing() {
			continue // closing: frames are no longer answered
		}
		if !c.authed.Load() {
			c.authenticate(typ, data)
			continue
		}
		c.handle(typ, data)
	}
}

// authenticate handles the first frame: LoginReq opens a session bound to
// the socket, AuthReq attaches an existing one with a signature over GET
// /connect/ws (PROTOCOL 7). Anything else, or a failure, is answered with
// an error envelope and the socket closes with 4401.
func (c *wsConn) authenticate(typ websocket.MessageType, data []byte) {
	o := c.wsRecord("login", "auth/login", "", nil)
	fail := func(rp reply, err error) {
		e := c.publicError(err)
		frame := c.errorFrame(rp, e)
		c.wsFinish(o, frame, e, 0)
		c.send(frame)
		c.closeWith(closeUnauthorized, "authentication failed: "+string(e.Code))
		c.s.log.Info("websocket authentication failed", "remote", c.remote, "code", e.Code)
	}
	if typ != websocket.MessageText {
		fail(reply{}, qconnect.Errorf(qconnect.CodeBadRequest, "frames are text frames holding one JSON envelope (PROTOCOL 7)"))
		return
	}
	req, err := protocol.ParseRequest(data)
	rp := reply{reqType: req.Type, id: idPtr(req.ID)}
	o.ID = req.ID
	if err != nil {
		fail(rp, err)
		return
	}
	switch req.Type {
	case "LoginReq":
		sess, err := c.s.openSession(c.ctx, req, c.remote, func(user string) { o.User = user })
		if err != nil {
			fail(rp, err)
			return
		}
		c.user, c.session, c.ownSession = sess.User, sess, true // ends the session at close, bound or not
		if err := c.s.ws.bind(c, sess.User, sess.ID); err != nil {
			c.refuseTooMany(o, rp, err)
			return
		}
		c.authed.Store(true)
		c.wsAnswer(o, rp, []any{c.s.loginResult(sess)}, nil)
	case "AuthReq":
		o.Method = "auth/attach"
		var m struct {
			Authorization string `json:"authorization"`
		}
		if len(req.Msg) != 1 || json.Unmarshal(req.Msg[0], &m) != nil || m.Authorization == "" {
			fail(rp, qconnect.Errorf(qconnect.CodeBadRequest, `an AuthReq's msg is [{"authorization": "<Authorization value signed over GET /connect/ws>"}] (PROTOCOL 7)`))
			return
		}
		cred, err := protocol.ParseAuthorization(m.Authorization)
		if err == nil {
			o.User = cred.Username
		}
		if err != nil {
			fail(rp, qconnect.Errorf(qconnect.CodeMalformedAuthorization, "%v", err))
			return
		}
		date, err := protocol.ParseDate(req.Date)
		if err != nil {
			fail(rp, qconnect.Errorf(qconnect.CodeBadRequest, "%v", err))
			return
		}
		in := protocol.SignInput{Verb: "GET", Path: "/connect/ws", Username: cred.Username,
			BodyMD5: protocol.EmptyBodyMD5, ContentType: "", Date: req.Date}
		sess, _, err := c.s.verify(c.ctx, cred, in, date, req.ID)
		if err == nil {
			err = c.s.deps.Sessions.Touch(c.ctx, sess.ID)
		}
		if err != nil {
			fail(rp, err)
			return
		}
		if err := c.s.ws.bind(c, sess.User, sess.ID); err != nil {
			c.refuseTooMany(o, rp, err)
			return
		}
		c.user, c.session = sess.User, sess
		c.authed.Store(true)
		sess.LastSeen = c.s.cfg.Now()
		c.wsAnswer(o, rp, []any{map[string]any{
			"username":    sess.User,
			"idleTimeout": int64(c.s.deps.Sessions.IdleTimeout() / time.Second),
			"expires":     protocol.FormatDate(c.s.deps.Sessions.Deadline(sess)),
		}}, nil)
	default:
		fail(rp, qconnect.Errorf(qconnect.CodeMissingAuthorization,
			"the first frame on /connect/ws must be a LoginReq or an AuthReq, not %q (PROTOCOL 7)", req.Type))
		return
	}
	// A session that ended between the check and bind above has no
	// callback left to close this socket: look again.
	if _, err := c.s.deps.Sessions.Get(c.ctx, c.session.ID); err != nil {
		c.closeWith(closeUnauthorized, "the session ended (logout, expiry or a newer login); log in again")
		return
	}
	c.s.log.Info("websocket open", "user", c.user, "remote", c.remote, "via", req.Type)
}

// refuseTooMany answers the first frame with busy and closes the socket
// with 4429: the session or the user has as many sockets as allowed.
func (c *wsConn) refuseTooMany(o *RequestRecord, rp reply, err error) {
	e := c.publicError(err)
	frame := c.errorFrame(rp, e)
	c.wsFinish(o, frame, e, 0)
	c.send(frame)
	c.closeWith(closeTooMany, "too many WebSockets for this session or user; close one first")
	c.s.log.Info("websocket refused: too many sockets", "user", c.user, "remote", c.remote)
}

// handle answers one frame of an authenticated socket.
func (c *wsConn) handle(typ websocket.MessageType, data []byte) {
	if typ != websocket.MessageText {
		c.send(c.errorFrame(reply{}, qconnect.Errorf(qconnect.CodeBadRequest, "frames are text frames holding one JSON envelope (PROTOCOL 7)")))
		return
	}
	req, err := protocol.ParseRequest(data)
	rp := reply{reqType: req.Type, id: idPtr(req.ID)}
	if err != nil {
		c.send(c.errorFrame(rp, err))
		return
	}
	// Each handler records its frame (appendix 36) and answers rateErr, when
	// set, in place of its work.
	rateErr := c.s.limits.allowRate(c.user, c.s.cfg.Now())
	switch req.Type {
	case "ExecuteReq":
		c.execute(req, rp, rateErr)
	case "SubscribeReq":
		c.subscribe(req, rp, rateErr)
	case "UnsubscribeReq":
		c.unsubscribe(req, rp, rateErr)
	case "PingReq":
		c.ping(req.ID, rp, rateErr)
	case "LogoutReq":
		c.logout(req.ID, rp, rateErr)
	default: // refused: for the rate first, as every other frame
		err := rateErr
		switch {
		case err != nil:
		case req.Type == "LoginReq" || req.Type == "AuthReq":
			err = qconnect.Errorf(qconnect.CodeBadRequest,
				"this socket is already authenticated as %s; open another socket for another session", c.user)
		default:
			err = qconnect.Errorf(qconnect.CodeBadRequest,
				"unknown frame type %q; send ExecuteReq, SubscribeReq, UnsubscribeReq, PingReq or LogoutReq (PROTOCOL 7)", req.Type)
		}
		c.send(c.errorFrame(rp, err))
	}
}

// methodMsg is msg[0] of ExecuteReq and SubscribeReq.
type methodMsg struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// methodCall reads msg[0] of ExecuteReq or SubscribeReq: the method's group
// and name and its parameters as a REST msg ([] or [params]).
func methodCall(req *protocol.Request) (group, name string, msg []json.RawMessage, err error) {
	var m methodMsg
	if len(req.Msg) != 1 || json.Unmarshal(req.Msg[0], &m) != nil || m.Method == "" {
		return "", "", nil, qconnect.Errorf(qconnect.CodeBadRequest,
			`a %s's msg is [{"method": "<group>/<method>", "params": {...}}] (PROTOCOL 7)`, req.Type)
	}
	group, name, ok := strings.Cut(m.Method, "/")
	if !ok || !qconnect.ValidName(group) || !qconnect.ValidName(name) || qconnect.ReservedGroup(group) {
		return "", "", nil, qconnect.Errorf(qconnect.CodeUnknownMethod,
			"%q names no method; give \"<group>/<method>\" (list them with meta/methods)", shorten(m.Method, 80))
	}
	if p := strings.TrimSpace(string(m.Params)); p != "" && p != "null" {
		msg = []json.RawMessage{m.Params}
	}
	return group, name, msg, nil
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ping answers PingReq like the REST ping (PROTOCOL 5) and refreshes the
// session; rateErr, when set, is the answer instead.
func (c *wsConn) ping(id string, rp reply, rateErr error) {
	o := c.wsRecord("ping", "auth/ping", id, nil) // observers: appendix 36
	if rateErr != nil {
		c.wsAnswer(o, rp, nil, rateErr)
		return
	}
	if err := c.s.deps.Sessions.Touch(c.ctx, c.session.ID); err != nil {
		c.wsAnswer(o, rp, nil, err)
		return
	}
	sess := c.session
	sess.LastSeen = c.s.cfg.Now()
	c.wsAnswer(o, rp, c.s.pingMsg(sess), nil)
}

// logout ends the session: LogoutResp, then close 1000. The session's other
// sockets close with 4401. rateErr, when set, is the answer instead.
func (c *wsConn) logout(id string, rp reply, rateErr error) {
	o := c.wsRecord("logout", "auth/logout", id, nil)
	if rateErr != nil {
		c.wsAnswer(o, rp, nil, rateErr)
		return
	}
	c.wsAnswer(o, rp, []any{}, nil)
	c.closeWith(websocket.StatusNormalClosure, "logged out")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.s.deps.Sessions.End(ctx, c.session.ID); err != nil {
		c.s.log.Warn("websocket logout", "user", c.user, "error", err)
	}
	c.ownSession = false
}

// okFrame is a successful response envelope.
func (c *wsConn) okFrame(rp reply, msg any) []byte {
	return c.envelope(rp, msg, nil)
}

// errorFrame is a failed response envelope with the REST error codes; an
// internal error is logged under a reference that the message carries.
func (c *wsConn) errorFrame(rp reply, err error) []byte {
	return c.envelope(rp, []any{}, c.publicError(err))
}

func (c *wsConn) publicError(err error) *qconnect.Error {
	e := qconnect.AsError(err)
	if e.Code != qconnect.CodeInternal {
		return e
	}
	ref := newRef()
	c.s.log.Error("internal error", slog.String("ref", ref), slog.String("path", "/connect/ws"), slog.String("user", c.user), slog.Any("error", err))
	return &qconnect.Error{Code: qconnect.CodeInternal,
		Message: "internal error (reference " + ref + "); the gateway's operator can find the cause in the server log under this reference"}
}

// envelope is a response frame: the envelope of REST (encode.AppendEnvelope).
func (c *wsConn) envelope(rp reply, msg any, e *qconnect.Error) []byte {
	b, err := encode.AppendEnvelope(make([]byte, 0, 128), c.s.header(rp), msg, nil, e)
	if err != nil {
		c.s.log.Error("encoding a websocket envelope", slog.Any("error", err))
		b, _ = encode.AppendEnvelope(b[:0], encode.Header{Type: "ErrorResp"}, nil, nil,
			&qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error"})
	}
	return b
}

// subscriptionEnd is the SubscriptionEndMsg of a subscription the server
// ended (PROTOCOL 7).
func subscriptionEnd(id string, now time.Time, err *qconnect.Error) []byte {
	b, _ := json.Marshal(struct {
		Type           string              `json:"type"`
		SubscriptionID string              `json:"subscriptionId"`
		Date           string              `json:"date"`
		Error          *protocol.WireError `json:"error"`
	}{"SubscriptionEndMsg", id, protocol.FormatDate(now), protocol.WireErrorOf(err)})
	return b
}
