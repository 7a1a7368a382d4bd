package ipc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden pairs a q expression, its Go value and the bytes q serializes it
// to (little-endian, no header), per the public description of the format.
var golden = []struct {
	q   string
	v   any
	hex string
}{
	{"1b", true, "ff 01"},
	{"0x2a", byte(0x2a), "fc 2a"},
	{"-234h", int16(-234), "fb 16ff"},
	{"0Nh", NullShort, "fb 0080"},
	{"0Wh", InfShort, "fb ff7f"},
	{"-0Wh", -InfShort, "fb 0180"},
	{"1i", int32(1), "fa 01000000"},
	{"0Ni", NullInt, "fa 00000080"},
	{"-0Wi", -InfInt, "fa 01000080"},
	{"1", int64(1), "f9 0100000000000000"},
	{"0N", NullLong, "f9 0000000000000080"},
	{"0W", InfLong, "f9 ffffffffffffff7f"},
	{"-0W", -InfLong, "f9 0100000000000080"},
	{"5.5e", float32(5.5), "f8 0000b040"},
	{"0Ne", NullReal(), "f8 0000c0ff"},
	{"0we", float32(math.Inf(1)), "f8 0000807f"},
	{"3.234", 3.234, "f7 ac1c5a643bdf0940"},
	{"0n", NullFloat(), "f7 000000000000f8ff"},
	{"-0w", math.Inf(-1), "f7 000000000000f0ff"},
	{"\"0\"", Char('0'), "f6 30"},
	{"`abc", Symbol("abc"), "f5 61626300"},
	{"`", Symbol(""), "f5 00"},
	{"2000.01.04D05:36:57.600", Timestamp(279417600000000), "f4 00c0cafa20fe0000"},
	{"0Np", Timestamp(NullLong), "f4 0000000000000080"},
	{"2001.01m", Month(12), "f3 0c000000"},
	{"2001.01.01", Date(366), "f2 6e010000"},
	{"0Nd", Date(NullInt), "f2 00000080"},
	{"2000.01.04T05:36:57.600", Datetime(3.234), "f1 ac1c5a643bdf0940"},
	{"0D05:36:57.600", Timespan(20217600000000), "f0 00c0dd4663120000"},
	{"12:01", Minute(721), "ef d1020000"},
	{"12:05:00", Second(43500), "ee eca90000"},
	{"12:04:59.123", Time(43499123), "ed 73be9702"},
	{"0Nt", Time(NullInt), "ed 00000080"},
	{"\"G\"$\"8c680a01-5a49-5aab-5a65-d4bfddb6a661\"",
		GUID{0x8c, 0x68, 0x0a, 0x01, 0x5a, 0x49, 0x5a, 0xab, 0x5a, 0x65, 0xd4, 0xbf, 0xdd, 0xb6, 0xa6, 0x61},
		"fe 8c680a015a495aab5a65d4bfddb6a661"},
	{"::", Identity{}, "65 00"},
	{"\"abc\"", "abc", "0a 00 03000000 616263"},
	{"\"\"", "", "0a 00 00000000"},
	{"(0b;1b;0b)", []bool{false, true, false}, "01 00 03000000 000100"},
	{"(0x01;0x02;0xff)", []byte{1, 2, 255}, "04 00 03000000 0102ff"},
	{"(1h;0Nh;3h)", []int16{1, NullShort, 3}, "05 00 03000000 0100 0080 0300"},
	{"(1i;0Ni;3i)", []int32{1, NullInt, 3}, "06 00 03000000 01000000 00000080 03000000"},
	{"1 0N 3", []int64{1, NullLong, 3}, "07 00 03000000 0100000000000000 0000000000000080 0300000000000000"},
	{"(5.5e;0Ne)", []float32{5.5, NullReal()}, "08 00 02000000 0000b040 0000c0ff"},
	{"3.23 0n", []float64{3.23, NullFloat()}, "09 00 02000000 d7a3703d0ad70940 000000000000f8ff"},
	{"`the`quick", []string{"the", "quick"}, "0b 00 02000000 74686500 717569636b00"},
	{"``", []string{"", ""}, "0b 00 02000000 00 00"},
	{"2000.01.04D05:36:57.600 0Np", []Timestamp{279417600000000, Timestamp(NullLong)}, "0c 00 02000000 00c0cafa20fe0000 0000000000000080"},
	{"(2001.01m;0Nm)", []Month{12, Month(NullInt)}, "0d 00 02000000 0c000000 00000080"},
	{"2001.01.01 2000.05.01 0Nd", []Date{366, 121, Date(NullInt)}, "0e 00 03000000 6e010000 79000000 00000080"},
	{"2000.01.04T05:36:57.600 0Nz", []Datetime{3.234, Datetime(NullFloat())}, "0f 00 02000000 ac1c5a643bdf0940 000000000000f8ff"},
	{"0D05:36:57.600 0Nn", []Timespan{20217600000000, Timespan(NullLong)}, "10 00 02000000 00c0dd4663120000 0000000000000080"},
	{"12:01 0Nu", []Minute{721, Minute(NullInt)}, "11 00 02000000 d1020000 00000080"},
	{"12:05:00 0Nv", []Second{43500, Second(NullInt)}, "12 00 02000000 eca90000 00000080"},
	{"12:04:59.123 0Nt", []Time{43499123, Time(NullInt)}, "13 00 02000000 73be9702 00000080"},
	{"(0Ng;0Ng)", []GUID{{}, {}}, "02 00 02000000 00000000000000000000000000000000 00000000000000000000000000000000"},
	{"()", []any{}, "00 00 00000000"},
	{"(1;`bcd;\"0bc\";5.5e)", []any{int64(1), Symbol("bcd"), "0bc", float32(5.5)},
		"00 00 04000000 f90100000000000000 f562636400 0a0003000000306263 f80000b040"},
	{"(enlist `a)!enlist 1", Dict{Key: []string{"a"}, Value: []int64{1}},
		"63 0b00 01000000 6100 0700 01000000 0100000000000000"},
	{"flip `abc`def!(1 2;3 4)", Table{Columns: []string{"abc", "def"}, Data: []any{[]int64{1, 2}, []int64{3, 4}}},
		"62 00 63 0b00 02000000 61626300 64656600 0000 02000000 0700 02000000 0100000000000000 0200000000000000 0700 02000000 0300000000000000 0400000000000000"},
	{"([k:1 2] v:`a`b)", Dict{
		Key:   Table{Columns: []string{"k"}, Data: []any{[]int64{1, 2}}},
		Value: Table{Columns: []string{"v"}, Data: []any{[]string{"a", "b"}}}},
		"63 6200630b00010000006b00 000001000000 0700020000000100000000000000 0200000000000000 6200630b000100000076000000010000000b000200000061006200"},
	{"{x+y}", Lambda{Body: "{x+y}"}, "64 00 0a0005000000 7b782b797d"},
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range golden {
		got, err := Marshal(g.v)
		if err != nil {
			t.Fatalf("%s: %v", g.q, err)
		}
		if want := unhex(t, g.hex); !bytes.Equal(got, want) {
			t.Errorf("%s: Marshal =\n %x\nwant\n %x", g.q, got, want)
		}
	}
}

