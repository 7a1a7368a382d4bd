package ipc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/nodeq"
)

// nodeCorpus holds, for each case of e2e/nodeq/codec.js, the Go value it
// must serialize to the same bytes.
func nodeCorpus() map[string]any {
	T := time.Date(2024, 3, 1, 9, 30, 15, 123e6, time.UTC)
	TS := time.Date(2000, 3, 1, 9, 30, 15, 123e6, time.UTC) // see codec.js
	ms := T.UnixMilli()
	tod := 9*time.Hour + 30*time.Minute + 15*time.Second + 123*time.Millisecond
	g := GUID{0x8c, 0x68, 0x0a, 0x01, 0x5a, 0x49, 0x5a, 0xab, 0x5a, 0x65, 0xd4, 0xbf, 0xdd, 0xb6, 0xa6, 0x61}
	dt := Datetime(float64(ms)/86400000 - EpochOffsetDays)
	inf32, ninf32 := float32(math.Inf(1)), float32(math.Inf(-1))
	return map[string]any{
		"boolean": true, "booleans": []bool{true, false, true},
		"guid": g, "guid_null": GUID{}, "guids": []GUID{g, {}},
		"byte": byte(42), "bytes": []byte{1, 2, 127},
		"short": int16(-234), "short_null": NullShort, "short_inf": InfShort, "short_ninf": -InfShort,
		"shorts": []int16{1, NullShort, InfShort, -InfShort},
		"int":    int32(123456), "int_null": NullInt, "int_inf": InfInt, "int_ninf": -InfInt,
		"ints": []int32{1, NullInt, InfInt, -InfInt},
		"long": int64(89421099511627575), "long_null": NullLong, "long_inf": InfLong, "long_ninf": -InfLong,
		"longs": []int64{-5, NullLong, InfLong, -InfLong},
		"real":  float32(5.5), "real_null": NullReal(), "real_inf": inf32, "real_ninf": ninf32,
		"reals": []float32{5.5, NullReal(), inf32, ninf32},
		"float": 3.234, "float_null": NullFloat(), "float_inf": math.Inf(1), "float_ninf": math.Inf(-1),
		"floats": []float64{3.234, NullFloat(), math.Inf(1), math.Inf(-1)},
		"char":   Char('a'), "char_null": Char(' '), "chars": "ab",
		"symbol": Symbol("abc"), "symbol_null": Symbol(""), "symbols": []string{"the", "", "fox"},
		"timestamp": TimestampOf(TS), "timestamp_null": Timestamp(NullLong),
		"timestamps": []Timestamp{TimestampOf(TS), Timestamp(NullLong)},
		"month":      Month(12), "month_null": Month(NullInt), "months": []Month{-1, Month(NullInt)},
		"date": Date(366), "date_null": Date(NullInt), "dates": []Date{-EpochOffsetDays, Date(NullInt)},
		"datetime": dt, "datetime_null": Datetime(NullFloat()), "datetimes": []Datetime{dt, Datetime(NullFloat())},
		"timespan": Timespan(tod), "timespan_null": Timespan(NullLong), "timespans": []Timespan{Timespan(tod), Timespan(NullLong)},
		"minute": Minute(570), "minute_null": Minute(NullInt), "minutes": []Minute{570, Minute(NullInt)},
		"second": Second(34215), "second_null": Second(NullInt), "seconds": []Second{34215, Second(NullInt)},
		"time": Time(tod / time.Millisecond), "time_null": Time(NullInt), "times": []Time{Time(tod / time.Millisecond), Time(NullInt)},
		"string":     "quick brown fox",
		"empty_list": []any{},
		"mixed_list": []any{int64(1), Symbol("bcd"), "0bc", float32(5.5)},
		"dict":       Dict{Key: []string{"a", "b"}, Value: []any{int64(1), "x"}},
		"identity":   Identity{},
	}
}

