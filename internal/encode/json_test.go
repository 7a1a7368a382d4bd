package encode

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// keysOf returns the keys of the JSON object in raw, in order.
func keysOf(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %q (%v)", raw, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("reading a key of %q: %v", raw, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("reading the value of %q: %v", tok, err)
		}
	}
	return keys
}

// decodeUseNumber decodes raw keeping numbers as json.Number.
func decodeUseNumber(t *testing.T, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %q: %v", raw, err)
	}
}

// norm converts a decoded JSON value of column type ty to the form of
// wantValue: json.Number becomes int64 or float64.
func norm(t *testing.T, ty qconnect.Type, v any) any {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	switch ty {
	case qconnect.Long, qconnect.Int, qconnect.Short:
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			t.Fatalf("%s value %s: %v", ty, n, err)
		}
		return i
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		t.Fatalf("%s value %s: %v", ty, n, err)
	}
	return f
}

// checkRow compares one encoded row object with the input row, including
// the key order.
func checkRow(t *testing.T, raw []byte, cols []qconnect.Column, in []any) {
	t.Helper()
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	if got := keysOf(t, raw); !reflect.DeepEqual(got, names) {
		t.Fatalf("row keys %v, want %v", got, names)
	}
	var m map[string]any
	decodeUseNumber(t, raw, &m)
	for i, c := range cols {
		got, want := norm(t, c.Type, m[c.Name]), wantValue(c.Type, in[i])
		if !reflect.DeepEqual(got, want) {
			t.Errorf("column %s (%s): input %#v encoded as %#v, want %#v", c.Name, c.Type, in[i], got, want)
		}
	}
}

type envelope struct {
	Type    string
	ID      *string
	Date    string
	Msg     []json.RawMessage
	Meta    json.RawMessage
	Success bool
	Error   *struct {
		Code    string
		Message string
		Details []string
	}
}

func writeAll(t *testing.T, w Writer, rows [][]any, batch int) {
	t.Helper()
	for len(rows) > 0 {
		n := min(batch, len(rows))
		if err := writeRows(w, rows[:n]); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		rows = rows[n:]
	}
}

func TestJSONEnvelope(t *testing.T) {
	rows := randomRows(1, 700)
	var buf bytes.Buffer
	h := Header{Type: "getAllResp", ID: "e133598e-7b9e", Date: "Fri, 26 Jul 2019 15:59:00 GMT"}
	w, err := New(JSON, &buf, h, allCols, Ending{})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, rows, 128)
	meta := Meta{Columns: allCols, RowCount: 700, Truncated: true, ElapsedMs: 1.234}
	if err := w.Finish(meta, nil); err != nil {
		t.Fatal(err)
	}
	body := buf.Bytes()
	if !bytes.HasSuffix(body, []byte("}\n")) || bytes.Count(body, []byte("\n")) != 1 {
		t.Fatalf("the body must be one line ending in a newline; it has %d newlines", bytes.Count(body, []byte("\n")))
	}
	if got, want := keysOf(t, body), []string{"type", "id", "date", "msg", "meta", "success"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("envelope keys %v, want %v", got, want)
	}
	var env envelope
	decodeUseNumber(t, body, &env)
	if env.Type != h.Type || env.ID == nil || *env.ID != h.ID || env.Date != h.Date || !env.Success || env.Error != nil {
		t.Fatalf("envelope fields: %+v", env)
	}
	if len(env.Msg) != len(rows) {
		t.Fatalf("%d rows decoded, want %d", len(env.Msg), len(rows))
	}
	for i, raw := range env.Msg {
		checkRow(t, raw, allCols, rows[i])
	}
	if got, want := keysOf(t, env.Meta), []string{"columns", "rowCount", "truncated", "elapsedMs"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("meta keys %v, want %v", got, want)
	}
	var gotMeta Meta
	if err := json.Unmarshal(env.Meta, &gotMeta); err != nil || !reflect.DeepEqual(gotMeta, meta) {
		t.Fatalf("meta %s decoded as %+v (%v), want %+v", env.Meta, gotMeta, err, meta)
	}
}

