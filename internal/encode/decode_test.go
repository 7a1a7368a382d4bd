package encode

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/qconnect/qconnect"
)

// The decoders below read a body back with a reader that is not ours
// (encoding/json, encoding/csv, arrow-go's ipc.Reader) and return the rows in
// the form of wantValue, plus the outcome the body reports (nil: success).

func decodeJSONBody(t *testing.T, body []byte, cols []qconnect.Column) ([][]any, error) {
	t.Helper()
	var env envelope
	decodeUseNumber(t, body, &env)
	rows := make([][]any, len(env.Msg))
	for i, raw := range env.Msg {
		rows[i] = decodeJSONRow(t, raw, cols)
	}
	return rows, envOutcome(env)
}

func decodeNDJSONBody(t *testing.T, body []byte, cols []qconnect.Column) ([][]any, error) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	var rows [][]any
	for _, l := range lines[:len(lines)-1] {
		rows = append(rows, decodeJSONRow(t, []byte(l), cols))
	}
	var env envelope
	decodeUseNumber(t, []byte(lines[len(lines)-1]), &env)
	return rows, envOutcome(env)
}

func decodeJSONRow(t *testing.T, raw []byte, cols []qconnect.Column) []any {
	t.Helper()
	var m map[string]any
	decodeUseNumber(t, raw, &m)
	row := make([]any, len(cols))
	for i, c := range cols {
		row[i] = norm(t, c.Type, m[c.Name])
	}
	return row
}

func envOutcome(env envelope) error {
	if env.Success {
		return nil
	}
	if env.Error == nil {
		return errors.New("success:false without an error object")
	}
	return fmt.Errorf("error %s %s", env.Error.Code, env.Error.Message)
}

// decodeCSVBody parses with encoding/csv. An empty field is null for the
// types whose text is never empty; for string types it reads as "" (CSV
// readers cannot tell them apart), so csvWant maps expectations the same way.
func decodeCSVBody(t *testing.T, body []byte, cols []qconnect.Column, trailer map[string]string) ([][]any, error) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = len(cols)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv: %v\n%s", err, body)
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	if !reflect.DeepEqual(recs[0], names) {
		t.Fatalf("header row %q, want %q", recs[0], names)
	}
	var rows [][]any
	for _, rec := range recs[1:] {
		row := make([]any, len(cols))
		for i, c := range cols {
			row[i] = parseCSVField(t, c.Type, rec[i])
		}
		rows = append(rows, row)
	}
	switch s := trailer[TrailerStatus]; {
	case s == "ok":
		return rows, nil
	case strings.HasPrefix(s, "error "):
		return rows, errors.New(s)
	default:
		return rows, fmt.Errorf("no %s trailer (%q)", TrailerStatus, s)
	}
}

func parseCSVField(t *testing.T, ty qconnect.Type, s string) any {
	t.Helper()
	var v any
	var err error
	switch ty {
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		return s
	case qconnect.Boolean:
		if s == "" {
			return nil
		}
		v, err = strconv.ParseBool(s)
	case qconnect.Long, qconnect.Int, qconnect.Short:
		if s == "" {
			return nil
		}
		v, err = strconv.ParseInt(s, 10, 64)
	case qconnect.Float, qconnect.Real:
		if s == "" {
			return nil
		}
		v, err = strconv.ParseFloat(s, 64)
	default:
		if s == "" {
			return nil
		}
		return s
	}
	if err != nil {
		t.Fatalf("CSV %s field %q: %v", ty, s, err)
	}
	return v
}

// csvWant is wantValue as encoding/csv reads it back: a null string reads
// as "", and CRLF inside a quoted field as LF (documented reader behaviour).
func csvWant(ty qconnect.Type, v any) any {
	w := wantValue(ty, v)
	if w == nil && (ty == qconnect.String || ty == qconnect.Symbol || ty == qconnect.Char) {
		return ""
	}
	if s, ok := w.(string); ok {
		return strings.ReplaceAll(s, "\r\n", "\n")
	}
	return w
}

