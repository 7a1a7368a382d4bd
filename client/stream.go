package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/qconnect/qconnect/protocol"
)

// The result formats of PROTOCOL 4.4, as Accept values for Session.Stream.
const (
	FormatJSON   = "application/json"
	FormatNDJSON = "application/x-ndjson"
	FormatCSV    = "text/csv"
	FormatArrow  = "application/vnd.apache.arrow.stream"
)

// Bounds of the outcome checks: the part of a JSON envelope outside msg, and
// the final line of NDJSON, are small; anything larger is not an outcome.
const (
	maxSkeleton  = 4 << 20
	maxFinalLine = 1 << 20
	// maxCloseDrain is how much Close reads, looking for the end of a result
	// the caller stopped reading.
	maxCloseDrain = 64 << 10
)

// arrowEOS is the Arrow IPC end-of-stream marker: continuation token, length 0.
var arrowEOS = []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}

// Stream is a result body being received in one of the PROTOCOL 4.4
// formats, for writing straight to disk. Read it to the end, then Close it:
// Close reports the outcome. For CSV that is the Connect-Status trailer, for
// NDJSON the final line, for JSON the envelope's success key, for Arrow the
// end-of-stream marker. A failure the gateway reported is an *Error; a cut
// or unterminated stream is ErrIncomplete. Read returns the same error in
// place of io.EOF, so io.Copy and io.ReadAll fail too. The bytes are passed
// through unchanged. A Stream is not safe for concurrent use.
type Stream struct {
	resp    *http.Response
	check   checker
	c       *Client
	method  string
	done    bool  // the body hit EOF or an error
	outcome error // valid once done
	closed  bool
}

// checker watches the bytes of one format and decides the outcome at EOF.
type checker interface {
	observe(p []byte)
	outcome() error // nil, ErrIncomplete-wrapped, or a *protocol.WireError via wireFailure
}

// ResultMeta is the meta of a streamed result (PROTOCOL 4.3), known once the
// stream has ended.
type ResultMeta struct {
	RowCount  int64   `json:"rowCount"`
	Truncated bool    `json:"truncated"`
	ElapsedMs float64 `json:"elapsedMs"`
}

// Meta returns the result's meta once the stream has been read to its end:
// from the envelope (JSON), the final line (NDJSON) or the Connect-Meta
// trailer (CSV, Arrow). ok is false before the end or when the gateway sent
// none.
func (st *Stream) Meta() (m ResultMeta, ok bool) {
	if !st.done {
		return m, false
	}
	if mc, has := st.check.(interface{ meta() *ResultMeta }); has {
		if p := mc.meta(); p != nil {
			return *p, true
		}
	}
	if v := st.resp.Trailer.Get("Connect-Meta"); v != "" && json.Unmarshal([]byte(v), &m) == nil {
		return m, true
	}
	return m, false
}

// wireFailure carries a failure reported in the body to Stream.
type wireFailure struct{ w *protocol.WireError }

func (f *wireFailure) Error() string { return string(f.w.Code) + ": " + f.w.Message }

// Stream makes the same signed call as Call, asking for the format accept
// (FormatJSON, FormatNDJSON, FormatCSV or FormatArrow), and returns the body
// unread. A failure before the body (authentication, parameters, ...) is
// returned here as an *Error. ctx governs the whole transfer.
func (s *Session) Stream(ctx context.Context, method string, params map[string]any, accept string) (*Stream, error) {
	var ck checker
	switch accept {
	case FormatJSON:
		ck = &jsonChecker{}
	case FormatNDJSON:
		ck = &ndjsonChecker{}
	case FormatCSV:
		ck = nopChecker{}
	case FormatArrow:
		ck = &arrowChecker{}
	default:
		return nil, fmt.Errorf("stream format %q is not one of %s, %s, %s, %s", accept, FormatJSON, FormatNDJSON, FormatCSV, FormatArrow)
	}
	resp, id, err := s.postCall(ctx, method, params, accept)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		// parseEnvelope turns every non-200 answer into an error
		_, err := s.c.readEnvelope(resp, maxSmallBody, id, method)
		return nil, err
	}
	if err := s.c.checkContentType(resp, accept); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return &Stream{resp: resp, check: ck, c: s.c, method: method}, nil
}

// ContentType is the response's Content-Type header.
func (st *Stream) ContentType() string { return st.resp.Header.Get("Content-Type") }

