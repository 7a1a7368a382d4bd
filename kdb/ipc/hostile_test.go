package ipc

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"testing"
)

// TestHostileLengths: lengths and counts that claim more than arrives are
// errors, and cost no more memory than what arrived.
func TestHostileLengths(t *testing.T) {
	cases := []string{
		"07 00 ffffff7f",                            // long vector of 2^31-1 with no data
		"07 00 ffffffff",                            // negative count
		"00 00 ffffff7f 6500",                       // general list of 2^31-1 items
		"0b 00 ffffff7f 6100",                       // symbols, no terminators
		"62 00 63 0b00 01000000 6100 0000 ffffff7f", // table with a huge column list
		"f5 616263",                                 // symbol without its NUL
		"63 0b00 02000000 610062 00 0700 01000000 0100000000000000",                                                                     // dict 2 keys 1 value
		"62 00 63 0b00 02000000 610062 00 0000 02000000 0700 01000000 0100000000000000 0700 02000000 0100000000000000 0200000000000000", // ragged table
		"03 00 00000000", // no type 3
		"66 00",          // unsupported function type
		"",
	}
	for _, c := range cases {
		if v, err := Unmarshal(unhex(t, c)); err == nil {
			t.Errorf("%q decoded to %#v", c, v)
		}
	}
}

func TestDepthBound(t *testing.T) {
	var b []byte
	for i := 0; i < 10000; i++ {
		b = append(b, 0, 0, 1, 0, 0, 0)
	}
	b = append(b, 0x65, 0)
	if _, err := Unmarshal(b); err == nil {
		t.Fatal("10000-deep nesting decoded")
	}
	if _, err := (Decoder{MaxDepth: 20000}).Decode(b); err != nil {
		t.Fatalf("with MaxDepth 20000: %v", err)
	}
}

func TestTrailingBytes(t *testing.T) {
	if _, err := Unmarshal(unhex(t, "f9 0100000000000000 00")); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

// slowReader hands out its bytes and then EOF, counting them.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestReadMessageDoesNotTrustLength: a header announcing 200 MB followed by
// 10 bytes allocates nowhere near 200 MB.
func TestReadMessageDoesNotTrustLength(t *testing.T) {
	h := []byte{1, 2, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(h[4:], 200<<20)
	in := append(h, make([]byte, 10)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadMessage(bytes.NewReader(in), 256<<20)
	runtime.ReadMemStats(&after)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("allocated %d bytes for a 10-byte body", grew)
	}
	// Above the maximum: refused before reading the body.
	if _, err := ReadMessage(bytes.NewReader(in), 1<<20); err == nil {
		t.Fatal("oversized message accepted")
	} else if _, ok := err.(*TooLargeError); !ok {
		t.Fatalf("err = %T %v", err, err)
	}
}

func TestReadMessageBadHeaders(t *testing.T) {
	for _, h := range []string{
		"02010000 09000000 00", // endianness 2
		"01030000 09000000 00", // msg type 3
		"01010200 09000000 00", // compression byte 2
		"01010000 04000000",    // length below the header
	} {
		if _, err := ReadMessage(bytes.NewReader(unhex(t, h)), 0); err == nil {
			t.Errorf("%s accepted", h)
		}
	}
}

// TestDecompressBounds: a compressed message claiming a large size from a
// few bytes is refused without allocating it; a corrupt stream is an error.
func TestDecompressBounds(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Decompress(unhex(t, "00000010 ff 7100 7100"), binary.LittleEndian, 1<<30)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("accepted")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("allocated %d bytes", grew)
	}
	if _, err := Decompress(unhex(t, "20000000 00 0b00"), binary.LittleEndian, 1<<20); err == nil {
		t.Fatal("truncated stream accepted")
	}
	if _, err := Decompress(unhex(t, "DE070000800B00E8030000"), binary.LittleEndian, 100); err == nil {
		t.Fatal("declared size above max accepted")
	}
}
