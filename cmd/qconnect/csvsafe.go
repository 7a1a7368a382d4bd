package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
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
	if len(b) == 0 || !strings.ContainsRune("=+-@\t\r", rune(b[0])) || decimalRE.Match(b) {
		return b, false
	}
	return append([]byte{'\''}, b...), true
}

// copyCSV copies an RFC 4180 body from src to dst, byte for byte except
// for the cells it neutralises (when neutralize is set), which get a
// leading single quote and are quoted. Every other field keeps exactly the
// bytes it had, quotes included, so an empty string ("") stays apart from
// a null (an empty field). A quote that is never closed is an error.
func copyCSV(dst io.Writer, src io.Reader, neutralize bool) error {
	if !neutralize {
		_, err := io.Copy(dst, src)
		return err
	}
	r := bufio.NewReaderSize(src, 64<<10)
	w := bufio.NewWriterSize(dst, 64<<10)
	var field []byte // the current unquoted field, held until its end
	atStart := true  // at the start of a field
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
			// A quoted field: a spreadsheet reads its content, which
			// may be a formula too.
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
		case c == ',' || c == '\n':
			flush()
			w.WriteByte(c)
			atStart = true
		case c == '\r':
			flush()
			w.WriteByte(c)
			atStart = true
		default:
			field = append(field, c)
			atStart = false
		}
	}
}
