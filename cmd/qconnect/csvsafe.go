package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"regexp"
)

// CSV formula injection (OWASP "CSV Injection"): a spreadsheet that opens a
// CSV file runs a cell starting with = + - @ TAB or CR as a formula, so a
// published value such as =HYPERLINK(...) or +cmd|... would run on the
// reader's machine. The CLI's CSV output (call --csv, and --format csv to a
// file or stdout) neutralises such cells by default: the cell gets a
// leading single quote and is quoted. A cell that is a plain number (-1.5,
// +3e8) is left alone: it is not a formula, and numeric columns stay
// numeric. --csv-raw turns this off and writes the data exactly. The HTTP
// API always returns the exact data.

// neutralizeCSVCell returns s made safe to open in a spreadsheet, and
// whether it changed it.
func neutralizeCSVCell(s string) (string, bool) {
	b, changed := neutralizeCSVField([]byte(s))
	return string(b), changed
}

// decimalRE is a plain decimal number with an optional sign and exponent
// (no hex, Inf or NaN): what a spreadsheet reads as a number, not a formula.
var decimalRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// neutralizeCSVField is neutralizeCSVCell as the gateway's CSV encoder's
// Field hook (encode.Ending.Field): a neutralised cell is always quoted.
func neutralizeCSVField(b []byte) ([]byte, bool) {
	if len(b) == 0 || !needsCheck(b[0]) || decimalRE.Match(b) {
		return b, false
	}
	return append([]byte{'\''}, b...), true
}

// copyCSV copies an RFC 4180 body from src to dst, byte for byte except
// for the cells it neutralises (when neutralize is set), which get a
// leading single quote and are quoted. Every other field keeps exactly the
// bytes it had, quotes included, so an empty string ("") stays apart from
// a null (an empty field). A quote that is never closed is an error.
//
// The body is read in blocks. A block of whole lines that starts a record
// and holds no quote and no cell that may be a formula (clean; all of most
// bodies) is written as it is, found with a few vectorised searches; the
// lines of any other block are copied a line at a time (fastLine), and
// lines with quotes go through csvCopier's byte-at-a-time state machine,
// which gives the same output for every line.
func copyCSV(dst io.Writer, src io.Reader, neutralize bool) error {
	if !neutralize {
		_, err := io.Copy(dst, src)
		return err
	}
	c := &csvCopier{w: bufio.NewWriterSize(dst, 256<<10), atStart: true}
	buf := make([]byte, 512<<10)
	n := 0 // bytes held in buf
	for {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil && err != io.EOF {
			c.w.Flush()
			return err
		}
		eof := err == io.EOF
		// The whole lines held; at the end, everything.
		// (Only the bytes just read can hold a line end: the block before
		// ended at the last one.)
		end := 0
		if i := bytes.LastIndexByte(buf[n-m:n], '\n'); i >= 0 {
			end = n - m + i + 1
		}
		if eof || end == 0 && n == len(buf) {
			end = n
		}
		c.block(buf[:end])
		n = copy(buf, buf[end:n])
		if eof {
			if c.inQuoted && !c.quote {
				c.w.Flush()
				return errors.New("the CSV body ends inside a quoted field")
			}
			if c.inQuoted {
				c.endQuoted()
			}
			c.flush()
			return c.w.Flush()
		}
	}
}

// block copies b, which ends at a line end unless it is the body's end or
// a line longer than the buffer.
func (c *csvCopier) block(b []byte) {
	if c.atStart && !c.inQuoted && len(c.field) == 0 && clean(b) {
		c.w.Write(b)
		return
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n') + 1
		if i == 0 {
			i = len(b)
		}
		line := b[:i]
		if c.atStart && !c.inQuoted && len(c.field) == 0 && bytes.IndexByte(line, '"') < 0 {
			c.fastLine(line)
		} else {
			for _, x := range line {
				c.byte(x)
			}
		}
		b = b[i:]
	}
}

