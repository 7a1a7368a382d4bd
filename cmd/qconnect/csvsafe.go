package main

import (
	"bufio"
	"encoding/csv"
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
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s, false
	}
	if decimalRE.MatchString(s) {
		return s, false
	}
	return "'" + s, true
}

// decimalRE is a plain decimal number with an optional sign and exponent
// (no hex, Inf or NaN): what a spreadsheet reads as a number, not a formula.
var decimalRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// csvOut writes RFC 4180 records (CRLF line ends; a field is quoted when
// it holds a comma, quote, CR or LF or starts with a space; line breaks in
// a quoted field are written CRLF, as encoding/csv does) and, when
// neutralize is set, neutralises formula cells (always quoted). It is the
// one CSV writing path of the CLI.
type csvOut struct {
	w          *bufio.Writer
	neutralize bool
}

func newCSVOut(w io.Writer, neutralize bool) *csvOut {
	return &csvOut{w: bufio.NewWriterSize(w, 64<<10), neutralize: neutralize}
}

// Write writes one record.
func (c *csvOut) Write(rec []string) error {
	for i, f := range rec {
		if i > 0 {
			c.w.WriteByte(',')
		}
		quote := f != "" && (strings.ContainsAny(f, ",\"\r\n") || f[0] == ' ')
		if c.neutralize {
			var changed bool
			if f, changed = neutralizeCSVCell(f); changed {
				quote = true
			}
		}
		if !quote {
			c.w.WriteString(f)
			continue
		}
		c.w.WriteByte('"')
		c.w.WriteString(quotedCSV.Replace(f))
		c.w.WriteByte('"')
	}
	_, err := c.w.WriteString("\r\n")
	return err
}

// quotedCSV escapes a quoted field as encoding/csv's Writer with UseCRLF
// does: quotes doubled, line breaks as CRLF.
var quotedCSV = strings.NewReplacer(`"`, `""`, "\r\n", "\r\n", "\r", "", "\n", "\r\n")

// Flush writes out what is buffered.
func (c *csvOut) Flush() error { return c.w.Flush() }

// copyCSV copies a CSV body from src to dst record by record through a
// csvOut (neutralising formulas when neutralize is set). A line break
// inside a quoted field comes out as LF (encoding/csv reads CRLF there as
// LF).
func copyCSV(dst io.Writer, src io.Reader, neutralize bool) error {
	r := csv.NewReader(bufio.NewReaderSize(src, 64<<10))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	w := newCSVOut(dst, neutralize)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return w.Flush()
		}
		if err != nil {
			w.Flush()
			return err
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
}
