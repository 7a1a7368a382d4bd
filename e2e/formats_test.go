package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// The Accept values of PROTOCOL 4.4, as the tests send them.
const (
	acceptJSON   = "application/json"
	acceptNDJSON = "application/x-ndjson"
	acceptCSV    = "text/csv"
	acceptArrow  = "application/vnd.apache.arrow.stream"
)

var allAccepts = []string{acceptJSON, acceptNDJSON, acceptCSV, acceptArrow}

// arrowEndOfStream is the Arrow IPC end-of-stream marker.
var arrowEndOfStream = []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}

// allTypesCols are the declared columns of test/allTypes.
var allTypesCols = []qconnect.Column{
	{Name: "i", Type: qconnect.Long}, {Name: "b", Type: qconnect.Boolean}, {Name: "f", Type: qconnect.Float},
	{Name: "s", Type: qconnect.String}, {Name: "ts", Type: qconnect.Timestamp}, {Name: "d", Type: qconnect.Date},
	{Name: "tm", Type: qconnect.Time}, {Name: "span", Type: qconnect.Timespan}, {Name: "g", Type: qconnect.GUID},
}

// wireErr is the error object of a response.
type wireErr struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details"`
}

// metaObj is the meta object of PROTOCOL 4.3.
type metaObj struct {
	Columns   []qconnect.Column `json:"columns"`
	RowCount  int64             `json:"rowCount"`
	Truncated bool              `json:"truncated"`
	ElapsedMs *float64          `json:"elapsedMs"`
}

// rawBody is a response read to its end, or to the read error that cut it.
type rawBody struct {
	status  int
	header  http.Header
	trailer http.Header
	// announced are the trailers the Trailer header declared (Go's client
	// moves them from Header to the keys of Trailer before the body).
	announced []string
	data      []byte
	readErr   error // nil when the body ended cleanly
}

// fetch makes a signed call of a method with params (nil: msg []) asking for
// accept, and reads the whole body, keeping the trailers and any read error.
func (s *session) fetch(path string, params map[string]any, accept string) *rawBody {
	s.t.Helper()
	resp := s.open(path, params, accept)
	defer resp.Body.Close()
	var announced []string
	for k := range resp.Trailer {
		announced = append(announced, k)
	}
	sort.Strings(announced)
	data, err := io.ReadAll(resp.Body)
	return &rawBody{status: resp.StatusCode, header: resp.Header, trailer: resp.Trailer, announced: announced, data: data, readErr: err}
}

// open makes a signed call and returns the response with its body unread;
// the caller closes it.
func (s *session) open(path string, params map[string]any, accept string) *http.Response {
	s.t.Helper()
	resp, err := s.openCtx(context.Background(), path, params, accept)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	return resp
}

// openCtx is open bound to ctx: cancelling it while the response is read
// closes the connection, as a client that goes away does.
func (s *session) openCtx(ctx context.Context, path string, params map[string]any, accept string) (*http.Response, error) {
	s.t.Helper()
	msg := []any{}
	if params != nil {
		msg = []any{params}
	}
	typ := path[strings.LastIndexByte(path, '/')+1:] + "Req"
	body := envelope(typ, freshID(), protocol.FormatDate(time.Now()), msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.g.URL+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	req.Header.Set("Authorization", s.sign(path, "application/json", body))
	return http.DefaultClient.Do(req)
}

// decodeJSONRow decodes one row object, which must hold exactly the
// declared columns, into the Go values of the qconnect package doc.
func decodeJSONRow(t *testing.T, raw []byte, cols []qconnect.Column) []any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("row %s: %v", raw, err)
	}
	if len(m) != len(cols) {
		t.Fatalf("row %s has %d keys, want the %d columns", raw, len(m), len(cols))
	}
	row := make([]any, len(cols))
	for i, c := range cols {
		v, ok := m[c.Name]
		if !ok {
			t.Fatalf("row %s lacks column %s", raw, c.Name)
		}
		x, err := protocol.DecodeValue(c.Type, v)
		if err != nil {
			t.Fatalf("row %s, column %s: %v", raw, c.Name, err)
		}
		row[i] = x
	}
	return row
}

