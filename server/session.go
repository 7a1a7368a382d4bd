package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/auth"
	"github.com/qconnect/qconnect/protocol"
)

// loginMsg is msg[0] of a LoginReq.
type loginMsg struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

// handleLogin opens a session (PROTOCOL 2). Throttling is checked before the
// password, per username and per client address; wrong usernames and wrong
// passwords get the same answer in about the same time.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	rp := reply{reqType: "LoginReq"}
	setRequestInfo(r, func(i *requestInfo) { i.method = "auth/login" })
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, rp, err)
		return
	}
	req, err := protocol.ParseRequest(body)
	rp = reply{reqType: req.Type, id: idPtr(req.ID)}
	setRequestInfo(r, func(i *requestInfo) { i.id = req.ID })
	if err != nil {
		s.writeError(w, r, rp, err)
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
	if err := s.checkThrottle(user, addr, now); err != nil {
		return auth.Session{}, err
	}
	if !s.deps.Users.Current().Authenticate(user, *m.Password) {
		s.loginFailed(user, addr, now)
		return auth.Session{}, qconnect.Errorf(qconnect.CodeInvalidCredentials,
			"the username or password is wrong; check both and try again")
	}
	s.loginSucceeded(user, addr)
	return s.deps.Sessions.Open(ctx, user)
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

// checkThrottle answers tooManyAttempts when the username or the client
// address has failed too often within the window.
func (s *Server) checkThrottle(user, addr string, now time.Time) error {
	if s.shared != nil {
		return s.reserveLogin(user, addr, now)
	}
	for _, key := range []string{"user:" + user, "addr:" + addr} {
		if wait, ok := s.throttle.Allow(key, now); !ok {
			return &qconnect.Error{Code: qconnect.CodeTooManyAttempts, RetryAfter: wait,
				Message: "too many failed logins for this username or from this address; wait " +
					strconv.Itoa(retrySeconds(wait)) + " s (Retry-After) and check the credentials"}
		}
	}
	return nil
}

// handleLogout ends the session (PROTOCOL 5).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, a *authed) {
	setRequestInfo(r, func(i *requestInfo) { i.method = "auth/logout" })
	if s.overRate(w, r, a) {
		return
	}
	if err := s.deps.Sessions.End(r.Context(), a.session.ID); err != nil {
		s.writeError(w, r, a.reply(), err)
		return
	}
	s.writeOK(w, a.reply(), []any{})
}

// handlePing reports the session's idle timeout and expiry (PROTOCOL 5).
func (s *Server) handlePing(w http.ResponseWriter, r *http.Request, a *authed) {
	setRequestInfo(r, func(i *requestInfo) { i.method = "auth/ping" })
	if s.overRate(w, r, a) {
		return
	}
	s.writeOK(w, a.reply(), []any{map[string]any{
		"idleTimeout": int64(s.deps.Sessions.IdleTimeout() / time.Second),
		"expires":     protocol.FormatDate(s.deps.Sessions.Deadline(a.session)),
	}})
}

// basicAuth guards the documentation with HTTP Basic and a user's password
// (Config.Docs = DocsLogin). Failures count against the login throttle.
func (s *Server) basicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		now := s.cfg.Now()
		if ok {
			if err := s.checkThrottle(user, clientAddr(r), now); err != nil {
				w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(qconnect.AsError(err).RetryAfter)))
				http.Error(w, "too many failed logins; wait and try again", http.StatusTooManyRequests)
				return
			}
			if s.deps.Users.Current().Authenticate(user, pass) {
				if s.shared != nil {
					s.loginSucceeded(user, clientAddr(r))
				}
				next.ServeHTTP(w, r)
				return
			}
			s.loginFailed(user, clientAddr(r), now)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="qconnect docs", charset="UTF-8"`)
		http.Error(w, "log in with your qconnect username and password to read the API documentation", http.StatusUnauthorized)
	})
}
