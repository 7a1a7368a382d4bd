package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Publishing (PROTOCOL 7, methods with a publish block). A publish carries
// rows: over REST msg is [{"rows": [row, ...]}], over the WebSocket the
// ExecuteReq params are {"rows": [row, ...]}. A row is an object of column
// name → value in the JSON form of PROTOCOL 4.3 (the form results use);
// a column left out is null. Every row is checked before anything is
// stored; one bad value rejects the whole batch with invalidParams naming
// the row and the column. Then the rows are appended to the method's table
// through the backend's qconnect.Appender (all or nothing) and fanned out to
// the subscribers, through the table's pipeline (pipe.go): publishes are
// ordered per table, stored a group per transaction, and fanned out in that
// order. The answer is msg [{"rows": N}]; what it promises is
// Config.PublishAck (PROTOCOL appendix 35).

// maxRowProblems bounds the details of one invalidParams answer.
const maxRowProblems = 20

// handlePublish answers a signed POST to a publishing method.
func (s *Server) handlePublish(r *http.Request, a *authed, m *qconnect.Method) (any, error) {
	var raw json.RawMessage
	switch len(a.req.Msg) {
	case 0:
	case 1:
		raw = a.req.Msg[0]
	default:
		return nil, rowsError(m, []string{fmt.Sprintf(`msg must hold one object, [{"rows": [...]}]; got %d elements`, len(a.req.Msg))})
	}
	release, err := s.limits.acquire(a.user, s.cfg.BusyRetryAfter)
	if err != nil {
		return nil, err
	}
	defer release()
	n, err := s.publishMsg(r.Context(), m, raw)
	if err != nil {
		return nil, err
	}
	setRequestInfo(r, func(i *requestInfo) { i.rows = int64(n) })
	return []any{map[string]int{"rows": n}}, nil
}

// publishMsg publishes the rows of msg[0] ({"rows": [...]}) of a publishing
// method; the caller has checked the entitlement.
func (s *Server) publishMsg(ctx context.Context, m *qconnect.Method, msg0 json.RawMessage) (int, error) {
	var obj map[string]json.RawMessage
	if len(msg0) == 0 || json.Unmarshal(msg0, &obj) != nil {
		return 0, rowsError(m, []string{`send the rows as {"rows": [{"<column>": value, ...}, ...]}`})
	}
	var extra []string
	for k := range obj {
		if k != "rows" {
			extra = append(extra, shorten(k, 40))
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return 0, rowsError(m, []string{fmt.Sprintf(`%s: unknown key; a publish takes only "rows"`, strings.Join(extra, ", "))})
	}
	raw, ok := obj["rows"]
	if !ok {
		return 0, rowsError(m, []string{`rows: required; send {"rows": [{"<column>": value, ...}, ...]}`})
	}
	return s.publishRaw(ctx, m, raw)
}

// Publish validates rows (a JSON array of row objects, as in a publish
// request) for the publishing method "group/name", appends them to its
// table and fans them out to subscribers: the path of REST and WebSocket
// publishing, without the caller's entitlement check. The demo feed uses
// it. Errors are *qconnect.Error: unknownMethod for a method that does not
// publish, invalidParams for a malformed batch.
func (s *Server) Publish(ctx context.Context, method string, rows json.RawMessage) (int, error) {
	m, ok := s.deps.Catalog.LookupFull(method)
	if !ok || !m.Publish {
		return 0, qconnect.Errorf(qconnect.CodeUnknownMethod, "%s is not a publishing method of the catalog", method)
	}
	return s.publishRaw(ctx, m, rows)
}

// publishRaw decodes, validates, stores and fans out rows.
func (s *Server) publishRaw(ctx context.Context, m *qconnect.Method, raw json.RawMessage) (int, error) {
	if m.Stream == nil || m.Stream.Table == "" {
		return 0, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: errors.New("publishing method " + m.FullName() + " has no table")}
	}
	rows, err := decodeRows(m, raw)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	backend, err := s.backendFor(m)
	if err != nil {
		return 0, err
	}
	app, ok := backend.(qconnect.Appender)
	if !ok {
		return 0, qconnect.Errorf(qconnect.CodeAnalyticError,
			"the backend of %s does not accept published rows; ask the operator to bind it to one that does (duckdb)", m.FullName())
	}
	timeout, _ := s.Limits(m)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, live := backend.(qconnect.LiveSource)
	if s.deps.Shared.Streams != nil && !sharedLive(backend) {
		// Every gateway stores and fans out from the shared stream
		// (relay.go); the relay returns once this gateway has accepted
		// the rows.
		if err := s.deps.Shared.Streams.Publish(ctx, m.Stream.Table, m.FullName(), raw); err != nil {
			return 0, err
		}
		if s.cfg.PublishAck == PublishAckStored {
			if err := s.pipe(m.Stream.Table).settle(ctx, nil); err != nil {
				return 0, s.callError(ctx, m, timeout, err)
			}
		}
		s.counted(len(rows))
		return len(rows), nil
	}
	// A live source (a kdb+ tickerplant) sends the rows back to its
	// subscribers itself; fanning them out here too would deliver them
	// twice. A live source that every gateway shares gets the rows once,
	// from the gateway that received them (with or without --redis), and
	// its publisher waits for the source's answer. The demo's in-process
	// source (qconnect.LocalLive) is this gateway's engine: no wait.
	r := s.pipe(m.Stream.Table).enqueue(m, app, !live, rows, timeout, sharedLive(backend) || s.cfg.PublishAck == PublishAckStored)
	if r.waited {
		select {
		case err := <-r.done:
			if err != nil {
				return 0, s.callError(ctx, m, timeout, err)
			}
		case <-ctx.Done():
			// Accepted: the rows will be committed (or the failure
			// logged) without this publisher.
			return 0, s.callError(ctx, m, timeout, ctx.Err())
		}
	}
	s.counted(len(rows))
	return len(rows), nil
}