// decodeArrowBody reads the stream with ipc.NewReader; the outcome is the
// reader's error (nil only for a clean end of stream). It also checks the
// schema and returns the number of record batches.
func decodeArrowBody(t *testing.T, body []byte, cols []qconnect.Column) (rows [][]any, batches int, err error) {
	t.Helper()
	r, err := ipc.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	defer r.Release()
	s := r.Schema()
	if s.NumFields() != len(cols) {
		t.Fatalf("schema has %d fields, want %d", s.NumFields(), len(cols))
	}
	for i, c := range cols {
		f := s.Field(i)
		if f.Name != c.Name || !f.Nullable {
			t.Fatalf("field %d is %v, want nullable %q", i, f, c.Name)
		}
		if v, ok := f.Metadata.GetValue("connect.type"); !ok || v != string(c.Type) {
			t.Fatalf("field %q metadata %v, want connect.type=%s", c.Name, f.Metadata, c.Type)
		}
	}
	for r.Next() {
		rec := r.RecordBatch()
		batches++
		for k := 0; k < int(rec.NumRows()); k++ {
			row := make([]any, len(cols))
			for i := range cols {
				row[i] = arrowValue(t, rec.Column(i), k)
			}
			rows = append(rows, row)
		}
	}
	return rows, batches, r.Err()
}

func arrowValue(t *testing.T, a arrow.Array, k int) any {
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
		return wantTimestamp(time.Unix(0, int64(a.Value(k))))
	case *array.Date32:
		return wantDate(a.Value(k).ToTime())
	case *array.Time32:
		return wantTime(time.Duration(a.Value(k)) * time.Millisecond)
	case *array.Duration:
		return wantTimespan(time.Duration(a.Value(k)))
	case *array.FixedSizeBinary:
		return wantGUID([16]byte(a.Value(k)))
	}
	t.Fatalf("unexpected Arrow array %T", a)
	return nil
}

// encodeBody encodes rows in format f in batches and finishes with fail.
func encodeBody(t *testing.T, f Format, cols []qconnect.Column, rows [][]any, batch int, fail *qconnect.Error) ([]byte, map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	trailer := map[string]string{}
	w, err := New(f, &buf, Header{Type: "tResp", ID: "id", Date: "d"}, cols, Ending{SetTrailer: func(k, v string) { trailer[k] = v }})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, rows, batch)
	if err := w.Finish(Meta{RowCount: int64(len(rows))}, fail); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), trailer
}

// decodeBody decodes a body of any format; for CSV the expectations must go
// through csvWant.
func decodeBody(t *testing.T, f Format, body []byte, cols []qconnect.Column, trailer map[string]string) ([][]any, error) {
	t.Helper()
	switch f {
	case JSON:
		return decodeJSONBody(t, body, cols)
	case NDJSON:
		return decodeNDJSONBody(t, body, cols)
	case CSV:
		return decodeCSVBody(t, body, cols, trailer)
	case Arrow:
		rows, _, err := decodeArrowBody(t, body, cols)
		return rows, err
	}
	t.Fatalf("unknown format %q", f)
	return nil, io.EOF
}

// wantRows maps input rows to what a reader of format f should get.
func wantRows(f Format, cols []qconnect.Column, in [][]any) [][]any {
	out := make([][]any, len(in))
	for k, row := range in {
		out[k] = make([]any, len(cols))
		for i, c := range cols {
			if f == CSV {
				out[k][i] = csvWant(c.Type, row[i])
			} else {
				out[k][i] = wantValue(c.Type, row[i])
			}
		}
	}
	return out
}

func compareRows(t *testing.T, f Format, cols []qconnect.Column, got, want [][]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", f, len(got), len(want))
	}
	for k := range want {
		for i, c := range cols {
			if !reflect.DeepEqual(got[k][i], want[k][i]) {
				t.Errorf("%s: row %d column %s (%s): got %#v, want %#v", f, k, c.Name, c.Type, got[k][i], want[k][i])
			}
		}
	}
}
