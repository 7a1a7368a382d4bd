package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Session is a logged-in session (PROTOCOL 2). Its id is the HMAC key of
// every request: it is held unexported, never sent again after login, and
// never printed (formatting a Session with fmt shows the username and
// expiry only). A Session is safe for concurrent use; its fields are the
// values returned at login and are not updated (see Ping).
type Session struct {
	// Username is the name given at login.
	Username string
	// IdleTimeout is how long the session lives without a call.
	IdleTimeout time.Duration
	// Expires is the absolute end of the session (zero if not given).
	Expires time.Time

	c      *Client
	signer *Signer
	hc     *http.Client
}

// Format prints the Session without its session id, whatever the verb.
func (s Session) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "client.Session{Username: %q, IdleTimeout: %s, Expires: %s}",
		s.Username, s.IdleTimeout, s.Expires.UTC().Format(time.RFC3339))
}

// loginMsg is the LoginReq parameter object, in wire order.
type loginMsg struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Login opens a session with a LoginReq (PROTOCOL 2). A wrong username or
// password is an *Error with Code invalidCredentials; repeated failures are
// tooManyAttempts with RetryAfter set. The password is sent once, in this
// request's body, and kept nowhere.
func (c *Client) Login(ctx context.Context, username, password string) (*Session, error) {
	if username == "" {
		return nil, errors.New("login: the username is empty; give the name an administrator created with `qconnect users add`")
	}
	body, id, err := c.envelope("LoginReq", []any{loginMsg{Username: username, Password: password}})
	if err != nil {
		return nil, err
	}
	hc := c.httpClient(nil)
	resp, err := c.post(ctx, hc, "/connect/api/auth/login", body, "application/json")
	if err != nil {
		return nil, err
	}
	env, err := c.readEnvelope(resp, maxSmallBody, id, "")
	if err != nil {
		return nil, err
	}
	var m struct {
		SessionID   string  `json:"sessionId"`
		IdleTimeout float64 `json:"idleTimeout"`
		Expires     string  `json:"expires"`
	}
	if len(env.Msg) != 1 || json.Unmarshal(env.Msg[0], &m) != nil || len(m.SessionID) <= protocol.SuffixLen {
		return nil, fmt.Errorf("%w: the login response has no usable sessionId (PROTOCOL 2)", ErrNotGateway)
	}
	s := &Session{
		Username:    username,
		IdleTimeout: time.Duration(m.IdleTimeout * float64(time.Second)),
		c:           c,
	}
	if t, err := protocol.ParseDate(m.Expires); err == nil {
		s.Expires = t
	}
	base := c.hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	s.signer = NewSigner(base, username, m.SessionID)
	s.hc = c.httpClient(s.signer)
	return s, nil
}

// splitMethod checks "group/name" and returns the REST path.
func splitMethod(method string) (group, name string, err error) {
	group, name, ok := strings.Cut(method, "/")
	if !ok || !qconnect.ValidName(group) || !qconnect.ValidName(name) {
		return "", "", fmt.Errorf(`method %q must be "group/name", e.g. "monPublic/getMem" (names: letters, digits, _)`, method)
	}
	if qconnect.ReservedGroup(group) {
		return "", "", fmt.Errorf("method %q is in the reserved group %q; use Session.Methods, Ping or Logout", method, group)
	}
	return group, name, nil
}

// callBody builds the envelope of a method call: msg is [] for nil params
// and [params] otherwise (PROTOCOL 4.1). time.Time values are sent as
// RFC 3339 and time.Duration values as Go duration strings ("1h30m0s");
// dates must be given as "YYYY-MM-DD" strings.
func (s *Session) callBody(name string, params map[string]any) ([]byte, string, error) {
	var msg []any
	if params != nil {
		p := make(map[string]any, len(params))
		for k, v := range params {
			p[k] = wireParam(v)
		}
		msg = []any{p}
	}
	return s.c.envelope(name+"Req", msg)
}

// wireParam converts the Go values the protocol spells differently from
// encoding/json.
func wireParam(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case []time.Time:
		out := make([]any, len(x))
		for i, t := range x {
			out[i] = wireParam(t)
		}
		return out
	case []time.Duration:
		out := make([]any, len(x))
		for i, d := range x {
			out[i] = wireParam(d)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = wireParam(e)
		}
		return out
	}
	return v
}

// Call calls method ("group/name") with params and decodes the table it
// returns (PROTOCOL 4). A nil params sends no parameters (msg []); a non-nil
// map, even empty, is sent as the one parameter object. The whole result is
// read into memory, up to WithMaxResultBytes; write large results to disk
// with Stream. A failure, including one reported after the rows, is an
// *Error; a cut response is ErrIncomplete.
func (s *Session) Call(ctx context.Context, method string, params map[string]any) (*Result, error) {
	resp, id, err := s.postCall(ctx, method, params, FormatJSON)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return s.c.decodeResult(resp, id, method)
}