// Read reads the body. At the end it returns io.EOF only when the outcome
// is success; otherwise the outcome error.
func (st *Stream) Read(p []byte) (int, error) {
	if st.done {
		return 0, st.endErr()
	}
	n, err := st.resp.Body.Read(p)
	if n > 0 {
		st.check.observe(p[:n])
	}
	switch {
	case err == io.EOF:
		st.finish()
		return n, st.endErr()
	case err != nil:
		st.done = true
		st.outcome = fmt.Errorf("%w (%s): %v", ErrIncomplete, st.method, err)
		return n, st.outcome
	}
	return n, nil
}

func (st *Stream) endErr() error {
	if st.outcome != nil {
		return st.outcome
	}
	return io.EOF
}

// finish decides the outcome at EOF: an error in a Connect-Status trailer
// (any format) wins; CSV needs "ok" there; the others check their body.
func (st *Stream) finish() {
	st.done = true
	status := strings.TrimSpace(st.resp.Trailer.Get("Connect-Status"))
	if strings.HasPrefix(status, "error") {
		st.outcome = st.c.statusError(st.resp, status, st.method)
		return
	}
	if _, csv := st.check.(nopChecker); csv {
		if status != "ok" {
			st.outcome = fmt.Errorf("%w (%s): the CSV body ended without a Connect-Status: ok trailer", ErrIncomplete, st.method)
		}
		return
	}
	err := st.check.outcome()
	if f, ok := err.(*wireFailure); ok {
		st.outcome = st.c.wireError(st.resp, f.w, st.method)
		return
	}
	if err != nil {
		st.outcome = fmt.Errorf("%w (%s): %v", ErrIncomplete, st.method, err)
	}
}

