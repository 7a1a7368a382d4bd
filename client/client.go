package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Default bounds. Every one of them can be changed with an Option or by the
// context passed to a call.
const (
	// DefaultMaxResultBytes bounds the body Session.Call reads into memory.
	// Larger results belong on disk: use Session.Stream.
	DefaultMaxResultBytes = 256 << 20
	// maxSmallBody bounds login, ping, logout and error responses.
	maxSmallBody = 1 << 20
	// maxMethodsBody bounds the method list (PROTOCOL 6).
	maxMethodsBody = 16 << 20
)

// Client talks to one gateway. It is safe for concurrent use; a Client holds
// no session state of its own (see Login).
type Client struct {
	addr      string // scheme://host:port, for requests and messages
	hc        *http.Client
	now       func() time.Time
	newID     func() string
	maxResult int64
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send requests with hc (its Transport,
// Timeout and Jar). Redirects are never followed whatever hc says: a signed
// request cannot be replayed to another path. The default client has a 10 s
// connect timeout, a 10 s TLS handshake timeout and a 10 min wait for
// response headers, and no overall timeout: bound calls with their context.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithClock sets the clock that dates requests (default time.Now). The
// gateway rejects dates more than its allowed skew (default 300 s) away from
// its own clock.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithIDs sets the generator of request ids (default: a random UUID v4 from
// crypto/rand). It must be safe for concurrent use and never repeat an id
// within a session, or the gateway answers replayedRequest.
func WithIDs(next func() string) Option {
	return func(c *Client) {
		if next != nil {
			c.newID = next
		}
	}
}

// WithMaxResultBytes bounds the response body that Session.Call reads into
// memory (default DefaultMaxResultBytes). A larger result fails with an
// error that suggests Session.Stream.
func WithMaxResultBytes(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxResult = n
		}
	}
}

// New returns a Client for the gateway at addr: "host:port",
// "http://host:port" or "https://host:port" (the scheme defaults to http).
// A path other than "/" is refused: the protocol's paths are absolute.
func New(addr string, opts ...Option) (*Client, error) {
	a := strings.TrimSpace(addr)
	if a == "" {
		return nil, errors.New(`client: empty gateway address; give "host:port", e.g. "localhost:8080"`)
	}
	if !strings.Contains(a, "://") {
		a = "http://" + a
	}
	u, err := url.Parse(a)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf(`client: gateway address %q is not "host:port" or "http(s)://host:port"`, addr)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: gateway address %q: scheme must be http or https", addr)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf(`client: gateway address %q must be only scheme, host and port (no path, query or user), e.g. "http://localhost:8080"`, addr)
	}
	c := &Client{
		addr:      u.Scheme + "://" + u.Host,
		hc:        defaultHTTPClient(),
		now:       time.Now,
		newID:     newUUID,
		maxResult: DefaultMaxResultBytes,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Addr is the gateway's base URL, "scheme://host:port".
func (c *Client) Addr() string { return c.addr }

func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		ResponseHeaderTimeout: 10 * time.Minute,
	}}
}

// httpClient returns a copy of the client's HTTP client that uses rt
// (nil keeps its transport) and never follows redirects.
func (c *Client) httpClient(rt http.RoundTripper) *http.Client {
	hc := *c.hc
	if rt != nil {
		hc.Transport = rt
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s, _ := protocol.AppendText(nil, qconnect.GUID, b)
	return string(s)
}

// requestEnvelope is a request envelope in wire order (PROTOCOL 1).
type requestEnvelope struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Date string `json:"date"`
	Msg  []any  `json:"msg"`
}

// envelope builds a request body with a fresh id and the current date. A
// nil msg is sent as [].
func (c *Client) envelope(typ string, msg []any) (body []byte, id string, err error) {
	if msg == nil {
		msg = []any{}
	}
	id = c.newID()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(requestEnvelope{Type: typ, ID: id, Date: protocol.FormatDate(c.now()), Msg: msg}); err != nil {
		return nil, "", fmt.Errorf("encode the request: %w (parameters must be JSON values)", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), id, nil
}

// post sends body to path and returns the response. Transport failures wrap
// ErrUnreachable; a cancelled or expired ctx is returned as the ctx error.
func (c *Client) post(ctx context.Context, hc *http.Client, path string, body []byte, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build the request for %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("request to %s stopped: %w", c.addr, context.Cause(ctx))
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, c.addr, err)
	}
	return resp, nil
}