// sharedLive reports whether backend is a live source that every gateway
// of a deployment reads (a kdb+ tickerplant): one that does not declare
// itself process-local (qconnect.LocalLive).
func sharedLive(backend qconnect.Backend) bool {
	if _, ok := backend.(qconnect.LiveSource); !ok {
		return false
	}
	l, ok := backend.(qconnect.LocalLive)
	return !ok || !l.LocalLive()
}

// decodeRows converts a JSON array of row objects to rows in m's column
// order, typed per the qconnect package doc. Every problem is one detail
// "rows[i].column: problem" (at most maxRowProblems, then a count).
func decodeRows(m *qconnect.Method, raw json.RawMessage) ([][]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var list []any
	if err := dec.Decode(&list); err != nil || list == nil {
		return nil, rowsError(m, []string{`rows: must be an array of row objects, [{"<column>": value, ...}, ...]`})
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, rowsError(m, []string{"rows: data after the array"})
	}
	var problems []string
	dropped := 0
	report := func(s string) {
		if len(problems) < maxRowProblems {
			problems = append(problems, s)
		} else {
			dropped++
		}
	}
	out := make([][]any, 0, len(list))
	for i, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			report(fmt.Sprintf("rows[%d]: must be an object of column → value", i))
			continue
		}
		row := make([]any, len(m.Columns))
		known := 0
		for j, c := range m.Columns {
			v, ok := obj[c.Name]
			if !ok {
				continue
			}
			known++
			x, err := columnValue(c.Type, v)
			if err != nil {
				report(fmt.Sprintf("rows[%d].%s: %v", i, c.Name, err))
				continue
			}
			row[j] = x
		}
		if known < len(obj) {
			var unknown []string
			for k := range obj {
				if columnIndexOf(m.Columns, k) < 0 {
					unknown = append(unknown, k)
				}
			}
			sort.Strings(unknown)
			for _, k := range unknown {
				report(fmt.Sprintf("rows[%d].%s: unknown column; the columns are %s", i, shorten(k, 40), columnNames(m.Columns)))
			}
		}
		out = append(out, row)
	}
	if len(problems) > 0 {
		if dropped > 0 {
			problems = append(problems, fmt.Sprintf("... and %d more problems", dropped))
		}
		return nil, rowsError(m, problems)
	}
	return out, nil
}

// columnValue converts one decoded JSON value (numbers as json.Number) to
// the Go value of a column type (PROTOCOL 4.3 forms).
func columnValue(t qconnect.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	x, err := protocol.DecodeValue(t, v)
	if err != nil {
		return nil, fmt.Errorf("expected %s, got %s", typeForm(t), jsonKind(v))
	}
	switch y := x.(type) {
	case int64:
		if t == qconnect.Int && (y < math.MinInt32 || y > math.MaxInt32) || t == qconnect.Short && (y < math.MinInt16 || y > math.MaxInt16) {
			return nil, fmt.Errorf("%d is out of range for %s", y, t)
		}
	case float64:
		if math.IsInf(y, 0) {
			return nil, fmt.Errorf("%s is out of range for %s", v, t)
		}
	case time.Time:
		return y.UTC(), nil
	case string:
		if t == qconnect.Char && len([]rune(y)) > 1 {
			return nil, fmt.Errorf("expected one character, got %d", len([]rune(y)))
		}
	}
	return x, nil
}

// typeForm describes the expected JSON of a column type for messages.
func typeForm(t qconnect.Type) string {
	switch t {
	case qconnect.Boolean:
		return "true or false"
	case qconnect.Long, qconnect.Int, qconnect.Short:
		return "an integer"
	case qconnect.Float, qconnect.Real:
		return "a number"
	case qconnect.Timestamp:
		return `an RFC 3339 timestamp string like "2019-07-26T15:59:00.123456789Z"`
	case qconnect.Date:
		return `a date string like "2019-07-26"`
	case qconnect.Time:
		return `a time string like "15:59:00.123"`
	case qconnect.Timespan:
		return `a timespan string like "0D01:02:03.500000000"`
	case qconnect.GUID:
		return "a UUID string"
	}
	return "a string"
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case bool:
		return "a boolean"
	case json.Number:
		return shorten(string(x), 32)
	case string:
		return strconvQuote(shorten(x, 40))
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func columnIndexOf(cols []qconnect.Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func columnNames(cols []qconnect.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// rowsError is the invalidParams error of a rejected publish.
func rowsError(m *qconnect.Method, problems []string) *qconnect.Error {
	const shown = 3
	summary := strings.Join(problems[:min(len(problems), shown)], "; ")
	if len(problems) > shown {
		summary += fmt.Sprintf("; and %d more (see details)", len(problems)-shown)
	}
	return &qconnect.Error{Code: qconnect.CodeInvalidParams,
		Message: "invalid rows for " + m.FullName() + "; nothing was stored: " + summary, Details: problems}
}