func TestGoldenDecode(t *testing.T) {
	for _, g := range golden {
		got, err := Unmarshal(unhex(t, g.hex))
		if err != nil {
			t.Fatalf("%s: %v", g.q, err)
		}
		if !equalQ(got, g.v) {
			t.Errorf("%s: Unmarshal = %#v, want %#v", g.q, got, g.v)
		}
	}
}

// equalQ is reflect.DeepEqual that treats NaNs with the same bits as equal.
func equalQ(a, b any) bool {
	ea, err1 := Marshal(a)
	eb, err2 := Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb) && reflect.TypeOf(a) == reflect.TypeOf(b)
}

func TestErrorValue(t *testing.T) {
	_, err := Unmarshal(unhex(t, "80 7479706500"))
	var qe *Error
	if !errors.As(err, &qe) || qe.Msg != "type" || err.Error() != "'type" {
		t.Fatalf("error = %v", err)
	}
	b, _ := Marshal(&Error{Msg: "length"})
	if !bytes.Equal(b, unhex(t, "80 6c656e67746800")) {
		t.Fatalf("%x", b)
	}
}

// TestBigEndian decodes the same values written big-endian, as a q
// process on a big-endian machine sends them.
func TestBigEndian(t *testing.T) {
	cases := []struct {
		hex string
		v   any
	}{
		{"fa 00000001", int32(1)},
		{"f9 8000000000000000", NullLong},
		{"07 00 00000002 0000000000000001 8000000000000000", []int64{1, NullLong}},
		{"0e 00 00000002 0000016e 80000000", []Date{366, Date(NullInt)}},
		{"0b 00 00000001 616200", []string{"ab"}},
		{"f7 4009df3b645a1cac", 3.234},
	}
	for _, c := range cases {
		got, err := Decoder{BigEndian: true}.Decode(unhex(t, c.hex))
		if err != nil || !equalQ(got, c.v) {
			t.Errorf("%s: %#v, %v; want %#v", c.hex, got, err, c.v)
		}
	}
	// A whole big-endian message through ReadMessage.
	m, err := ReadMessage(bytes.NewReader(unhex(t, "00020000 00000011 f9 0000000000000005")), 0)
	if err != nil || !m.BigEndian || m.Type != Response {
		t.Fatalf("%+v %v", m, err)
	}
	if v, err := m.Decode(); err != nil || v != int64(5) {
		t.Fatalf("%v %v", v, err)
	}
}