// jsonEnvelope is a JSON result envelope with its rows decoded.
type jsonEnvelope struct {
	Type    string            `json:"type"`
	ID      *string           `json:"id"`
	Msg     []json.RawMessage `json:"msg"`
	Meta    *metaObj          `json:"meta"`
	Success *bool             `json:"success"`
	Error   *wireErr          `json:"error"`
}

func decodeJSONBody(t *testing.T, data []byte, cols []qconnect.Column) (jsonEnvelope, [][]any) {
	t.Helper()
	var env jsonEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("the JSON body is not one envelope: %v\n%.2000s", err, data)
	}
	if env.Success == nil {
		t.Fatalf(`the JSON envelope lacks "success": %.2000s`, data)
	}
	rows := make([][]any, len(env.Msg))
	for i, raw := range env.Msg {
		rows[i] = decodeJSONRow(t, raw, cols)
	}
	return env, rows
}

// decodeNDJSONBody returns the rows and the final status line.
func decodeNDJSONBody(t *testing.T, data []byte, cols []qconnect.Column) (jsonEnvelope, [][]any) {
	t.Helper()
	if !bytes.HasSuffix(data, []byte("\n")) {
		t.Fatalf("the NDJSON body does not end with a newline: %.200q", data[max(0, len(data)-200):])
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	var final jsonEnvelope
	if err := json.Unmarshal(lines[len(lines)-1], &final); err != nil || final.Type == "" || final.Success == nil {
		t.Fatalf("the last NDJSON line is not the status line (%v): %s", err, lines[len(lines)-1])
	}
	rows := make([][]any, 0, len(lines)-1)
	for _, l := range lines[:len(lines)-1] {
		rows = append(rows, decodeJSONRow(t, l, cols))
	}
	return final, rows
}

// decodeCSVBody parses an RFC 4180 body with encoding/csv: the header must
// name the columns; an empty field is null.
func decodeCSVBody(t *testing.T, data []byte, cols []qconnect.Column) [][]any {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(cols)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv: %v\n%.2000s", err, data)
	}
	if len(recs) == 0 {
		t.Fatal("the CSV body has no header row")
	}
	for i, c := range cols {
		if recs[0][i] != c.Name {
			t.Fatalf("CSV header %q, want the column names", recs[0])
		}
	}
	rows := make([][]any, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		row := make([]any, len(cols))
		for i, c := range cols {
			if rec[i] == "" {
				continue
			}
			v, err := protocol.ParseText(c.Type, rec[i])
			if err != nil {
				t.Fatalf("CSV field %s = %q: %v", c.Name, rec[i], err)
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// decodeArrowBody reads an Arrow IPC stream with arrow-go's reader. It
// returns the rows read and the reader's error (nil only for a whole
// stream), and checks the schema against cols.
func decodeArrowBody(t *testing.T, data []byte, cols []qconnect.Column) ([][]any, error) {
	t.Helper()
	rd, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	s := rd.Schema()
	if s.NumFields() != len(cols) {
		t.Fatalf("Arrow schema %v, want %d fields", s, len(cols))
	}
	for i, c := range cols {
		f := s.Field(i)
		if v, _ := f.Metadata.GetValue("connect.type"); f.Name != c.Name || v != string(c.Type) {
			t.Fatalf("Arrow field %d = %v, want %s with connect.type %s", i, f, c.Name, c.Type)
		}
	}
	var rows [][]any
	for rd.Next() {
		rec := rd.RecordBatch()
		for k := 0; k < int(rec.NumRows()); k++ {
			row := make([]any, len(cols))
			for i := range cols {
				row[i] = arrowCell(t, rec.Column(i), k)
			}
			rows = append(rows, row)
		}
	}
	return rows, rd.Err()
}

func arrowCell(t *testing.T, a arrow.Array, k int) any {
	t.Helper()
	if a.IsNull(k) {
		return nil
	}
	switch a := a.(type) {
	case *array.Boolean:
		return a.Value(k)
	case *array.Int64:
		return a.Value(k)
	case *array.Float64:
		return a.Value(k)
	case *array.String:
		return a.Value(k)
	case *array.Timestamp:
		return time.Unix(0, int64(a.Value(k))).UTC()
	case *array.Date32:
		return a.Value(k).ToTime().UTC()
	case *array.Time32:
		return time.Duration(a.Value(k)) * time.Millisecond
	case *array.Duration:
		return time.Duration(a.Value(k))
	case *array.FixedSizeBinary:
		return [16]byte(a.Value(k))
	}
	t.Fatalf("unexpected Arrow array %T", a)
	return nil
}

// sameValue compares two decoded values: instants by time.Equal, the rest
// by Go type and ==.
func sameValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) && a == b
}

// sameRows fails the test at the first difference between got and want.
func sameRows(t *testing.T, what string, got, want [][]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for k := range want {
		if len(got[k]) != len(want[k]) {
			t.Fatalf("%s: row %d has %d values, want %d", what, k, len(got[k]), len(want[k]))
		}
		for i := range want[k] {
			if !sameValue(got[k][i], want[k][i]) {
				t.Fatalf("%s: row %d value %d = %#v, want %#v", what, k, i, got[k][i], want[k][i])
			}
		}
	}
}

// trailerMeta parses the Connect-Meta trailer.
func trailerMeta(t *testing.T, b *rawBody) metaObj {
	t.Helper()
	v := b.trailer.Get("Connect-Meta")
	var m metaObj
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		t.Fatalf("Connect-Meta trailer %q is not the JSON meta: %v", v, err)
	}
	return m
}

// decodeAny decodes a whole body of any format and returns its rows, the
// meta it carries (envelope, status line or trailer) and its outcome error
// code ("" for success).
func decodeAny(t *testing.T, accept string, b *rawBody, cols []qconnect.Column) ([][]any, metaObj, string) {
	t.Helper()
	if b.readErr != nil {
		t.Fatalf("%s body cut: %v", accept, b.readErr)
	}
	switch accept {
	case acceptJSON, acceptNDJSON:
		dec := decodeJSONBody
		if accept == acceptNDJSON {
			dec = decodeNDJSONBody
		}
		e, rows := dec(t, b.data, cols)
		if e.Meta == nil {
			t.Fatalf("%s: no meta", accept)
		}
		code := ""
		if !*e.Success {
			if e.Error == nil {
				t.Fatalf("%s: success:false without an error object", accept)
			}
			code = e.Error.Code
		} else if e.Error != nil {
			t.Fatalf("%s: success:true with an error object", accept)
		}
		return rows, *e.Meta, code
	case acceptCSV:
		rows := decodeCSVBody(t, b.data, cols)
		return rows, trailerMeta(t, b), statusCode(t, b)
	case acceptArrow:
		rows, err := decodeArrowBody(t, b.data, cols)
		if err != nil {
			t.Fatalf("arrow-go cannot read the whole stream: %v", err)
		}
		if !bytes.HasSuffix(b.data, arrowEndOfStream) {
			t.Fatal("the Arrow stream lacks its end-of-stream marker")
		}
		return rows, trailerMeta(t, b), statusCode(t, b)
	}
	t.Fatalf("unknown format %s", accept)
	return nil, metaObj{}, ""
}

// statusCode reads the Connect-Status trailer: "" for ok, else the code.
func statusCode(t *testing.T, b *rawBody) string {
	t.Helper()
	v := b.trailer.Get("Connect-Status")
	if v == "ok" {
		return ""
	}
	f := strings.Fields(v)
	if len(f) < 3 || f[0] != "error" {
		t.Fatalf("Connect-Status trailer %q, want ok or error <code> <message>", v)
	}
	return f[1]
}

// TestFormats: one call in JSON, NDJSON, CSV and Arrow gives the same
// values, each decoded by a reader that is not ours (encoding/json,
// encoding/csv, arrow-go); each carries its content type and its outcome
// and meta in the place PROTOCOL 4.4 gives it.
func TestFormats(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	alice := login(t, g, "alice", "alice-password")
	const path = "/connect/api/test/allTypes"
	for _, n := range []int{5000, 1, 0} { // 5000: more than one batch
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			params := map[string]any{"n": n}
			jb := alice.fetch(path, params, acceptJSON)
			if jb.status != 200 {
				t.Fatalf("JSON: HTTP %d: %s", jb.status, jb.data)
			}
			env, want := decodeJSONBody(t, jb.data, allTypesCols)
			if len(want) != n || env.Type != "allTypesResp" || env.ID == nil || !*env.Success {
				t.Fatalf("JSON envelope: %d rows, type %q, success %v", len(want), env.Type, *env.Success)
			}
			if n > 3 {
				// The query's values, checked on a few rows (the other
				// formats are compared with these).
				for _, k := range []int{0, 1, 2, 3, n - 1} {
					checkAllTypesRow(t, k, want[k])
				}
			}
			for _, accept := range allAccepts {
				b := jb
				if accept != acceptJSON {
					b = alice.fetch(path, params, accept)
				}
				if b.status != 200 {
					t.Fatalf("%s: HTTP %d: %s", accept, b.status, b.data)
				}
				if ct := b.header.Get("Content-Type"); ct != accept {
					t.Errorf("%s: Content-Type %q", accept, ct)
				}
				if accept == acceptCSV || accept == acceptArrow {
					if tr := strings.Join(b.announced, ", "); tr != "Connect-Meta, Connect-Status" {
						t.Errorf("%s: the Trailer header announces %q, want Connect-Status and Connect-Meta", accept, tr)
					}
					if v := b.trailer.Get("Connect-Status"); v != "ok" {
						t.Errorf("%s: Connect-Status trailer %q, want ok", accept, v)
					}
				}
				rows, meta, code := decodeAny(t, accept, b, allTypesCols)
				if code != "" {
					t.Fatalf("%s: outcome %s, want success", accept, code)
				}
				if meta.RowCount != int64(n) || meta.Truncated || meta.ElapsedMs == nil || *meta.ElapsedMs < 0 ||
					!reflect.DeepEqual(meta.Columns, allTypesCols) {
					t.Errorf("%s: meta %+v, want %d rows, not truncated, elapsedMs, the declared columns", accept, meta, n)
				}
				sameRows(t, accept+" vs JSON", rows, want)
			}
		})
	}
}

