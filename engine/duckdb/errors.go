package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/qconnect/qconnect"
)

// absPathRE matches an absolute file path in a DuckDB message; only its last
// element is kept.
var absPathRE = regexp.MustCompile(`(?:/[^\s'"/]+)+/([^\s'"/]+)`)

// maxMessage bounds the length of a DuckDB message passed to a caller.
const maxMessage = 1000

// translate turns an error of a call into the *qconnect.Error the server
// sends, at this package's edge:
//
//   - the call's deadline passed: CodeTimeout, "the analytic ran past its
//     timeout of 10s and was cancelled; ...";
//   - the call's context was cancelled (client gone, server shutting down):
//     CodeTimeout as well, with context.Canceled as Cause, so
//     errors.Is(err, context.Canceled) tells a caller that nobody is waiting
//     for the answer (the code is then never sent). It is not CodeInternal,
//     because nothing is broken, nor CodeAnalyticError, because the analytic
//     did not fail;
//   - an error of DuckDB or of binding a parameter: CodeAnalyticError with
//     DuckDB's message, without the query text it quotes and with server
//     file paths cut to their file names;
//   - an *qconnect.Error is returned unchanged.
//
// m may be nil (Ping).
func (e *Engine) translate(ctx context.Context, m *qconnect.Method, err error) error {
	if err == nil {
		return nil
	}
	var qe *qconnect.Error
	if errors.As(err, &qe) {
		return qe
	}
	cerr := ctx.Err()
	switch {
	case errors.Is(cerr, context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		limit := "its timeout"
		if m != nil && m.Timeout > 0 {
			limit = "its timeout of " + m.Timeout.String()
		}
		return &qconnect.Error{Code: qconnect.CodeTimeout,
			Message: "the analytic ran past " + limit + " and was cancelled; narrow the time range or ask for a larger timeout",
			Cause:   err}
	case errors.Is(cerr, context.Canceled) || errors.Is(err, context.Canceled):
		return &qconnect.Error{Code: qconnect.CodeTimeout,
			Message: "the call was cancelled before the analytic finished",
			Cause:   errors.Join(context.Canceled, err)}
	}
	what := "the analytic failed"
	if m != nil {
		what = "method " + m.FullName() + " failed"
	}
	return &qconnect.Error{Code: qconnect.CodeAnalyticError,
		Message: what + ": " + e.safeMessage(err), Cause: err}
}

// safeMessage is the text of a DuckDB or driver error fit for a caller: the
// error itself without the "LINE 1: <query>" excerpt, DuckDB's suggestions
// and CSV dialect dump, server paths reduced to file names, its lines
// joined with "; ", bounded.
func (e *Engine) safeMessage(err error) string {
	msg := err.Error()
	var de *duck.Error
	if errors.As(err, &de) {
		msg = de.Msg
	}
	for _, cut := range []string{"\n\n", "\nLINE ", "\nPossible ", "\n* ", "\n  file = "} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i]
		}
	}
	for _, p := range e.paths {
		if p != "" && p != "." {
			msg = strings.ReplaceAll(msg, p+string(filepath.Separator), "")
		}
	}
	msg = absPathRE.ReplaceAllString(msg, "$1")
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	msg = strings.Join(lines, "; ")
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}

// internalError is a bug of this package or of its caller: the server logs
// the cause and sends a reference.
func internalError(format string, args ...any) *qconnect.Error {
	return &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error", Cause: fmt.Errorf(format, args...)}
}
