package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/encode"
	"github.com/qconnect/qconnect/protocol"
)

// authed is a request that passed authentication (PROTOCOL 3.3 up to the
// replay check).
type authed struct {
	req     *protocol.Request
	user    string
	session auth.Session
	now     time.Time
	// rated: the rate token was taken with the replay check
	// (ReplayRateGuard), and rateErr is its outcome.
	rated   bool
	rateErr error
	rp      reply // the reply's type and id, made once
}

// readBody reads the request body up to the configured limit. A larger body
// is payloadTooLarge, whether announced by Content-Length or found while
// reading.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.cfg.MaxBodyBytes
	tooLarge := func() error { // formatted only when needed
		return qconnect.Errorf(qconnect.CodePayloadTooLarge,
			"the request body is larger than the limit of %d bytes; send fewer parameters or ask the operator to raise the limit", limit)
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	if r.ContentLength >= 0 {
		// The length is known and within the limit (net/http reads no more
		// than it): one allocation of the right size.
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, qconnect.Errorf(qconnect.CodeBadRequest, "the request body could not be read: %v", err)
		}
		return body, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, qconnect.Errorf(qconnect.CodeBadRequest, "the request body could not be read: %v", err)
	}
	return body, nil
}

// signed wraps a handler with the authentication steps of PROTOCOL 3.3, in
// order: body size, Authorization, envelope, session, signature, clock,
// replay. The wrapped handler does the rest (method, entitlement, params,
// limits, the call).
func (s *Server) signed(h func(w http.ResponseWriter, r *http.Request, a *authed)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rp := reply{}
		body, err := s.readBody(w, r)
		if err != nil {
			s.writeError(w, r, rp, err)
			return
		}
		authz := r.Header.Get("Authorization")
		if authz == "" {
			s.writeError(w, r, rp, qconnect.Errorf(qconnect.CodeMissingAuthorization,
				"this request needs an Authorization header; log in at /connect/api/auth/login and sign the request (PROTOCOL 3.1)"))
			return
		}
		cred, err := protocol.ParseAuthorization(authz)
		if err != nil {
			s.writeError(w, r, rp, qconnect.Errorf(qconnect.CodeMalformedAuthorization, "%v", err))
			return
		}
		req, rp, ok := s.parseEnvelope(w, r, body)
		if !ok {
			return
		}
		date, err := protocol.ParseDate(req.Date)
		if err != nil {
			s.writeError(w, r, rp, qconnect.Errorf(qconnect.CodeBadRequest, "%v", err))
			return
		}
		in := protocol.SignInput{
			Verb:        r.Method,
			Path:        requestPath(r),
			Username:    cred.Username,
			BodyMD5:     protocol.BodyMD5(body),
			ContentType: r.Header.Get("Content-Type"),
			Date:        req.Date,
		}
		a := &authed{req: req, user: cred.Username, rp: rp}
		sess, now, err := s.verifyRate(r.Context(), cred, in, date, req.ID, a)
		if err != nil {
			s.writeError(w, r, rp, err)
			return
		}
		setRequestInfo(r, func(i *requestInfo) { i.user, i.msg = cred.Username, req.Msg })
		if err := s.deps.Sessions.TouchLive(r.Context(), sess); err != nil {
			s.writeError(w, r, rp, err)
			return
		}
		a.session, a.now = sess, now
		h(w, r, a)
	}
}

// verify runs the session, signature, clock and replay steps of PROTOCOL
// 3.3 for a parsed credential. It is shared by REST and the WebSocket
// AuthReq. It returns the matching session and the server time of the check.
func (s *Server) verify(ctx context.Context, cred protocol.Credential, in protocol.SignInput, date time.Time, id string) (auth.Session, time.Time, error) {
	return s.verifyRate(ctx, cred, in, date, id, nil)
}