// envelopeResp is a response envelope as read by the SDK.
type envelopeResp struct {
	Type    string              `json:"type"`
	ID      *string             `json:"id"`
	Msg     []json.RawMessage   `json:"msg"`
	Meta    json.RawMessage     `json:"meta"`
	Success *bool               `json:"success"`
	Error   *protocol.WireError `json:"error"`
}

// readEnvelope reads a whole (small) response and returns its envelope on
// success. Failures are *Error for Connect errors, ErrNotGateway for
// anything that is not a Connect response, ErrIncomplete for a cut body.
func (c *Client) readEnvelope(resp *http.Response, limit int64, id, method string) (*envelopeResp, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the response: %v", ErrIncomplete, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("the gateway's response is larger than %d bytes; this is not expected for this request", limit)
	}
	env, err := c.parseEnvelope(resp, body, method)
	if err != nil {
		return nil, err
	}
	if env.ID != nil && *env.ID != id {
		return nil, fmt.Errorf("the gateway answered request id %q instead of %q; check for a caching proxy in between", *env.ID, id)
	}
	return env, nil
}

// parseEnvelope parses body as a response envelope and converts failures.
func (c *Client) parseEnvelope(resp *http.Response, body []byte, method string) (*envelopeResp, error) {
	var env envelopeResp
	if err := json.Unmarshal(body, &env); err != nil || env.Success == nil {
		// A failure after the status line of an NDJSON body is its last line;
		// a CSV failure before the body may come as a Connect-Status header.
		if e := c.errorFromNonEnvelope(resp, body, method); e != nil {
			return nil, e
		}
		if err != nil {
			return nil, notGateway(c.addr, resp.StatusCode, resp.Header.Get("Content-Type"), "not a JSON envelope")
		}
		return nil, notGateway(c.addr, resp.StatusCode, resp.Header.Get("Content-Type"), `a JSON object without the envelope's "success" key`)
	}
	if !*env.Success || resp.StatusCode != http.StatusOK {
		return nil, c.wireError(resp, env.Error, method)
	}
	return &env, nil
}

// errorFromNonEnvelope finds a Connect error in a body that is not one
// envelope: the last line of NDJSON, or a Connect-Status header.
func (c *Client) errorFromNonEnvelope(resp *http.Response, body []byte, method string) error {
	if s := resp.Header.Get("Connect-Status"); strings.HasPrefix(s, "error ") {
		return c.statusError(resp, s, method)
	}
	lines := bytes.Split(bytes.TrimSpace(body), []byte("\n"))
	if len(lines) < 2 {
		return nil
	}
	var last struct {
		Success *bool               `json:"success"`
		Error   *protocol.WireError `json:"error"`
	}
	if json.Unmarshal(lines[len(lines)-1], &last) != nil || last.Success == nil || *last.Success {
		return nil
	}
	return c.wireError(resp, last.Error, method)
}

// wireError converts a wire error object to an *Error.
func (c *Client) wireError(resp *http.Response, w *protocol.WireError, method string) *Error {
	e := &Error{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header, c.now()), Method: method}
	if w == nil {
		e.Code = qconnect.CodeInternal
		e.Message = fmt.Sprintf("the gateway reported a failure (HTTP %d) without an error object", resp.StatusCode)
		return e
	}
	e.Code, e.Message, e.Details = w.Code, w.Message, w.Details
	return e
}

// statusError parses "error <code> <message>" (a Connect-Status value).
func (c *Client) statusError(resp *http.Response, v, method string) *Error {
	rest := strings.TrimSpace(strings.TrimPrefix(v, "error"))
	code, msg, _ := strings.Cut(rest, " ")
	return c.wireError(resp, &protocol.WireError{Code: qconnect.Code(code), Message: strings.TrimSpace(msg)}, method)
}

// checkContentType reports an error when the response's media type is not
// want. HTML and other non-Connect types wrap ErrNotGateway.
func (c *Client) checkContentType(resp *http.Response, want string) error {
	ct := resp.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && mt == want {
		return nil
	}
	switch mt {
	case "application/json", "application/x-ndjson", "text/csv", "application/vnd.apache.arrow.stream":
		return fmt.Errorf("the gateway answered %s instead of the %s that was asked for; it may not support that format", mt, want)
	}
	return notGateway(c.addr, resp.StatusCode, ct, "expected "+want)
}
