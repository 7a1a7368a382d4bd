package protocol

import (
	"net/http"

	"github.com/qconnect/qconnect"
)

// statusOf is the one code → HTTP status table (PROTOCOL 8).
var statusOf = map[qconnect.Code]int{
	qconnect.CodeBadRequest:             http.StatusBadRequest,
	qconnect.CodeMissingAuthorization:   http.StatusUnauthorized,
	qconnect.CodeMalformedAuthorization: http.StatusUnauthorized,
	qconnect.CodeInvalidSession:         http.StatusUnauthorized,
	qconnect.CodeInvalidSignature:       http.StatusUnauthorized,
	qconnect.CodeClockSkew:              http.StatusUnauthorized,
	qconnect.CodeInvalidCredentials:     http.StatusUnauthorized,
	qconnect.CodeForbidden:              http.StatusForbidden,
	qconnect.CodeUnknownMethod:          http.StatusNotFound,
	qconnect.CodeReplayedRequest:        http.StatusConflict,
	qconnect.CodePayloadTooLarge:        http.StatusRequestEntityTooLarge,
	qconnect.CodeInvalidParams:          http.StatusUnprocessableEntity,
	qconnect.CodeTooManyAttempts:        http.StatusTooManyRequests,
	qconnect.CodeRateLimited:            http.StatusTooManyRequests,
	qconnect.CodeSlowConsumer:           http.StatusTooManyRequests,
	qconnect.CodeInternal:               http.StatusInternalServerError,
	qconnect.CodeAnalyticError:          http.StatusBadGateway,
	qconnect.CodeBusy:                   http.StatusServiceUnavailable,
	qconnect.CodeTimeout:                http.StatusGatewayTimeout,
	qconnect.CodeUnavailable:            http.StatusServiceUnavailable,
}

// Status returns the HTTP status of a wire code; unknown codes are 500.
func Status(c qconnect.Code) int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Codes lists every wire code with a status, for documentation and tests.
func Codes() map[qconnect.Code]int {
	out := make(map[qconnect.Code]int, len(statusOf))
	for k, v := range statusOf {
		out[k] = v
	}
	return out
}
