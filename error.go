package qconnect

import (
	"errors"
	"fmt"
	"time"
)

// Code is a wire error code (PROTOCOL.md section 8).
type Code string

// The error codes of PROTOCOL.md section 8.
const (
	CodeBadRequest             Code = "badRequest"
	CodeMissingAuthorization   Code = "missingAuthorization"
	CodeMalformedAuthorization Code = "malformedAuthorization"
	CodeInvalidSession         Code = "invalidSession"
	CodeInvalidSignature       Code = "invalidSignature"
	CodeClockSkew              Code = "clockSkew"
	CodeInvalidCredentials     Code = "invalidCredentials"
	CodeForbidden              Code = "forbidden"
	CodeUnknownMethod          Code = "unknownMethod"
	CodeReplayedRequest        Code = "replayedRequest"
	CodePayloadTooLarge        Code = "payloadTooLarge"
	CodeInvalidParams          Code = "invalidParams"
	CodeTooManyAttempts        Code = "tooManyAttempts"
	CodeRateLimited            Code = "rateLimited"
	CodeInternal               Code = "internal"
	CodeAnalyticError          Code = "analyticError"
	CodeBusy                   Code = "busy"
	CodeTimeout                Code = "timeout"
	// CodeUnavailable: the gateway cannot serve the call right now because
	// something it depends on is gone (a backend connection, the shared
	// session store) or it is shutting down. Retry, possibly elsewhere.
	CodeUnavailable Code = "unavailable"
	// CodeSlowConsumer ends a subscription whose consumer fell behind (PROTOCOL 7).
	CodeSlowConsumer Code = "slowConsumer"
)

// Error is the one error type that crosses package boundaries. Message is
// safe to show to the caller; Cause is for the server log only.
type Error struct {
	Code       Code
	Message    string
	Details    []string      // one entry per problem (invalidParams)
	RetryAfter time.Duration // for tooManyAttempts, rateLimited, busy
	Cause      error         // never sent to the client
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with a formatted, client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error. An error that is not one becomes
// CodeInternal with a generic message and err as its cause.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error", Cause: err}
}

// ErrorCode returns the wire code of err, CodeInternal for foreign errors and
// "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
