package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Result is a decoded result table (PROTOCOL 4.3). Each row holds one value
// per column, in column order, typed per the qconnect package doc (int64,
// float64, string, bool, time.Time, time.Duration, [16]byte, nil for null).
type Result struct {
	Columns []qconnect.Column
	Rows    [][]any
	// RowCount is meta.rowCount as reported by the gateway.
	RowCount int64
	// Truncated is true when the gateway cut the result at the method's row
	// cap; the rows are then a prefix of the full result.
	Truncated bool
	// ElapsedMs is the gateway's time for the call, in milliseconds.
	ElapsedMs float64
}

// resultMeta is the meta object of PROTOCOL 4.3.
type resultMeta struct {
	Columns   []qconnect.Column `json:"columns"`
	RowCount  int64             `json:"rowCount"`
	Truncated bool              `json:"truncated"`
	ElapsedMs float64           `json:"elapsedMs"`
}

// errTooLarge is returned by limitReader past its limit.
var errTooLarge = errors.New("result too large")

// limitReader fails with errTooLarge once more than n bytes were read.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

// decodeResult reads a JSON result envelope with a streaming decoder. Rows
// come before meta on the wire, so each row is kept as its raw JSON until
// the column types are known, then parsed and converted with
// protocol.DecodeValue.
func (c *Client) decodeResult(resp *http.Response, id, method string) (*Result, error) {
	if resp.StatusCode != http.StatusOK {
		// parseEnvelope turns every non-200 answer into an error
		_, err := c.readEnvelope(resp, maxSmallBody, id, method)
		return nil, err
	}
	if err := c.checkContentType(resp, FormatJSON); err != nil {
		return nil, err
	}
	lr := &limitReader{r: resp.Body, n: c.maxResult}
	dec := json.NewDecoder(lr)
	dec.UseNumber()
	fail := func(err error) error {
		switch {
		case errors.Is(err, errTooLarge):
			return fmt.Errorf("the result of %s is larger than %d bytes; write it to disk with Session.Stream (qconnect call -o FILE) or narrow the parameters", method, c.maxResult)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return fmt.Errorf("%w (%s)", ErrIncomplete, method)
		}
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if errors.As(err, &se) || errors.As(err, &te) {
			return fmt.Errorf("the gateway's result for %s is malformed at byte %d: %v", method, dec.InputOffset(), err)
		}
		if err != nil && !errors.Is(err, errBadShape) {
			return fmt.Errorf("%w (%s): %v", ErrIncomplete, method, err)
		}
		return err
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, notGateway(c.addr, resp.StatusCode, resp.Header.Get("Content-Type"), "not a JSON envelope")
	}
	var (
		rows    []json.RawMessage
		meta    *resultMeta
		success *bool
		werr    *protocol.WireError
		respID  *string
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail(err)
		}
		key, _ := tok.(string)
		switch key {
		case "msg":
			rows, err = readRows(dec)
		case "meta":
			err = dec.Decode(&meta)
		case "success":
			err = dec.Decode(&success)
		case "error":
			err = dec.Decode(&werr)
		case "id":
			err = dec.Decode(&respID)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, fail(err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fail(err)
	}
	if success == nil {
		return nil, notGateway(c.addr, resp.StatusCode, resp.Header.Get("Content-Type"), `a JSON object without the envelope's "success" key`)
	}
	if !*success {
		return nil, c.wireError(resp, werr, method)
	}
	if respID != nil && *respID != id {
		return nil, fmt.Errorf("the gateway answered request id %q instead of %q; check for a caching proxy in between", *respID, id)
	}
	if meta == nil {
		return nil, fmt.Errorf("the result of %s has no meta object, so its column types are unknown (PROTOCOL 4.3)", method)
	}
	out, err := convertRows(rows, meta.Columns)
	if err != nil {
		return nil, fmt.Errorf("the result of %s does not match its columns: %w", method, err)
	}
	return &Result{Columns: meta.Columns, Rows: out, RowCount: meta.RowCount, Truncated: meta.Truncated, ElapsedMs: meta.ElapsedMs}, nil
}

// errBadShape marks a result whose msg is not an array of objects.
var errBadShape = errors.New(`"msg" must be an array of row objects (PROTOCOL 4.3)`)

// readRows reads the msg array, keeping each row object as its raw JSON
// (checked by the decoder) until meta gives the column types.
func readRows(dec *json.Decoder) ([]json.RawMessage, error) {
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if tok != json.Delim('[') {
		return nil, errBadShape
	}
	var rows []json.RawMessage
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if len(raw) == 0 || raw[0] != '{' {
			return nil, errBadShape
		}
		rows = append(rows, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return rows, nil
}

// convertRows parses each raw row, orders its values by column and decodes
// them with protocol.DecodeValue. A key missing from a row is null; a key
// not in meta.columns is an error. Each raw row is released once converted.
func convertRows(rows []json.RawMessage, cols []qconnect.Column) ([][]any, error) {
	index := make(map[string]int, len(cols))
	for i, c := range cols {
		index[c.Name] = i
	}
	out := make([][]any, len(rows))
	var keys, lastKeys []string
	var vals []any
	var perm []int
	for r, raw := range rows {
		var err error
		keys, vals, err = scanRow(raw, lastKeys, keys[:0], vals[:0])
		if err != nil {
			return nil, fmt.Errorf("row %d: %v", r, err)
		}
		if !slices.Equal(keys, lastKeys) || perm == nil {
			lastKeys = append(lastKeys[:0], keys...)
			perm = perm[:0]
			for _, k := range keys {
				ci, ok := index[k]
				if !ok {
					return nil, fmt.Errorf("row %d has a value for %q, which is not in meta.columns", r, k)
				}
				perm = append(perm, ci)
			}
		}
		dst := make([]any, len(cols))
		for j, ci := range perm {
			v, err := protocol.DecodeValue(cols[ci].Type, vals[j])
			if err != nil {
				return nil, fmt.Errorf("row %d, column %s: %v", r, cols[ci].Name, err)
			}
			dst[ci] = v
		}
		out[r] = dst
		rows[r] = nil // let the raw bytes go
	}
	return out, nil
}

// scanRow parses one row object, already checked to be valid JSON by the
// decoder, appending its keys and values (string, json.Number, bool, nil;
// a nested value as decoded JSON) to keys and vals. A key equal to the
// previous row's key at the same position reuses that string.
func scanRow(raw []byte, prev, keys []string, vals []any) ([]string, []any, error) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, nil, errBadShape
	}
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return nil, nil, errors.New("the row object is cut")
		}
		switch raw[i] {
		case '}':
			return keys, vals, nil
		case ',':
			i = skipSpace(raw, i+1)
		}
		k, kraw, j, err := scanString(raw, i)
		if err != nil {
			return nil, nil, err
		}
		if kraw != nil {
			if n := len(keys); n < len(prev) && prev[n] == string(kraw) {
				k = prev[n]
			} else {
				k = string(kraw)
			}
		}
		i = skipSpace(raw, j)
		if i >= len(raw) || raw[i] != ':' {
			return nil, nil, errors.New("the row object is malformed")
		}
		v, j2, err := scanValue(raw, skipSpace(raw, i+1))
		if err != nil {
			return nil, nil, err
		}
		keys, vals, i = append(keys, k), append(vals, v), j2
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the JSON string at b[i]. Without escapes it returns the
// raw bytes (s empty) for the caller to convert or compare; with escapes it
// returns the decoded s. next is the index after the closing quote.
func scanString(b []byte, i int) (s string, raw []byte, next int, err error) {
	if i >= len(b) || b[i] != '"' {
		return "", nil, 0, errors.New("expected a string")
	}
	j := i + 1
	for j < len(b) && b[j] != '"' && b[j] != '\\' {
		j++
	}
	if j < len(b) && b[j] == '"' {
		return "", b[i+1 : j], j + 1, nil
	}
	for j < len(b) && b[j] != '"' { // escapes: find the real end
		if b[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(b) {
		return "", nil, 0, errors.New("a string is cut")
	}
	if err := json.Unmarshal(b[i:j+1], &s); err != nil {
		return "", nil, 0, err
	}
	return s, nil, j + 1, nil
}

// scanValue reads the JSON value at b[i].
func scanValue(b []byte, i int) (any, int, error) {
	if i >= len(b) {
		return nil, 0, errors.New("a value is missing")
	}
	switch c := b[i]; {
	case c == '"':
		s, raw, next, err := scanString(b, i)
		if raw != nil {
			s = string(raw)
		}
		return s, next, err
	case c == 't' && bytes.HasPrefix(b[i:], []byte("true")):
		return true, i + 4, nil
	case c == 'f' && bytes.HasPrefix(b[i:], []byte("false")):
		return false, i + 5, nil
	case c == 'n' && bytes.HasPrefix(b[i:], []byte("null")):
		return nil, i + 4, nil
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(b) && strings.IndexByte("0123456789.eE+-", b[j]) >= 0 {
			j++
		}
		return json.Number(b[i:j]), j, nil
	case c == '{' || c == '[':
		dec := json.NewDecoder(bytes.NewReader(b[i:]))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, 0, err
		}
		return v, i + int(dec.InputOffset()), nil
	}
	return nil, 0, fmt.Errorf("unexpected %q in a row", b[i])
}