// TestNodeQSerializeMatches: node-q's serialize output equals ours byte for
// byte for every case, and our decoder reads node-q's bytes back to the value.
func TestNodeQSerializeMatches(t *testing.T) {
	var theirs map[string]string
	if err := json.Unmarshal(nodeq.Run(t, "", "codec.js", "serialize"), &theirs); err != nil {
		t.Fatal(err)
	}
	corpus := nodeCorpus()
	if len(theirs) != len(corpus) {
		t.Fatalf("node-q corpus has %d cases, ours %d", len(theirs), len(corpus))
	}
	for name, v := range corpus {
		want, ok := theirs[name]
		if !ok {
			t.Errorf("%s: not in node-q's corpus", name)
			continue
		}
		ours, err := AppendMessage(nil, Async, v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := hex.EncodeToString(ours); got != want {
			t.Errorf("%s: ours %s\n node-q %s", name, got, want)
		}
		b, _ := hex.DecodeString(want)
		m, err := ReadMessage(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := m.Decode()
		if err != nil || !equalQ(back, v) {
			t.Errorf("%s: decoded node-q's bytes to %#v (%v), want %#v", name, back, err, v)
		}
	}
}

// TestNodeQReadsOurs: node-q deserializes what we write, including what
// node-q cannot write itself: tables, keyed tables, nanosecond timestamps,
// q errors and compressed messages.
func TestNodeQReadsOurs(t *testing.T) {
	ts := TimestampOf(time.Date(2024, 3, 1, 9, 30, 15, 123456789, time.UTC))
	syms := make([]string, 1000)
	for i := range syms {
		syms[i] = "q"
	}
	trades := tradeTable(5000)
	compressed := func(v any) string {
		b, _ := AppendMessage(nil, Response, v)
		c := Compress(b)
		if c == nil {
			t.Fatal("did not compress")
		}
		return hex.EncodeToString(c)
	}
	plain := func(v any) string {
		b, err := AppendMessage(nil, Response, v)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(b)
	}
	in := map[string]string{
		"table": plain(Table{Columns: []string{"sym", "price", "size", "side"},
			Data: []any{[]string{"a", "b"}, []float64{1.5, NullFloat()}, []int64{1, NullLong}, "B "}}),
		"keyed": plain(Dict{
			Key:   Table{Columns: []string{"k"}, Data: []any{[]int64{1, 2}}},
			Value: Table{Columns: []string{"v"}, Data: []any{[]string{"x", "y"}}}}),
		"timestamp_ns":     plain(ts),
		"error":            plain(&Error{Msg: "type"}),
		"compressed_syms":  compressed(syms),
		"compressed_table": compressed(trades),
		"guid":             plain(GUID{0x8c, 0x68, 0x0a, 0x01, 0x5a, 0x49, 0x5a, 0xab, 0x5a, 0x65, 0xd4, 0xbf, 0xdd, 0xb6, 0xa6, 0x61}),
	}
	req, _ := json.Marshal(in)
	var got map[string]any
	if err := json.Unmarshal(nodeq.Run(t, string(req), "codec.js", "deserialize"), &got); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	json.Unmarshal([]byte(`{
		"table": [{"sym":"a","price":1.5,"size":"1","side":"B"},{"sym":"b","price":null,"size":null,"side":" "}],
		"keyed": [[{"k":"1"},{"k":"2"}],[{"v":"x"},{"v":"y"}]],
		"timestamp_ns": "2024-03-01T09:30:15.123Z",
		"error": {"error":"type"},
		"guid": "8c680a01-5a49-5aab-5a65-d4bfddb6a661"
	}`), &want)
	for name, w := range want {
		if !reflect.DeepEqual(got[name], w) {
			t.Errorf("%s: node-q read %v, want %v", name, got[name], w)
		}
	}
	if l, ok := got["compressed_syms"].([]any); !ok || len(l) != 1000 || l[0] != "q" || l[999] != "q" {
		t.Errorf("compressed_syms: node-q read %.200v", got["compressed_syms"])
	}
	rows, ok := got["compressed_table"].([]any)
	if !ok || len(rows) != 5000 {
		t.Fatalf("compressed_table: node-q read %.200v", got["compressed_table"])
	}
	for _, i := range []int{0, 1234, 4999} {
		r := rows[i].(map[string]any)
		wantTime := trades.Data[0].([]Timestamp)[i].Time().Format("2006-01-02T15:04:05.000Z")
		if r["time"] != wantTime || r["sym"] != trades.Data[1].([]string)[i] ||
			r["price"] != trades.Data[2].([]float64)[i] || r["side"] != string(trades.Data[4].(string)[i]) {
			t.Errorf("compressed_table row %d: %v", i, r)
		}
	}
}