// verifyRate is verify that, when a is not nil and the replay guard is a
// ReplayRateGuard, also takes the rate token of a.user with the replay
// check, recording the outcome in a (see Server.rate).
func (s *Server) verifyRate(ctx context.Context, cred protocol.Credential, in protocol.SignInput, date time.Time, id string, a *authed) (auth.Session, time.Time, error) {
	cands, err := s.deps.Sessions.Candidates(ctx, cred.Username, cred.Suffix)
	if err != nil {
		return auth.Session{}, time.Time{}, err
	}
	if len(cands) == 0 {
		return auth.Session{}, time.Time{}, qconnect.Errorf(qconnect.CodeInvalidSession,
			"no live session matches this Authorization (logged out, expired or unknown); log in again")
	}
	var sess *auth.Session
	for i := range cands {
		if s.keys.get(cands[i].ID).Verify(in, cands[i].ID, cred.Signature) {
			sess = &cands[i]
			break
		}
	}
	if sess == nil {
		return auth.Session{}, time.Time{}, qconnect.Errorf(qconnect.CodeInvalidSignature,
			"the signature does not match; sign exactly the bytes sent, the path without query, the Content-Type as sent and the envelope date (PROTOCOL 3.1)")
	}
	now := s.cfg.Now()
	if err := s.checkClock(in.Date, date, now); err != nil {
		return auth.Session{}, time.Time{}, err
	}
	var err2 error
	if g, ok := s.replay.(ReplayRateGuard); ok && a != nil {
		a.rated = true
		a.rateErr, err2 = g.CheckRate(sess.ID, id, a.user, now)
	} else {
		err2 = s.replay.Check(sess.ID, id, now)
	}
	if err := err2; err != nil {
		if errors.Is(err, auth.ErrReplayed) {
			return auth.Session{}, time.Time{}, qconnect.Errorf(qconnect.CodeReplayedRequest,
				"the id %q was already used on this session; send a fresh id (a UUID) with every request", id)
		}
		if !errors.Is(err, auth.ErrReplayCacheFull) {
			return auth.Session{}, time.Time{}, err // the shared replay cache could not be asked (unavailable)
		}
		return auth.Session{}, time.Time{}, &qconnect.Error{Code: qconnect.CodeRateLimited, RetryAfter: s.cfg.ClockSkew,
			Message: "this session sent more requests within the replay window than the gateway remembers; slow down"}
	}
	return *sess, now, nil
}

// keyCache holds the prepared HMAC key of each session seen (protocol.Key),
// so that a signature check hashes only the string to sign. A key is used
// only for a session the store has just returned as live, so an entry left
// behind by a session that ended elsewhere authenticates nothing; entries
// are dropped when sessions end here, and all at once past maxKeys.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]*protocol.Key
}

const maxKeys = 100_000

func (c *keyCache) get(sessionID string) *protocol.Key {
	c.mu.Lock()
	k := c.keys[sessionID]
	c.mu.Unlock()
	if k != nil {
		return k
	}
	k = protocol.NewKey(sessionID)
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxKeys {
		c.keys = map[string]*protocol.Key{}
	}
	c.keys[sessionID] = k
	c.mu.Unlock()
	return k
}

func (c *keyCache) forget(sessionID string) {
	c.mu.Lock()
	delete(c.keys, sessionID)
	c.mu.Unlock()
}

// checkClock answers clockSkew when date is further than the allowed skew
// from now.
func (s *Server) checkClock(sent string, date, now time.Time) error {
	if d := now.Sub(date); d > s.cfg.ClockSkew || d < -s.cfg.ClockSkew {
		return qconnect.Errorf(qconnect.CodeClockSkew,
			"the request date %s is more than %s from the server's clock %s; correct the client's clock",
			sent, s.cfg.ClockSkew, protocol.FormatDate(now))
	}
	return nil
}

// overRate answers rateLimited and reports true when the caller is over the
// per-user request rate. In PROTOCOL 3.3 order it comes after the method,
// entitlement and parameter checks, so handlers call it at that point.
func (s *Server) overRate(w http.ResponseWriter, r *http.Request, a *authed) bool {
	if err := s.rate(a); err != nil {
		s.writeError(w, r, a.rp, err)
		return true
	}
	return false
}

// rate is overRate for handlers that return their error (Server.api).
func (s *Server) rate(a *authed) error {
	if a.rated {
		return a.rateErr
	}
	return s.limits.allowRate(a.user, a.now)
}

// requestPath is the path exactly as sent on the request line, without the
// query string (PROTOCOL 3.1).
func requestPath(r *http.Request) string {
	p := r.RequestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" || p[0] != '/' { // absolute-form request line
		return r.URL.EscapedPath()
	}
	return p
}

// clientAddr is the client's IP address (without port), used for login
// throttling and logs.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// handleWrongVerb answers requests to the API with a verb other than POST.
func (s *Server) handleWrongVerb(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	s.writeEnvelope(w, http.StatusMethodNotAllowed, encode.Header{Type: "ErrorResp", Date: protocol.FormatDate(s.cfg.Now())}, []any{},
		qconnect.Errorf(qconnect.CodeBadRequest, "%s is not supported here; the Connect API takes signed POST requests (PROTOCOL 0)", r.Method))
}
