package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestNeutralizeCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")":  "'=HYPERLINK(\"x\")",
		"+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
		"@SUM(A1)":           "'@SUM(A1)",
		"-1+1":               "'-1+1",
		"\tx":                "'\tx",
		"\rx":                "'\rx",
		"-":                  "'-",
		"+":                  "'+",
		"-Inf":               "'-Inf",
		"+0x1p3":             "'+0x1p3",
		"-2.5":               "-2.5",
		"+3e8":               "+3e8",
		"-.5":                "-.5",
		"-7":                 "-7",
		"a=b":                "a=b",
		"":                   "",
		" =x":                " =x", // a leading space is quoted by RFC 4180, and not a formula
	} {
		got, changed := neutralizeCSVCell(in)
		if got != want || changed != (got != in) {
			t.Errorf("neutralizeCSVCell(%q) = %q, %v; want %q", in, got, changed, want)
		}
	}
}

// TestCopyCSV: the streamed path neutralises and quotes formula cells,
// keeps every other cell byte for byte, and with neutralize off reproduces
// the body exactly.
func TestCopyCSV(t *testing.T) {
	body := "sym,n,note\r\n=1+2,-3,\"a,b\"\r\n@x,4,\"say \"\"hi\"\"\"\r\n\"-1+1\",5,\r\n"
	var safe, raw bytes.Buffer
	if err := copyCSV(&safe, strings.NewReader(body), true); err != nil {
		t.Fatal(err)
	}
	want := "sym,n,note\r\n\"'=1+2\",-3,\"a,b\"\r\n\"'@x\",4,\"say \"\"hi\"\"\"\r\n\"'-1+1\",5,\r\n"
	if safe.String() != want {
		t.Errorf("neutralised:\n%q\nwant\n%q", safe.String(), want)
	}
	if err := copyCSV(&raw, strings.NewReader(body), false); err != nil {
		t.Fatal(err)
	}
	if raw.String() != body {
		t.Errorf("raw:\n%q\nwant\n%q", raw.String(), body)
	}
	// An empty string ("") stays apart from a null (an empty field).
	var nulls bytes.Buffer
	if err := copyCSV(&nulls, strings.NewReader("a,b\r\n\"\",\r\n"), true); err != nil || nulls.String() != "a,b\r\n\"\",\r\n" {
		t.Errorf("empty string vs null: %q, %v", nulls.String(), err)
	}
	if err := copyCSV(&raw, strings.NewReader("a\r\n\"open\r\n"), true); err == nil {
		t.Error("a body with an unterminated quote was copied without an error")
	}
}

// copyCSVReference is copyCSV as it was before its line-at-a-time fast
// path (one byte at a time throughout): the reference the fast path must
// match byte for byte.
func copyCSVReference(dst io.Writer, src io.Reader) error {
	r := bufio.NewReaderSize(src, 64<<10)
	w := bufio.NewWriterSize(dst, 64<<10)
	var field []byte
	atStart := true
	flush := func() {
		if out, changed := neutralizeCSVField(field); changed {
			w.WriteByte('"')
			w.Write(bytes.ReplaceAll(out, []byte{'"'}, []byte{'"', '"'}))
			w.WriteByte('"')
		} else {
			w.Write(field)
		}
		field = field[:0]
	}
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			flush()
			return w.Flush()
		}
		if err != nil {
			w.Flush()
			return err
		}
		switch {
		case atStart && c == '"':
			var inner []byte
			for {
				q, err := r.ReadByte()
				if err != nil {
					w.Flush()
					return errors.New("the CSV body ends inside a quoted field")
				}
				if q == '"' {
					if next, err := r.Peek(1); err == nil && next[0] == '"' {
						r.ReadByte()
						inner = append(inner, '"')
						continue
					}
					break
				}
				inner = append(inner, q)
			}
			if out, changed := neutralizeCSVField(inner); changed {
				inner = out
			}
			w.WriteByte('"')
			w.Write(bytes.ReplaceAll(inner, []byte{'"'}, []byte{'"', '"'}))
			w.WriteByte('"')
			atStart = false
		case c == ',' || c == '\n' || c == '\r':
			flush()
			w.WriteByte(c)
			atStart = true
		default:
			field = append(field, c)
			atStart = false
		}
	}
}

// checkCopyCSV compares copyCSV with the reference on body, read whole and
// one byte per Read.
func checkCopyCSV(t *testing.T, body string) {
	t.Helper()
	var want bytes.Buffer
	wantErr := copyCSVReference(&want, strings.NewReader(body))
	for _, src := range []io.Reader{strings.NewReader(body), iotest.OneByteReader(strings.NewReader(body))} {
		var got bytes.Buffer
		err := copyCSV(&got, src, true)
		if (err == nil) != (wantErr == nil) || err == nil && got.String() != want.String() {
			t.Fatalf("copyCSV(%q) = %q, %v; reference %q, %v", body, got.String(), err, want.String(), wantErr)
		}
	}
}

func TestCopyCSVMatchesReference(t *testing.T) {
	for _, body := range []string{
		"", "a", "a\r\n", "a,b\r\n1,2", "=1,+2,-3,@4\r\n\t5,\r6\r\n", "x,\"=a\"\"b\",\"\"\r\n",
		"\"quoted\r\nline\",=2\r\n", "\"end\"", "\"open", "a\"b,c\r\n", "\"ab\"cd,e\n", "-1.5,+3e8,-x\n",
		"time,sym,price\r\n2026-12-01T09:30:00.000001000Z,AAPL,189.53\r\n", ",,,\r\n", "\r\r\n\n",
		strings.Repeat("=x,", 200_000) + "\r\n" + strings.Repeat("y", 300_000) + ",\"=\"\r\n", // lines longer than the buffer
	} {
		checkCopyCSV(t, body)
	}
}

func FuzzCopyCSV(f *testing.F) {
	for _, s := range []string{"a,b\r\n=1,\"@x\"\r\n", "\"a\"\"b\"\n-1,-a\r\n", "\"open", "x\ry\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) { checkCopyCSV(t, body) })
}

// BenchmarkCopyCSV: copyCSV against its byte-at-a-time reference on a
// trade-like body (the CLI's --format csv -o path).
func BenchmarkCopyCSV(b *testing.B) {
	var body bytes.Buffer
	body.WriteString("time,sym,price,size,side\r\n")
	for i := range 100_000 {
		fmt.Fprintf(&body, "2026-12-01T09:30:%02d.%09dZ,AAPL,%d.%02d,%d,buy\r\n", i%60, i, 100+i%900, i%100, 100*(i%7+1))
	}
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(body.Len()))
		for range b.N {
			if err := copyCSV(io.Discard, bytes.NewReader(body.Bytes()), true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.SetBytes(int64(body.Len()))
		for range b.N {
			if err := copyCSVReference(io.Discard, bytes.NewReader(body.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