// TestJSONValueForms checks the exact bytes of each value form of PROTOCOL
// 4.3, written out by hand.
func TestJSONValueForms(t *testing.T) {
	g := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	ny := time.FixedZone("EDT", -4*3600)
	cases := []struct {
		ty   qconnect.Type
		v    any
		want string
	}{
		{qconnect.Boolean, true, `true`},
		{qconnect.Boolean, false, `false`},
		{qconnect.Boolean, nil, `null`},
		{qconnect.Long, int64(math.MaxInt64), `9223372036854775807`},
		{qconnect.Long, int64(math.MinInt64), `-9223372036854775808`},
		{qconnect.Int, int32(-5), `-5`},
		{qconnect.Short, int16(7), `7`},
		{qconnect.Long, 42, `42`},
		{qconnect.Long, nil, `null`},
		{qconnect.Float, 1.5, `1.5`},
		{qconnect.Float, math.NaN(), `null`},
		{qconnect.Float, math.Inf(1), `null`},
		{qconnect.Float, math.Inf(-1), `null`},
		{qconnect.Float, 1e21, `1e+21`},
		{qconnect.Float, 1e-7, `1e-7`},
		{qconnect.Float, 123456789.25, `123456789.25`},
		{qconnect.Float, int64(3), `3`},
		{qconnect.Real, float32(0.1), `0.10000000149011612`}, // held as float64, formatted exactly
		{qconnect.Real, float32(math.NaN()), `null`},
		{qconnect.Timestamp, time.Date(2019, 7, 26, 15, 59, 0, 123456789, time.UTC), `"2019-07-26T15:59:00.123456789Z"`},
		{qconnect.Timestamp, time.Date(2019, 7, 26, 11, 59, 0, 0, ny), `"2019-07-26T15:59:00.000000000Z"`},
		{qconnect.Timestamp, time.Unix(0, 1), `"1970-01-01T00:00:00.000000001Z"`},
		{qconnect.Date, time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC), `"2019-07-26"`},
		{qconnect.Date, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), `"1969-12-31"`},
		{qconnect.Time, time.Hour + 2*time.Minute + 3500*time.Millisecond, `"01:02:03.500"`},
		{qconnect.Time, time.Duration(0), `"00:00:00.000"`},
		{qconnect.Time, 24*time.Hour - time.Microsecond, `"23:59:59.999"`},
		{qconnect.Timespan, time.Hour + 2*time.Minute + 3500*time.Millisecond, `"0D01:02:03.500000000"`},
		{qconnect.Timespan, 48*time.Hour + 1, `"2D00:00:00.000000001"`},
		{qconnect.Timespan, -1500 * time.Millisecond, `"-0D00:00:01.500000000"`},
		{qconnect.GUID, g, `"12345678-9abc-def0-1234-56789abcdef0"`},
		{qconnect.GUID, [16]byte{}, `"00000000-0000-0000-0000-000000000000"`},
		{qconnect.String, `a"b\c`, `"a\"b\\c"`},
		{qconnect.String, "x\ny\r\tz", `"x\ny\r\tz"`},
		{qconnect.String, "\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{qconnect.Symbol, "naïve 日本 🚀", `"naïve 日本 🚀"`},
		{qconnect.String, "bad\xff\xfeend", `"bad\ufffd\ufffdend"`},
		{qconnect.String, "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{qconnect.Char, "", `""`},
		{qconnect.Char, "</script>", `"</script>"`},
	}
	for _, c := range cases {
		col := []qconnect.Column{{Name: "v", Type: c.ty}}
		var buf bytes.Buffer
		w, err := New(JSON, &buf, Header{}, col, Ending{})
		if err != nil {
			t.Fatal(err)
		}
		if err := writeRows(w, [][]any{{c.v}}); err != nil {
			t.Fatalf("%s %#v: %v", c.ty, c.v, err)
		}
		if err := w.Finish(Meta{}, nil); err != nil {
			t.Fatal(err)
		}
		var env envelope
		decodeUseNumber(t, buf.Bytes(), &env)
		if len(env.Msg) != 1 || string(env.Msg[0]) != `{"v":`+c.want+`}` {
			t.Errorf("%s %#v: got %s, want {\"v\":%s}", c.ty, c.v, env.Msg, c.want)
		}
	}
}