// clean reports whether b, starting a record, holds no quote and no field
// that starts with a byte of a formula (= + - @ TAB; a field never starts
// with a CR outside quotes, CR ends it): then copyCSV leaves it unchanged.
func clean(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if b[0] == '-' || bytes.IndexByte(b, '"') >= 0 || bytes.IndexByte(b, '=') >= 0 ||
		bytes.IndexByte(b, '+') >= 0 || bytes.IndexByte(b, '@') >= 0 || bytes.IndexByte(b, '\t') >= 0 {
		return false
	}
	return !bytes.Contains(b, []byte(",-")) && !bytes.Contains(b, []byte("\n-")) && !bytes.Contains(b, []byte("\r-"))
}

// csvCopier is copyCSV's state between bytes.
type csvCopier struct {
	w        *bufio.Writer
	field    []byte // the current unquoted field, held until its end
	inner    []byte // the content of the current quoted field
	atStart  bool   // at the start of a field
	inQuoted bool   // inside a quoted field
	quote    bool   // inside a quoted field, just after a quote: its end, or the first of a doubled quote
}

// flush writes the unquoted field held, neutralised when it must be.
func (c *csvCopier) flush() {
	c.writeField(c.field)
	c.field = c.field[:0]
}

func (c *csvCopier) writeField(f []byte) {
	if out, changed := neutralizeCSVField(f); changed {
		c.writeQuoted(out)
	} else {
		c.w.Write(f)
	}
}

func (c *csvCopier) writeQuoted(b []byte) {
	c.w.WriteByte('"')
	c.w.Write(bytes.ReplaceAll(b, []byte{'"'}, []byte{'"', '"'}))
	c.w.WriteByte('"')
}

// fastLine copies a line without quotes that starts a record: fields end
// at commas, the line at an optional CR and LF (a CR elsewhere is a field
// end too, as in byte).
func (c *csvCopier) fastLine(line []byte) {
	for len(line) > 0 {
		i := bytes.IndexByte(line, ',')
		f := line
		if i >= 0 {
			f = line[:i]
		}
		end := len(f)
		if j := bytes.IndexAny(f, "\r\n"); j >= 0 {
			end = j
		}
		if end < len(f) {
			// The line's end (or a bare CR): the rest goes byte by byte.
			c.writeField(f[:end])
			for _, b := range line[end:] {
				c.byte(b)
			}
			return
		}
		if len(f) > 0 && needsCheck(f[0]) {
			c.writeField(f)
		} else {
			c.w.Write(f)
		}
		if i < 0 {
			// The last field of the body, without a line end: it is
			// written whole, nothing is held.
			c.atStart = len(f) == 0
			return
		}
		c.w.WriteByte(',')
		line = line[i+1:]
		c.atStart = true
	}
}

// needsCheck reports whether a field starting with b may be a formula.
func needsCheck(b byte) bool {
	return b == '=' || b == '+' || b == '-' || b == '@' || b == '\t' || b == '\r'
}

// endQuoted writes the quoted field read (its closing quote seen).
func (c *csvCopier) endQuoted() {
	c.inQuoted, c.quote = false, false
	inner := c.inner
	if out, changed := neutralizeCSVField(inner); changed {
		inner = out
	}
	c.writeQuoted(inner)
	c.inner = c.inner[:0]
	c.atStart = false
}

// byte advances the state machine by one byte.
func (c *csvCopier) byte(b byte) {
	if c.inQuoted {
		if c.quote {
			c.quote = false
			if b == '"' { // a doubled quote
				c.inner = append(c.inner, '"')
				return
			}
			c.endQuoted()
			// b is the byte after the field: fall through.
		} else {
			if b == '"' {
				c.quote = true
			} else {
				c.inner = append(c.inner, b)
			}
			return
		}
	}
	switch {
	case c.atStart && b == '"':
		// A quoted field: a spreadsheet reads its content, which may be
		// a formula too.
		c.inQuoted = true
	case b == ',' || b == '\n' || b == '\r':
		c.flush()
		c.w.WriteByte(b)
		c.atStart = true
	default:
		c.field = append(c.field, b)
		c.atStart = false
	}
}