// qCompressed is q's own compressed reply to `1000#`q` (the bytes after the
// 8-byte header), as published with qPython's test data: our compressor
// must reproduce it exactly and our decompressor must expand it.
const qCompressed = "DE070000800B00E80300007171FFAA7171FF7171FF7171FF7171FF2A7171FF7171FF7171BF"

func TestCompressionMatchesQ(t *testing.T) {
	syms := make([]string, 1000)
	for i := range syms {
		syms[i] = "q"
	}
	msg, err := AppendMessage(nil, Response, syms)
	if err != nil {
		t.Fatal(err)
	}
	c := Compress(msg)
	if c == nil {
		t.Fatal("not compressed")
	}
	if got, want := c[8:], unhex(t, qCompressed); !bytes.Equal(got, want) {
		t.Fatalf("compressed =\n %X\nwant\n %X", got, want)
	}
	if c[0] != 1 || c[1] != 2 || c[2] != 1 || int(c[4])|int(c[5])<<8 != len(c) {
		t.Fatalf("header % x", c[:8])
	}
	m, err := ReadMessage(bytes.NewReader(c), 0)
	if err != nil || !m.Compressed {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Body, msg[8:]) {
		t.Fatal("decompressed body differs")
	}
	v, err := m.Decode()
	if err != nil || !reflect.DeepEqual(v, syms) {
		t.Fatalf("%v", err)
	}
}

func TestCompressionRoundTrip(t *testing.T) {
	tbl := tradeTable(50000)
	msg, err := AppendMessage(nil, Response, tbl)
	if err != nil {
		t.Fatal(err)
	}
	c := Compress(msg)
	if c == nil || len(c) >= len(msg)/2 {
		t.Fatalf("trade table did not compress: %d -> %d", len(msg), len(c))
	}
	m, err := ReadMessage(bytes.NewReader(c), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Body, msg[8:]) {
		t.Fatal("round trip differs")
	}
	// Random bytes do not halve: q's rule sends them uncompressed.
	rnd := make([]byte, 10000)
	x := uint32(1)
	for i := range rnd {
		x = x*1664525 + 1013904223
		rnd[i] = byte(x >> 24)
	}
	raw, _ := AppendMessage(nil, Sync, rnd)
	if Compress(raw) != nil {
		t.Fatal("random bytes compressed")
	}
	if b, _ := EncodeMessage(Sync, rnd, 1); !bytes.Equal(b, raw) {
		t.Fatal("EncodeMessage compressed incompressible bytes")
	}
}

func tradeTable(n int) Table {
	times := make([]Timestamp, n)
	syms := make([]string, n)
	price := make([]float64, n)
	size := make([]int64, n)
	side := make([]byte, n)
	names := []string{"AAPL", "MSFT", "GOOG", "IBM", "AMZN"}
	for i := 0; i < n; i++ {
		times[i] = Timestamp(int64(9*3600e9) + int64(i)*1e6)
		syms[i] = names[i%len(names)]
		price[i] = 100 + float64(i%1000)/100
		size[i] = int64(100 * (1 + i%10))
		side[i] = "BS"[i%2]
	}
	return Table{Columns: []string{"time", "sym", "price", "size", "side"},
		Data: []any{times, syms, price, size, string(side)}}
}
