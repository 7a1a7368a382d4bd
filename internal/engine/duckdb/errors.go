package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	bindings "github.com/duckdb/duckdb-go-bindings"
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
//   - DuckDB out of memory or of spill space: CodeBusy with Retry-After and
//     a message naming what ran out;
//   - DuckDB interrupted without the call's context ending: CodeTimeout;
//   - an error of the analytic itself (binder, conversion, constraint,
//     catalog, parser, out of range, ... see classOf) or of binding a
//     parameter: CodeAnalyticError with DuckDB's message, without the query
//     text it quotes and with server file paths cut to their file names;
//   - any other DuckDB error (I/O, internal, fatal, ...): CodeInternal, whose
//     cause the server logs under the reference it sends;
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
	switch classify(err) {
	case classExhausted:
		return &qconnect.Error{Code: qconnect.CodeBusy, RetryAfter: busyRetryAfter, Cause: err,
			Message: what + ": DuckDB ran out of memory or spill space (" + e.safeMessage(err) +
				"); retry later or narrow the request, or ask the operator to raise --duckdb-memory-limit or free space in --duckdb-temp-dir"}
	case classInterrupted:
		// The call's context is alive, so the gateway did not interrupt
		// the query: DuckDB stopped it itself (a parallel task of the
		// analytic failed and the others were interrupted, and the
		// interrupt is what DuckDB reported).
		return &qconnect.Error{Code: qconnect.CodeAnalyticError, Cause: err,
			Message: what + ": DuckDB interrupted the query while it failed; run it again for its own error, or check its inputs"}
	case classInternal:
		return &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: fmt.Errorf("%s: %w", what, err)}
	}
	return &qconnect.Error{Code: qconnect.CodeAnalyticError,
		Message: what + ": " + e.safeMessage(err), Cause: err}
}

// busyRetryAfter is the Retry-After of a call that ran out of memory.
const busyRetryAfter = 5 * time.Second

// dbError is an error of DuckDB with its type, as the C API reports it
// (duckdb_result_error_type), so that it keeps its meaning past this
// package's edge.
type dbError struct {
	typ bindings.ErrorType
	msg string
}

func (e *dbError) Error() string { return e.msg }

// resultError is the error of a failed result.
func resultError(res *bindings.Result) error {
	return &dbError{typ: bindings.ResultErrorType(res), msg: bindings.ResultError(res)}
}

// errorClass is what an error of DuckDB means for the caller.
type errorClass int

const (
	classAnalytic    errorClass = iota // the analytic itself failed: analyticError
	classExhausted                     // memory or spill space ran out: busy
	classInterrupted                   // interrupted: by the gateway (timeout, client gone) or by DuckDB itself
	classInternal                      // anything else: internal, logged with a reference
)

// classify maps DuckDB's error type: from a *dbError (a result's or the
// appender's error, which the C API gives with its type), or else the type
// name DuckDB puts at the start of its messages ("Binder Error: ...", for
// errors the C API gives as text only: preparing, pending).
func classify(err error) errorClass {
	var de *dbError
	if errors.As(err, &de) {
		return classOf(de.typ, de.msg)
	}
	msg := err.Error()
	for prefix, t := range messageTypes {
		if strings.HasPrefix(msg, prefix) {
			return classOf(t, msg)
		}
	}
	// An error without a type: preparing (parser, binder, catalog errors)
	// or binding a parameter.
	return classAnalytic
}

// messageTypes are the prefixes of DuckDB messages, for errors that reach
// this package as text only (duckdb_prepare_error and duckdb_pending_error
// have no type).
var messageTypes = map[string]bindings.ErrorType{
	"Out of Memory Error:": bindings.ErrorTypeOutOfMemory,
	"INTERRUPT Error:":     bindings.ErrorTypeInterrupt,
	"Interrupted":          bindings.ErrorTypeInterrupt,
	"IO Error:":            bindings.ErrorTypeErrorIO,
	"INTERNAL Error:":      bindings.ErrorTypeInternal,
	"FATAL Error:":         bindings.ErrorTypeFatal,
}

func classOf(t bindings.ErrorType, msg string) errorClass {
	switch t {
	case bindings.ErrorTypeOutOfMemory:
		return classExhausted
	case bindings.ErrorTypeInterrupt:
		return classInterrupted
	case bindings.ErrorTypeErrorIO:
		if strings.Contains(msg, "No space left on device") || strings.Contains(msg, "max_temp_directory_size") {
			return classExhausted
		}
		return classInternal
	case bindings.ErrorTypeBinder, bindings.ErrorTypeConversion, bindings.ErrorTypeConstraint,
		bindings.ErrorTypeCatalog, bindings.ErrorTypeParser, bindings.ErrorTypeSyntax,
		bindings.ErrorTypeOutOfRange, bindings.ErrorTypeDivideByZero, bindings.ErrorTypeInvalidInput,
		bindings.ErrorTypeMismatchType, bindings.ErrorTypeInvalidType, bindings.ErrorTypeDecimal,
		bindings.ErrorTypeExpression, bindings.ErrorTypeParameterNotResolved,
		bindings.ErrorTypeParameterNotAllowed, bindings.ErrorTypeNotImplemented,
		bindings.ErrorTypeDependency, bindings.ErrorTypeSequence, bindings.ErrorTypeMissingExtension,
		bindings.ErrorTypeAutoload, bindings.ErrorTypeUnknownType, bindings.ErrorTypeTransaction:
		return classAnalytic
	}
	return classInternal
}

// safeMessage is the text of a DuckDB or binding error fit for a caller: the
// error itself without the "LINE 1: <query>" excerpt, DuckDB's suggestions
// and CSV dialect dump, server paths reduced to file names, its lines
// joined with "; ", bounded.
func (e *Engine) safeMessage(err error) string {
	msg := err.Error()
	var dbe *dbError
	if errors.As(err, &dbe) {
		msg = dbe.msg
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
