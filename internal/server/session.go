package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/protocol"
)

// loginMsg is msg[0] of a LoginReq.
type loginMsg struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

// handleLogin opens a session (PROTOCOL 2). Throttling is checked before the
// password, per username and per client address (checkPassword); wrong
// usernames and wrong passwords get the same answer in about the same time.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	rp := reply{reqType: "LoginReq"}
	setRequestInfo(r, func(i *requestInfo) { i.method = "auth/login" })
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, rp, err)
		return
	}
	req, rp, ok := s.parseEnvelope(w, r, body)
	if !ok {
		return
	}
	sess, err := s.openSession(r.Context(), req, clientAddr(r), func(user string) {
		setRequestInfo(r, func(i *requestInfo) { i.user = user })
	})
	if err != nil {
		s.writeError(w, r, rp, err)
		return
	}
	s.writeOK(w, rp, []any{s.loginResult(sess)})
}

// openSession checks a parsed LoginReq — its type and msg, its date against
// the clock, the login throttle for the username and addr (the client's
// address), then the password — and opens a session. It is shared by the
// REST login and the WebSocket LoginReq (PROTOCOL 2 and 7). named, when not
// nil, learns the username once the msg is read (for the request log).
func (s *Server) openSession(ctx context.Context, req *protocol.Request, addr string, named func(user string)) (auth.Session, error) {
	if req.Type != "LoginReq" {
		return auth.Session{}, qconnect.Errorf(qconnect.CodeBadRequest, "a login request has type \"LoginReq\", not %q", req.Type)
	}
	var m loginMsg
	if len(req.Msg) != 1 || json.Unmarshal(req.Msg[0], &m) != nil || m.Username == nil || m.Password == nil || *m.Username == "" {
		return auth.Session{}, qconnect.Errorf(qconnect.CodeBadRequest,
			`a LoginReq's msg is [{"username": "<name>", "password": "<password>"}]`)
	}
	date, err := protocol.ParseDate(req.Date)
	if err != nil {
		return auth.Session{}, qconnect.Errorf(qconnect.CodeBadRequest, "%v", err)
	}
	now := s.cfg.Now()
	if err := s.checkClock(req.Date, date, now); err != nil {
		return auth.Session{}, err
	}
	user := *m.Username
	if named != nil {
		named(user)
	}
	dir, err := s.checkPasswordIn(ctx, user, *m.Password, addr, now)
	if err != nil {
		return auth.Session{}, err
	}
	sess, err := s.deps.Sessions.Open(ctx, user)
	if err != nil {
		return auth.Session{}, err
	}
	// A reload that changed this user's password (or removed the user)
	// between the check and Open ended the user's sessions before this one
	// existed: end it too (PROTOCOL appendix 23).
	if cur := s.deps.Users.Current(); cur != dir && slices.Contains(dir.CredentialsChanged(cur), user) {
		_ = s.deps.Sessions.End(context.WithoutCancel(ctx), sess.ID)
		return auth.Session{}, errWrongCredentials()
	}
	return sess, nil
}

// loginResult is msg[0] of a successful LoginResp.
func (s *Server) loginResult(sess auth.Session) map[string]any {
	return map[string]any{
		"sessionId":   sess.ID,
		"username":    sess.User,
		"idleTimeout": int64(s.deps.Sessions.IdleTimeout() / time.Second),
		"expires":     protocol.FormatDate(s.deps.Sessions.Deadline(sess)),
	}
}

// handleLogout ends the session (PROTOCOL 5).
func (s *Server) handleLogout(r *http.Request, a *authed) (any, error) {
	setRequestInfo(r, func(i *requestInfo) { i.method = "auth/logout" })
	if err := s.rate(a); err != nil {
		return nil, err
	}
	if err := s.deps.Sessions.End(r.Context(), a.session.ID); err != nil {
		return nil, err
	}
	return []any{}, nil
}

// handlePing reports the session's idle timeout and expiry (PROTOCOL 5).
func (s *Server) handlePing(r *http.Request, a *authed) (any, error) {
	setRequestInfo(r, func(i *requestInfo) { i.method = "auth/ping" })
	if err := s.rate(a); err != nil {
		return nil, err
	}
	return s.pingMsg(a.session), nil
}

// pingMsg is the msg of a PingResp, REST or WebSocket (PROTOCOL 5):
// [{"expires": the session's deadline, "idleTimeout": seconds}], built
// with append (the signed ping is the gateway's hottest path).
func (s *Server) pingMsg(sess auth.Session) json.RawMessage {
	b := make([]byte, 0, 80)
	b = append(b, `[{"expires":`...)
	b = protocol.AppendJSONString(b, protocol.FormatDate(s.deps.Sessions.Deadline(sess)))
	b = append(b, `,"idleTimeout":`...)
	b = strconv.AppendInt(b, int64(s.deps.Sessions.IdleTimeout()/time.Second), 10)
	return append(b, "}]"...)
}

// basicAuth guards the documentation with HTTP Basic and a user's password
// (Config.Docs = DocsLogin). Failures count against the login throttle.
func (s *Server) basicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		now := s.cfg.Now()
		if ok {
			err := s.checkPassword(r.Context(), user, pass, clientAddr(r), now)
			if err == nil {
				next.ServeHTTP(w, r)
				return
			}
			switch e := qconnect.AsError(err); e.Code {
			case qconnect.CodeTooManyAttempts:
				w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
				http.Error(w, "too many failed logins; wait and try again", http.StatusTooManyRequests)
				return
			case qconnect.CodeBusy:
				w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
				http.Error(w, "too many logins at once; retry after the Retry-After delay", http.StatusServiceUnavailable)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="qconnect docs", charset="UTF-8"`)
		http.Error(w, "log in with your qconnect username and password to read the API documentation", http.StatusUnauthorized)
	})
}

// parseEnvelope parses a REST request's envelope (PROTOCOL 2) and records
// its id for the request log. It returns the reply that answers it (type
// and id as far as they could be read); on a malformed envelope it has
// written the error and reports false.
func (s *Server) parseEnvelope(w http.ResponseWriter, r *http.Request, body []byte) (*protocol.Request, reply, bool) {
	req, err := protocol.ParseRequest(body)
	rp := reply{reqType: req.Type, id: idPtr(req.ID)}
	setRequestInfo(r, func(i *requestInfo) { i.id = req.ID })
	if err != nil {
		s.writeError(w, r, rp, err)
		return nil, rp, false
	}
	return req, rp, true
}