// Close reports the outcome and releases the connection. When the body was
// not read to its end, Close reads up to 64 KiB more to find it; a result
// left unread beyond that is ErrIncomplete. Close is safe to call twice.
func (st *Stream) Close() error {
	if st.closed {
		return st.outcome
	}
	if !st.done {
		_, _ = io.Copy(io.Discard, io.LimitReader(readerFunc(st.Read), maxCloseDrain))
		if !st.done {
			st.done = true
			st.outcome = fmt.Errorf("%w (%s): the stream was closed before the end of the result was read", ErrIncomplete, st.method)
		}
	}
	st.closed = true
	st.resp.Body.Close()
	return st.outcome
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// nopChecker is CSV's: the outcome is only in the trailer.
type nopChecker struct{}

func (nopChecker) observe([]byte) {}
func (nopChecker) outcome() error { return nil }

// arrowChecker keeps the last 8 bytes for the end-of-stream marker.
type arrowChecker struct {
	tail [8]byte
	n    int64
}

func (a *arrowChecker) observe(p []byte) {
	if len(p) >= 8 {
		copy(a.tail[:], p[len(p)-8:])
	} else {
		copy(a.tail[:], a.tail[len(p):])
		copy(a.tail[8-len(p):], p)
	}
	a.n += int64(len(p))
}

func (a *arrowChecker) outcome() error {
	if a.n < 8 || !bytes.Equal(a.tail[:], arrowEOS) {
		return fmt.Errorf("the Arrow stream lacks its end-of-stream marker")
	}
	return nil
}

// ndjsonChecker keeps the current partial line and the last complete
// non-blank line, each up to maxFinalLine bytes.
type ndjsonChecker struct {
	cur, last         []byte
	curOver, lastOver bool
	m                 *ResultMeta
}

func (n *ndjsonChecker) meta() *ResultMeta { return n.m }

func (n *ndjsonChecker) appendCur(p []byte) {
	if n.curOver || len(n.cur)+len(p) > maxFinalLine {
		n.curOver = true
		n.cur = n.cur[:0]
		return
	}
	n.cur = append(n.cur, p...)
}

func (n *ndjsonChecker) observe(p []byte) {
	k := bytes.LastIndexByte(p, '\n')
	if k < 0 {
		n.appendCur(p)
		return
	}
	head, tail := p[:k], p[k+1:]
	for {
		j := bytes.LastIndexByte(head, '\n')
		if j >= 0 {
			if line := head[j+1:]; len(bytes.TrimSpace(line)) > 0 {
				if len(line) > maxFinalLine {
					n.last, n.lastOver = n.last[:0], true
				} else {
					n.last, n.lastOver = append(n.last[:0], line...), false
				}
				break
			}
			head = head[:j]
			continue
		}
		n.appendCur(head) // the line that began before p
		if n.curOver || len(bytes.TrimSpace(n.cur)) > 0 {
			n.last, n.lastOver = append(n.last[:0], n.cur...), n.curOver
		}
		break
	}
	n.cur, n.curOver = n.cur[:0], false
	n.appendCur(tail)
}

func (n *ndjsonChecker) outcome() error {
	line, over := n.last, n.lastOver
	if n.curOver || len(bytes.TrimSpace(n.cur)) > 0 {
		line, over = n.cur, n.curOver
	}
	if over || len(line) == 0 {
		return fmt.Errorf("the NDJSON body lacks its final status line")
	}
	var f struct {
		Type    *string             `json:"type"`
		Success *bool               `json:"success"`
		Error   *protocol.WireError `json:"error"`
		Meta    *ResultMeta         `json:"meta"`
	}
	if json.Unmarshal(line, &f) != nil || f.Type == nil || f.Success == nil {
		return fmt.Errorf("the NDJSON body lacks its final status line")
	}
	n.m = f.Meta
	return successOutcome(*f.Success, f.Error)
}

func successOutcome(ok bool, w *protocol.WireError) error {
	if ok {
		return nil
	}
	if w == nil {
		w = &protocol.WireError{Code: "internal", Message: "the gateway reported a failure without an error object"}
	}
	return &wireFailure{w}
}

// jsonChecker tracks the JSON envelope's structure byte by byte and keeps
// its skeleton: everything but the contents of the top-level msg array. At
// EOF the skeleton is a small envelope holding success and error.
type jsonChecker struct {
	depth    int
	inStr    bool
	esc      bool
	skipping bool // inside the top-level msg array
	skel     []byte
	m        *ResultMeta
	over     bool
}

func (j *jsonChecker) keep(p []byte) {
	if j.skipping || j.over {
		return
	}
	if len(j.skel)+len(p) > maxSkeleton {
		j.over = true
		return
	}
	j.skel = append(j.skel, p...)
}

func (j *jsonChecker) observe(p []byte) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if j.inStr {
			if j.esc {
				j.esc = false
				j.keep(p[i : i+1])
				continue
			}
			k := bytes.IndexAny(p[i:], `"\`)
			if k < 0 {
				j.keep(p[i:])
				return
			}
			j.keep(p[i : i+k+1])
			i += k
			if p[i] == '"' {
				j.inStr = false
			} else {
				j.esc = true
			}
			continue
		}
		switch c {
		case '"':
			j.inStr = true
		case '[', '{':
			if c == '[' && j.depth == 1 && !j.skipping && j.afterMsgKey() {
				j.keep(p[i : i+1])
				j.skipping = true
			}
			j.depth++
		case ']', '}':
			j.depth--
			if j.skipping && j.depth == 1 {
				j.skipping = false
			}
		}
		j.keep(p[i : i+1])
	}
}

// afterMsgKey reports whether the skeleton ends with a top-level "msg" key
// and its colon.
func (j *jsonChecker) afterMsgKey() bool {
	s := bytes.TrimRight(j.skel, " \t\r\n")
	if !bytes.HasSuffix(s, []byte(":")) {
		return false
	}
	s = bytes.TrimRight(s[:len(s)-1], " \t\r\n")
	if !bytes.HasSuffix(s, []byte(`"msg"`)) {
		return false
	}
	s = bytes.TrimRight(s[:len(s)-5], " \t\r\n")
	return bytes.HasSuffix(s, []byte("{")) || bytes.HasSuffix(s, []byte(","))
}

func (j *jsonChecker) meta() *ResultMeta { return j.m }

func (j *jsonChecker) outcome() error {
	if j.over {
		return fmt.Errorf("the JSON envelope outside msg is larger than %d bytes", maxSkeleton)
	}
	if j.inStr || j.depth != 0 {
		return fmt.Errorf("the JSON envelope is cut")
	}
	var env struct {
		Success *bool               `json:"success"`
		Error   *protocol.WireError `json:"error"`
		Meta    *ResultMeta         `json:"meta"`
	}
	if json.Unmarshal(j.skel, &env) != nil || env.Success == nil {
		return fmt.Errorf(`the JSON envelope lacks its "success" key`)
	}
	j.m = env.Meta
	return successOutcome(*env.Success, env.Error)
}
