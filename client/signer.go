package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/qconnect/qconnect/protocol"
)

// maxSignedBody bounds the request body the Signer reads into memory. Request
// envelopes are small (the gateway's default limit is 1 MiB).
const maxSignedBody = 64 << 20

// Signer is an http.RoundTripper that signs each request per PROTOCOL 3.1
// and passes it to Base. For each request it reads the body (and restores it
// on the request passed on, so Base sends the exact bytes that were hashed),
// takes DATE from the envelope's "date" key, hashes the body with MD5, uses
// the request's Content-Type header and URL path as sent, and sets the
// Authorization header. A request without a body (the WebSocket AuthReq of
// PROTOCOL 7) takes DATE from its Date header instead.
//
// The session id is the HMAC key; it is held unexported, never sent, and never
// printed: formatting a Signer with fmt shows the username only. A Signer is
// safe for concurrent use. It does not modify the caller's request.
type Signer struct {
	// Base sends the signed requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Username is the name given at login, exactly.
	Username string

	sessionID string
}

// NewSigner returns a Signer for the session id returned by login.
func NewSigner(base http.RoundTripper, username, sessionID string) *Signer {
	return &Signer{Base: base, Username: username, sessionID: sessionID}
}

// Authorization returns the Authorization value (PROTOCOL 3.1) for a request
// with these elements, each exactly as sent. date is the envelope's date.
func (s *Signer) Authorization(verb, path, contentType, date string, body []byte) string {
	sig := protocol.Sign(protocol.SignInput{
		Verb:        verb,
		Path:        path,
		Username:    s.Username,
		BodyMD5:     protocol.BodyMD5(body),
		ContentType: contentType,
		Date:        date,
	}, s.sessionID)
	return protocol.Authorization(s.Username, s.sessionID, sig)
}

// RoundTrip signs a clone of req and sends it with Base. It returns an error
// without sending anything when the body cannot be read, is larger than
// 64 MiB, or (when not empty) is not a JSON object with a string "date".
func (s *Signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxSignedBody+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sign request: read body: %w", err)
		}
		if len(b) > maxSignedBody {
			return nil, fmt.Errorf("sign request: the body is larger than %d bytes; send fewer parameters", maxSignedBody)
		}
		body = b
	}
	var date string
	if len(body) == 0 {
		date = req.Header.Get("Date")
		if date == "" {
			return nil, errors.New("sign request: a request without a body needs a Date header holding the date to sign")
		}
	} else {
		var env struct {
			Date *string `json:"date"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Date == nil {
			return nil, errors.New(`sign request: the body must be a JSON envelope with a string "date" key (PROTOCOL 1)`)
		}
		date = *env.Date
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	out := req.Clone(req.Context())
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		out.ContentLength = int64(len(body))
	}
	out.Header.Set("Authorization", s.Authorization(req.Method, path, req.Header.Get("Content-Type"), date, body))
	base := s.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(out)
}

// Format prints the Signer without its session id, whatever the verb.
func (s Signer) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "client.Signer{Username: %q}", s.Username)
}
