package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"
	"unsafe"
)

// TestScanRowAgreesWithEncodingJSON compares the row scanner with
// encoding/json (UseNumber) on rows with whitespace, escapes, numbers in
// every form, literals and nested values.
func TestScanRowAgreesWithEncodingJSON(t *testing.T) {
	rows := []string{
		`{}`,
		` { "a" : 1 , "b":"x" ,"c" :null,"d":true,"e":false } `,
		"{\n\t\"a\": -1.5e-7,\r\n \"b\": 0, \"c\": 12345678901234567890, \"d\": 1E+3}",
		`{"k\"ey":"v\\al\u00e9\n","\u0061":"\ud83d\ude00","":"","s":"plain \/ slash"}`,
		`{"nested":{"x":[1,{"y":null}],"z":"w"},"list":[1,"a",true],"after":2}`,
		`{"ünï":"çödé","a":"}","b":"{\"","c":"\\"}`,
	}
	var prev []string
	for _, r := range rows {
		keys, vals, err := scanRow([]byte(r), prev, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", r, err)
			continue
		}
		// The reference: key order from a token walk, values from encoding/json.
		dec := json.NewDecoder(bytes.NewReader([]byte(r)))
		dec.UseNumber()
		dec.Token()
		var wantKeys []string
		var wantVals []any
		for dec.More() {
			tok, _ := dec.Token()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			wantKeys = append(wantKeys, tok.(string))
			wantVals = append(wantVals, v)
		}
		if !reflect.DeepEqual(keys, wantKeys) && !(len(keys) == 0 && len(wantKeys) == 0) {
			t.Errorf("%s: keys %q, want %q", r, keys, wantKeys)
		}
		if !reflect.DeepEqual(vals, wantVals) && !(len(vals) == 0 && len(wantVals) == 0) {
			t.Errorf("%s: values %#v, want %#v", r, vals, wantVals)
		}
		prev = keys
	}
	// The same keys as the previous row reuse its strings.
	a, _, _ := scanRow([]byte(`{"sym":1,"time":2}`), nil, nil, nil)
	b, _, _ := scanRow([]byte(`{"sym":3,"time":4}`), a, nil, nil)
	if len(b) != 2 || b[0] != "sym" || b[1] != "time" || unsafe.StringData(b[0]) != unsafe.StringData(a[0]) {
		t.Errorf("keys = %q, want the previous row's strings reused", b)
	}
}

// BenchmarkDecodeResult decodes a 100,000-row, 5-column JSON result
// (timestamp, symbol, long, float, null string), as Session.Call does.
func BenchmarkDecodeResult(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"type":"getMemResp","id":"1","date":"Sat, 28 Nov 2026 09:30:00 GMT","msg":[`)
	const n = 100_000
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"time":"2019-07-26T09:00:00.%09dZ","sym":"server_A","n":%d,"f":0.5,"s":null}`, i, i)
	}
	body.WriteString(`],"meta":{"columns":[{"name":"time","type":"timestamp"},{"name":"sym","type":"symbol"},{"name":"n","type":"long"},{"name":"f","type":"float"},{"name":"s","type":"string"}],"rowCount":100000},"success":true}`)
	c, _ := New("localhost:1")
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body.Bytes()))}
		res, err := c.decodeResult(resp, "1", "g/m")
		if err != nil || len(res.Rows) != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
