package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Error is an error answered by the gateway, with its wire code
// (PROTOCOL.md section 8). Use errors.As(err, &e) with e of type *Error to
// inspect it. Its Error text ends with what to try next for the common codes.
type Error struct {
	// Status is the HTTP status the response carried. A failure reported
	// after the rows had started (PROTOCOL 4.4) arrives with status 200.
	Status int
	// Code is the wire code, e.g. qconnect.CodeInvalidCredentials.
	Code qconnect.Code
	// Message is the gateway's message, safe to show to a user.
	Message string
	// Details lists one problem per entry (invalidParams).
	Details []string
	// RetryAfter is the wait the gateway asked for (tooManyAttempts,
	// rateLimited, busy); zero when it gave none.
	RetryAfter time.Duration
	// Method is the "group/name" that was called; empty for login, logout,
	// ping and the method list.
	Method string
}

// Error returns "code: message (details not already in the message) — hint".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var extra []string // details the message does not already spell out
	for _, d := range e.Details {
		if !strings.Contains(e.Message, d) {
			extra = append(extra, d)
		}
	}
	if len(extra) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(extra, "; "))
		b.WriteString(")")
	}
	if h := e.Hint(); h != "" {
		b.WriteString(" — ")
		b.WriteString(h)
	}
	return b.String()
}

// Hint says what to try next for the error's code, or "" when the message
// says it all.
func (e *Error) Hint() string {
	what := "this method"
	if e.Method != "" {
		what = e.Method
	}
	switch e.Code {
	case qconnect.CodeInvalidCredentials:
		return "check the username and password"
	case qconnect.CodeClockSkew:
		return "check this machine's clock: it must be within a few minutes of the gateway's (enable NTP)"
	case qconnect.CodeInvalidSession:
		return "the session has ended (logged out, idle too long or expired); log in again"
	case qconnect.CodeInvalidSignature:
		return "the request signature did not match; log in again, and check that no proxy rewrites the request body or headers"
	case qconnect.CodeMissingAuthorization, qconnect.CodeMalformedAuthorization:
		return "the Authorization header was lost or mangled on the way; check for a proxy that strips or rewrites it"
	case qconnect.CodeForbidden:
		return "ask an administrator for access to " + what
	case qconnect.CodeUnknownMethod:
		return "check the method name (group/name); Session.Methods (qconnect methods) lists the methods you may call"
	case qconnect.CodeInvalidParams:
		return "fix the parameters listed; Session.Methods (qconnect methods) shows each parameter's type"
	case qconnect.CodeReplayedRequest:
		return "send every request with a fresh id (the default id generator does)"
	case qconnect.CodePayloadTooLarge:
		return "send fewer or shorter parameters"
	case qconnect.CodeTooManyAttempts, qconnect.CodeRateLimited, qconnect.CodeBusy:
		if e.RetryAfter > 0 {
			return "retry after " + e.RetryAfter.String()
		}
		return "retry later"
	case qconnect.CodeUnavailable:
		if e.RetryAfter > 0 {
			return "the gateway or its backend is unavailable; retry after " + e.RetryAfter.String()
		}
		return "the gateway or its backend is unavailable; retry later"
	case qconnect.CodeTimeout:
		return "narrow the parameters (for example a shorter time range) or ask an administrator for a longer timeout for " + what
	case qconnect.CodeInternal:
		return "report the reference in the message to the gateway's administrator"
	case qconnect.CodeBadRequest:
		return "the gateway could not read the request; report this as a client bug"
	}
	return ""
}

// IsAuth reports whether the error is an authentication failure (HTTP 401:
// credentials, session, signature or clock).
func (e *Error) IsAuth() bool {
	return e.Status == http.StatusUnauthorized || protocol.Status(e.Code) == http.StatusUnauthorized
}

// ErrUnreachable wraps failures to reach the gateway at all (connection
// refused, DNS, TLS, timeout before the response).
var ErrUnreachable = errors.New("cannot reach the gateway")

// ErrNotGateway wraps responses that are not Connect responses: an HTML
// error page, a proxy's answer, another service on that port.
var ErrNotGateway = errors.New("the address does not look like a qconnect gateway")

// ErrIncomplete is returned when a result ends before its end: the
// connection was cut, or the stream lacks its end marker or outcome. The data
// received so far is a partial result and must not be used as a whole one.
var ErrIncomplete = errors.New("the result is incomplete: the stream ended before its end marker (connection cut or gateway stopped); run the call again")

// notGateway builds an ErrNotGateway error describing what answered.
func notGateway(addr string, status int, contentType, why string) error {
	if contentType == "" {
		contentType = "no content type"
	}
	return fmt.Errorf("%w: %s answered HTTP %d with %s (%s); check the host and port", ErrNotGateway, addr, status, contentType, why)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}