// small sends a signed request with msg [] and returns the envelope.
func (s *Session) small(ctx context.Context, path, typ string, limit int64) (*envelopeResp, error) {
	body, id, err := s.c.envelope(typ, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.c.post(ctx, s.hc, path, body, FormatJSON)
	if err != nil {
		return nil, err
	}
	return s.c.readEnvelope(resp, limit, id, "")
}

// MethodInfo describes one method the caller may call (PROTOCOL 6).
type MethodInfo struct {
	Group       string            `json:"group"`
	Name        string            `json:"name"`
	Path        string            `json:"path"`
	Description string            `json:"description"`
	Streaming   bool              `json:"streaming"`
	Params      []ParamInfo       `json:"params"`
	Columns     []qconnect.Column `json:"columns"`
	// Raw is the method's object exactly as the gateway sent it, including
	// keys this SDK does not know.
	Raw json.RawMessage `json:"-"`
}

// FullName is "group/name".
func (m MethodInfo) FullName() string { return m.Group + "/" + m.Name }

// ParamInfo describes one parameter (PROTOCOL 4.2). Optional keys are zero
// when the gateway does not send them.
type ParamInfo struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"` // as declared, e.g. "symbol[]"
	Required    bool     `json:"required"`
	Default     any      `json:"default,omitempty"`    // JSON form of 4.2; numbers as json.Number
	DefaultDoc  string   `json:"defaultDoc,omitempty"` // description of a computed default
	Description string   `json:"description"`
	Enum        []string `json:"enum,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	MaxLen      int      `json:"maxLen,omitempty"`
}

// Methods lists the methods this session's user may call (PROTOCOL 6).
func (s *Session) Methods(ctx context.Context) ([]MethodInfo, error) {
	env, err := s.small(ctx, "/connect/api/meta/methods", "MethodsReq", maxMethodsBody)
	if err != nil {
		return nil, err
	}
	out := make([]MethodInfo, 0, len(env.Msg))
	for i, raw := range env.Msg {
		var m MethodInfo
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("method list entry %d is malformed: %v (PROTOCOL 6)", i, err)
		}
		m.Raw = raw
		out = append(out, m)
	}
	return out, nil
}

// PingInfo is the session state returned by Ping (PROTOCOL 5).
type PingInfo struct {
	IdleTimeout time.Duration
	Expires     time.Time
}

// Ping keeps the session alive and returns its idle timeout and expiry.
func (s *Session) Ping(ctx context.Context) (PingInfo, error) {
	env, err := s.small(ctx, "/connect/api/auth/ping", "PingReq", maxSmallBody)
	if err != nil {
		return PingInfo{}, err
	}
	var m struct {
		IdleTimeout float64 `json:"idleTimeout"`
		Expires     string  `json:"expires"`
	}
	if len(env.Msg) != 1 || json.Unmarshal(env.Msg[0], &m) != nil {
		return PingInfo{}, errors.New("the ping response has no idleTimeout/expires object (PROTOCOL 5)")
	}
	info := PingInfo{IdleTimeout: time.Duration(m.IdleTimeout * float64(time.Second))}
	if t, err := protocol.ParseDate(m.Expires); err == nil {
		info.Expires = t
	}
	return info, nil
}

// Logout ends the session on the gateway (PROTOCOL 5). Later calls fail
// with invalidSession.
func (s *Session) Logout(ctx context.Context) error {
	_, err := s.small(ctx, "/connect/api/auth/logout", "LogoutReq", maxSmallBody)
	return err
}

// WebSocketAuthorization returns the authorization value of a WebSocket
// AuthReq frame dated date (PROTOCOL 7: verb GET, path /connect/ws, empty
// body and content type). date must be the frame's "date" exactly
// (protocol.FormatDate).
func (s *Session) WebSocketAuthorization(date string) string {
	return s.signer.Authorization(http.MethodGet, "/connect/ws", "", date, nil)
}

// postCall sends a signed call of method ("group/name") with params,
// asking for the format accept, and returns the response unread with the
// request's id.
func (s *Session) postCall(ctx context.Context, method string, params map[string]any, accept string) (*http.Response, string, error) {
	group, name, err := splitMethod(method)
	if err != nil {
		return nil, "", err
	}
	body, id, err := s.callBody(name, params)
	if err != nil {
		return nil, "", err
	}
	resp, err := s.c.post(ctx, s.hc, "/connect/api/"+group+"/"+name, body, accept)
	if err != nil {
		return nil, "", err
	}
	return resp, id, nil
}