// checkAllTypesRow checks row k of test/allTypes against the values its
// query defines (e2e/testdata/catalog.yaml).
func checkAllTypesRow(t *testing.T, k int, row []any) {
	t.Helper()
	i := int64(k)
	var f, s any
	if i%7 != 0 {
		f = float64(i)*0.25 - 100
	}
	if i%11 != 0 {
		s = fmt.Sprintf("s%d", i) + [...]string{",comma", ` "quoted"`, "line\nbreak", " ü€"}[i%4]
	}
	ts := time.UnixMicro(1704164645123456 + i*1000003).UTC()
	d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(i%400))
	tm := time.Duration(i%24)*time.Hour + time.Duration(i%60)*time.Minute + time.Duration(i%60)*time.Second + 500*time.Millisecond
	span := time.Duration(i*1500001) * time.Microsecond
	g := md5.Sum([]byte(strconv.FormatInt(i, 10))) // md5(i::VARCHAR)::UUID
	want := []any{i, i%3 == 0, f, s, ts, d, tm, span, g}
	for c, w := range want {
		if !sameValue(row[c], w) {
			t.Fatalf("allTypes row %d column %s = %#v, want %#v", k, allTypesCols[c].Name, row[c], w)
		}
	}
}

// TestRowCapEveryFormat: a result cut at the row cap says truncated:true in
// every format (JSON meta, NDJSON status line, CSV and Arrow Connect-Meta).
func TestRowCapEveryFormat(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	alice := login(t, g, "alice", "alice-password")
	cols := []qconnect.Column{{Name: "i", Type: qconnect.Long}}
	for _, accept := range allAccepts {
		for _, c := range []struct {
			n         int
			truncated bool
		}{{10, false}, {11, true}, {50000, true}} {
			b := alice.fetch("/connect/api/test/rows", map[string]any{"n": c.n}, accept)
			if b.status != 200 {
				t.Fatalf("%s n=%d: HTTP %d: %s", accept, c.n, b.status, b.data)
			}
			rows, meta, code := decodeAny(t, accept, b, cols)
			if code != "" || len(rows) != 10 || meta.RowCount != 10 || meta.Truncated != c.truncated {
				t.Errorf("%s n=%d: %d rows, meta %+v, outcome %q; want 10 rows, truncated=%v, success", accept, c.n, len(rows), meta, code, c.truncated)
			}
			for k, r := range rows {
				if r[0] != int64(k) {
					t.Fatalf("%s: row %d = %v", accept, k, r)
				}
			}
		}
	}
}