func TestJSONFailureMidStream(t *testing.T) {
	rows := randomRows(2, 300)
	var buf bytes.Buffer
	w, err := New(JSON, &buf, Header{Type: "getAllResp", ID: "x1", Date: "d"}, allCols, Ending{})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, rows, 100)
	fail := &qconnect.Error{Code: qconnect.CodeTimeout, Message: `ran past "10s"`, Details: []string{"a", "b\nc"},
		Cause: errors.New("secret-cause")}
	if err := w.Finish(Meta{RowCount: 300, ElapsedMs: 10000}, fail); err != nil {
		t.Fatal(err)
	}
	body := buf.Bytes()
	if bytes.Contains(body, []byte("secret-cause")) {
		t.Fatal("the error's Cause reached the body")
	}
	if got, want := keysOf(t, body), []string{"type", "id", "date", "msg", "meta", "success", "error"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("envelope keys %v, want %v", got, want)
	}
	var env envelope
	decodeUseNumber(t, body, &env)
	if env.Success || env.Error == nil || env.Error.Code != "timeout" || env.Error.Message != fail.Message ||
		!reflect.DeepEqual(env.Error.Details, fail.Details) {
		t.Fatalf("failure envelope: %+v %+v", env, env.Error)
	}
	if len(env.Msg) != 300 {
		t.Fatalf("%d rows before the error, want 300", len(env.Msg))
	}
	for i, raw := range env.Msg {
		checkRow(t, raw, allCols, rows[i])
	}

	// Without details there is no details key; without a code, internal.
	buf.Reset()
	w, _ = New(JSON, &buf, Header{}, allCols, Ending{})
	if err := w.Finish(Meta{}, &qconnect.Error{Message: "m"}); err != nil {
		t.Fatal(err)
	}
	decodeUseNumber(t, buf.Bytes(), &env)
	var raw struct{ Error json.RawMessage }
	decodeUseNumber(t, buf.Bytes(), &raw)
	if got := keysOf(t, raw.Error); !reflect.DeepEqual(got, []string{"code", "message"}) || env.Error.Code != "internal" {
		t.Fatalf("error object %s", raw.Error)
	}
}

func TestJSONEmptyResultAndNullID(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(JSON, &buf, Header{Type: "ErrorResp", Date: "d"}, allCols[:2], Ending{})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeRows(w, nil); err != nil || buf.Len() != 0 {
		t.Fatalf("an empty batch wrote %q (%v)", buf.Bytes(), err)
	}
	if err := w.Finish(Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"ErrorResp","id":null,"date":"d","msg":[],"meta":{"columns":[{"name":"b","type":"boolean"},{"name":"l","type":"long"}],"rowCount":0,"truncated":false,"elapsedMs":0},"success":true}` + "\n"
	if buf.String() != want {
		t.Fatalf("got  %s\nwant %s", buf.String(), want)
	}
}

func TestNDJSON(t *testing.T) {
	rows := randomRows(3, 250)
	for _, fail := range []*qconnect.Error{nil, {Code: qconnect.CodeAnalyticError, Message: "backend gone"}} {
		var buf bytes.Buffer
		h := Header{Type: "getAllResp", ID: "n1", Date: "Fri, 26 Jul 2019 15:59:00 GMT"}
		w, err := New(NDJSON, &buf, h, allCols, Ending{})
		if err != nil {
			t.Fatal(err)
		}
		writeAll(t, w, rows, 64)
		meta := Meta{RowCount: 250, ElapsedMs: 0.5}
		if err := w.Finish(meta, fail); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(buf.String(), "\n")
		if len(lines) != len(rows)+2 || lines[len(lines)-1] != "" {
			t.Fatalf("%d lines, want %d rows, a final line and a trailing newline", len(lines), len(rows))
		}
		for i, row := range rows {
			checkRow(t, []byte(lines[i]), allCols, row)
		}
		last := []byte(lines[len(rows)])
		wantKeys := []string{"type", "id", "date", "success", "meta"}
		if fail != nil {
			wantKeys = append(wantKeys, "error")
		}
		if got := keysOf(t, last); !reflect.DeepEqual(got, wantKeys) {
			t.Fatalf("final line keys %v, want %v", got, wantKeys)
		}
		var env envelope
		decodeUseNumber(t, last, &env)
		if env.Type != h.Type || *env.ID != h.ID || env.Date != h.Date || env.Success != (fail == nil) {
			t.Fatalf("final line %s", last)
		}
		var gotMeta Meta
		if err := json.Unmarshal(env.Meta, &gotMeta); err != nil || gotMeta.RowCount != 250 || gotMeta.ElapsedMs != 0.5 ||
			!reflect.DeepEqual(gotMeta.Columns, allCols) {
			t.Fatalf("meta %s", env.Meta)
		}
		if fail != nil && (env.Error.Code != string(fail.Code) || env.Error.Message != fail.Message) {
			t.Fatalf("error %+v", env.Error)
		}
	}
}
