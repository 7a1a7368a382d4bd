package main

import (
	"bufio"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/qconnect/qconnect"
)

func TestParseStreamCommandArgs(t *testing.T) {
	e, _, _ := testEnv(map[string]string{envGatewayAddr: "gw:1"}, false)
	o, err := parseSubscribeArgs(e, []string{"monPublic/sub", "--params", `{"syms":["server_A"]}`, "--format", "csv"})
	if err != nil || o.method != "monPublic/sub" || o.gw.addr != "gw:1" || o.format != "csv" || o.params["syms"] == nil {
		t.Fatalf("subscribe with the method only: %+v %v", o, err)
	}
	o, err = parseSubscribeArgs(e, []string{"h:2", "bob", "pw", "g/m", "--count", "3"})
	if err != nil || o.gw != (gatewayArgs{addr: "h:2", user: "bob", password: "pw"}) || o.method != "g/m" || o.count != 3 {
		t.Fatalf("subscribe with the gateway: %+v %v", o, err)
	}
	for _, args := range [][]string{{}, {"nomethod"}, {"g/m", "--format", "arrow"}, {"g/m", "--count", "-1"}, {"a", "b", "c", "d", "g/m"}} {
		if _, err := parseSubscribeArgs(e, args); err == nil {
			t.Errorf("subscribe %q was accepted", args)
		}
	}
	p, err := parsePublishArgs(e, []string{"g/pub", "--file", "x.ndjson"})
	if err != nil || p.format != "ndjson" || p.batch != 1000 {
		t.Fatalf("publish: %+v %v", p, err)
	}
	for _, args := range [][]string{{"g/pub", "--batch", "0"}, {"g/pub", "--format", "xml"}, {}} {
		if _, err := parsePublishArgs(e, args); err == nil {
			t.Errorf("publish %q was accepted", args)
		}
	}
}

func TestCSVRows(t *testing.T) {
	cols := []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
		{Name: "price", Type: qconnect.Float}, {Name: "size", Type: qconnect.Long}, {Name: "ok", Type: qconnect.Boolean}}
	in := "\ufefftime,sym,price,size,ok\n2024-05-01T10:00:00Z,AAPL,12.5,100,true\n,MSFT,,7,false\n"
	next, err := csvRows(strings.NewReader(in), cols, "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for {
		row, _, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row)
	}
	want := []map[string]any{
		{"time": "2024-05-01T10:00:00Z", "sym": "AAPL", "price": json.Number("12.5"), "size": json.Number("100"), "ok": true},
		{"time": nil, "sym": "MSFT", "price": nil, "size": json.Number("7"), "ok": false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v\nwant %v", got, want)
	}

	if _, err := csvRows(strings.NewReader("time,colour\n"), cols, "t.csv"); err == nil || !strings.Contains(err.Error(), `"colour"`) {
		t.Fatalf("an unknown header column: %v", err)
	}
	next, _ = csvRows(strings.NewReader("sym,price\nA,cheap\n"), cols, "t.csv")
	if _, line, err := next(); err == nil || line != 2 || !strings.Contains(err.Error(), "line 2: column price") {
		t.Fatalf("a non-number: line %d, %v", line, err)
	}
	nd := ndjsonRows(bufio.NewReader(strings.NewReader("{\"sym\":\"A\",\"size\":1}\n\nnot json\n")), "stdin")
	if row, line, err := nd(); err != nil || line != 1 || row["size"] != json.Number("1") {
		t.Fatalf("ndjson row: %v %d %v", row, line, err)
	}
	if _, line, err := nd(); err == nil || line != 3 {
		t.Fatalf("ndjson bad line: %d %v", line, err)
	}
	if f := sniffFormat(bufio.NewReader(strings.NewReader("  {\"a\":1}"))); f != "ndjson" {
		t.Fatalf("sniff ndjson: %s", f)
	}
	if f := sniffFormat(bufio.NewReader(strings.NewReader("a,b\n"))); f != "csv" {
		t.Fatalf("sniff csv: %s", f)
	}
}