// midFailRows checks the rows sent before test/midFail failed: a non-empty
// run of (i, v = i) with i below the failing row. A body whose failure came
// before any row means the engine still computes whole results before
// streaming (PROTOCOL 4.4 cannot be exercised then): the test says so.
func midFailRows(t *testing.T, what string, rows [][]any, ok int64) {
	t.Helper()
	if len(rows) == 0 {
		t.Fatalf("%s: the failure came before any row was sent; the mid-stream path is not exercised (does engine/duckdb stream results?)", what)
	}
	for k, r := range rows {
		if r[0] != r[1] || r[0].(int64) >= ok || r[0] != int64(k) {
			t.Fatalf("%s: row %d = %v, want (%d, %d)", what, k, r, k, k)
		}
	}
}

// TestMidStreamFailure: a backend error after rows were sent is reported in
// the body in each format (PROTOCOL 4.4), so the partial result cannot pass
// for a whole one, and the gateway keeps serving.
func TestMidStreamFailure(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	alice := login(t, g, "alice", "alice-password")
	const path = "/connect/api/test/midFail"
	const ok = 300000
	cols := []qconnect.Column{{Name: "i", Type: qconnect.Long}, {Name: "v", Type: qconnect.Long}}
	for _, accept := range allAccepts {
		t.Run(accept, func(t *testing.T) {
			b := alice.fetch(path, map[string]any{"ok": ok}, accept)
			if b.status != 200 {
				t.Fatalf("HTTP %d before any row (%.300s): the failure came before the first batch, so the engine does not stream "+
					"results yet and the mid-stream path cannot be tested", b.status, b.data)
			}
			if ct := b.header.Get("Content-Type"); ct != accept {
				t.Errorf("Content-Type %q", ct)
			}
			switch accept {
			case acceptJSON, acceptNDJSON:
				if b.readErr != nil {
					t.Fatalf("body cut (%v): JSON and NDJSON report the failure in the body", b.readErr)
				}
				dec := decodeJSONBody
				if accept == acceptNDJSON {
					dec = decodeNDJSONBody
				}
				env, rows := dec(t, b.data, cols)
				midFailRows(t, accept, rows, ok)
				if *env.Success || env.Error == nil || env.Error.Code != "analyticError" || env.Error.Message == "" {
					t.Fatalf("outcome success=%v error=%+v, want success:false with analyticError after %d rows", *env.Success, env.Error, len(rows))
				}
				if accept == acceptJSON && bytes.Index(b.data, []byte(`"success"`)) < bytes.LastIndex(b.data, []byte(`"v":`)) {
					t.Error(`"success" must come after the rows`)
				}
			case acceptCSV:
				if b.readErr != nil {
					t.Fatalf("body cut (%v): CSV reports the failure in its trailer", b.readErr)
				}
				midFailRows(t, accept, decodeCSVBody(t, b.data, cols), ok)
				st := b.trailer.Get("Connect-Status")
				if !strings.HasPrefix(st, "error analyticError ") || len(st) <= len("error analyticError ") {
					t.Fatalf("Connect-Status trailer %q, want error analyticError <message>", st)
				}
				trailerMeta(t, b)
			case acceptArrow:
				if b.readErr == nil {
					t.Error("the connection was not aborted after the Arrow failure")
				}
				if bytes.HasSuffix(b.data, arrowEndOfStream) {
					t.Fatal("the cut Arrow stream ends with an end-of-stream marker")
				}
				rows, err := decodeArrowBody(t, b.data, cols)
				midFailRows(t, accept, rows, ok)
				if err == nil {
					t.Fatalf("arrow-go read the cut stream (%d rows) without an error", len(rows))
				}
			}
		})
	}
	r := alice.call("/connect/api/test/rows", []any{map[string]any{"n": 3}})
	expect(t, "a good call afterwards", r, 200, "")
}
