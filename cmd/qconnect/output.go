package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/apidoc"
	"github.com/qconnect/qconnect/internal/encode"
	"github.com/qconnect/qconnect/protocol"
)

// numericColumn reports whether values of type t are right-aligned.
func numericColumn(t qconnect.Type) bool {
	switch t {
	case qconnect.Long, qconnect.Int, qconnect.Short, qconnect.Float, qconnect.Real:
		return true
	}
	return false
}

// appendCell appends the PROTOCOL 4.3 text form of v for a table cell:
// null is empty and control characters are escaped so a row stays on one
// line.
func appendCell(dst []byte, t qconnect.Type, v any) []byte {
	start := len(dst)
	dst, _ = protocol.AppendText(dst, t, v)
	if bytes.IndexFunc(dst[start:], func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 {
		return dst
	}
	cell := string(dst[start:])
	dst = dst[:start]
	for _, r := range cell {
		switch {
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r < 0x20 || r == 0x7f:
			dst = fmt.Appendf(dst, `\x%02x`, r)
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// writeTable prints res as an aligned text table: a header, a rule, one
// line per row (numbers right-aligned, values in their 4.3 text form, null
// empty), and a footer "rows: N (truncated)  elapsed: T". It formats each
// value twice (widths, then output) rather than holding every cell.
func writeTable(w io.Writer, res *client.Result) error {
	widths := make([]int, len(res.Columns))
	numeric := make([]bool, len(res.Columns))
	for i, c := range res.Columns {
		widths[i] = utf8.RuneCountInString(c.Name)
		numeric[i] = numericColumn(c.Type)
	}
	var buf []byte
	for _, row := range res.Rows {
		for i := range res.Columns {
			buf = appendCell(buf[:0], res.Columns[i].Type, rowValue(row, i))
			widths[i] = max(widths[i], utf8.RuneCount(buf))
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	emit := func(cell []byte, i int) {
		if i > 0 {
			line = append(line, "  "...)
		}
		pad := widths[i] - utf8.RuneCount(cell)
		if numeric[i] {
			line = append(line, strings.Repeat(" ", pad)...)
			line = append(line, cell...)
		} else {
			line = append(line, cell...)
			line = append(line, strings.Repeat(" ", pad)...)
		}
	}
	flush := func() {
		line = bytes.TrimRight(line, " ")
		line = append(line, '\n')
		bw.Write(line)
		line = line[:0]
	}
	if len(res.Columns) > 0 {
		for i, c := range res.Columns {
			emit([]byte(c.Name), i)
		}
		flush()
		for i := range res.Columns {
			if i > 0 {
				line = append(line, "  "...)
			}
			line = append(line, strings.Repeat("-", widths[i])...)
		}
		flush()
	}
	for _, row := range res.Rows {
		for i := range res.Columns {
			buf = appendCell(buf[:0], res.Columns[i].Type, rowValue(row, i))
			emit(buf, i)
		}
		flush()
	}
	fmt.Fprintf(bw, "rows: %s", groupThousands(int64(len(res.Rows))))
	if res.Truncated {
		bw.WriteString(" (truncated)")
	}
	fmt.Fprintf(bw, "  elapsed: %s\n", formatElapsed(res.ElapsedMs))
	return bw.Flush()
}

func rowValue(row []any, i int) any {
	if i < len(row) {
		return row[i]
	}
	return nil
}

// formatElapsed prints milliseconds as "0.051 ms", "3.2 ms" or "1.25 s".
func formatElapsed(ms float64) string {
	switch {
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 3, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}

// writeResultCSV writes res as CSV through the gateway's own CSV encoder
// (encode.CSV), so that one result gives one CSV file whether it is
// exported with --csv or streamed with --format csv -o: RFC 4180, CRLF, a
// header row, values in their 4.3 text form, null as an empty field and
// the empty string as "". field, when not nil, rewrites each string field
// before it is quoted: the hook for spreadsheet-formula neutralisation
// (encode.Ending.Field).
func writeResultCSV(w io.Writer, res *client.Result, field func([]byte) ([]byte, bool)) error {
	enc, err := encode.New(encode.CSV, w, encode.Header{}, res.Columns, encode.Ending{Field: field})
	if err != nil {
		return err
	}
	const chunk = 4096 // bounds the batch built from the boxed rows
	for from := 0; from < len(res.Rows); from += chunk {
		rows := res.Rows[from:min(from+chunk, len(res.Rows))]
		b, err := qconnect.BatchOf(res.Columns, rows)
		if err != nil {
			return fmt.Errorf("row %d: %w", from+1, err)
		}
		if err := enc.WriteBatch(b); err != nil {
			return err
		}
	}
	return enc.Finish(encode.Meta{RowCount: int64(len(res.Rows)), Truncated: res.Truncated}, nil)
}

// writeMethods prints the method list of PROTOCOL 6 for people:
//
//	group/method — description
//	    name type (required|default X|optional) — description
//	  columns: name type, ...
func writeMethods(w io.Writer, ms []client.MethodInfo) error {
	bw := bufio.NewWriter(w)
	for i, m := range ms {
		if i > 0 {
			bw.WriteString("\n")
		}
		fmt.Fprintf(bw, "%s — %s", m.FullName(), oneLine(m.Description))
		if m.Streaming {
			bw.WriteString(" (streaming: subscribe over the WebSocket)")
		}
		bw.WriteString("\n")
		if len(m.Params) == 0 {
			bw.WriteString("  params: none\n")
		} else {
			bw.WriteString("  params:\n")
		}
		for _, p := range m.Params {
			fmt.Fprintf(bw, "    %s %s (%s)", p.Name, p.Type, paramUse(p))
			if c := paramConstraints(p); c != "" {
				fmt.Fprintf(bw, " [%s]", c)
			}
			if p.Description != "" {
				fmt.Fprintf(bw, " — %s", oneLine(p.Description))
			}
			bw.WriteString("\n")
		}
		cols := make([]string, len(m.Columns))
		for j, c := range m.Columns {
			cols[j] = c.Name + " " + string(c.Type)
		}
		if len(cols) == 0 {
			cols = append(cols, "none")
		}
		fmt.Fprintf(bw, "  columns: %s\n", strings.Join(cols, ", "))
	}
	return bw.Flush()
}

// paramUse is "required", "default X" or "optional".
func paramUse(p client.ParamInfo) string {
	switch {
	case p.Required:
		return "required"
	case p.Default != nil:
		if s, ok := p.Default.(string); ok {
			if strings.TrimSuffix(p.Type, "[]") == string(qconnect.Timespan) {
				if d, err := time.ParseDuration(s); err == nil {
					return "default " + apidoc.ShortDuration(d)
				}
			}
			return "default " + s
		}
		b, err := json.Marshal(p.Default)
		if err != nil {
			return fmt.Sprintf("default %v", p.Default)
		}
		return "default " + string(b)
	case p.DefaultDoc != "":
		return "default " + p.DefaultDoc
	}
	return "optional"
}

func paramConstraints(p client.ParamInfo) string {
	var parts []string
	if len(p.Enum) > 0 {
		parts = append(parts, "one of "+strings.Join(p.Enum, ", "))
	}
	bound := func(v float64) string {
		if strings.TrimSuffix(p.Type, "[]") == string(qconnect.Timespan) { // bounds of a timespan are in seconds (PROTOCOL 6)
			return apidoc.ShortDuration(time.Duration(v * float64(time.Second)))
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if p.Min != nil {
		parts = append(parts, "min "+bound(*p.Min))
	}
	if p.Max != nil {
		parts = append(parts, "max "+bound(*p.Max))
	}
	if p.MaxLen > 0 {
		parts = append(parts, "max length "+strconv.Itoa(p.MaxLen))
	}
	return strings.Join(parts, "; ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// plural is "1 row", "2 rows", "1,000 rows": n with thousands separators
// and the noun in the right number (nouns taking -s).
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return groupThousands(n) + " " + noun + "s"
}

// groupThousands prints n with comma separators: 1,234,567.
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// humanBytes prints a byte count in decimal units: "512 B", "98.1 MB".
func humanBytes(n int64) string {
	f := float64(n)
	switch {
	case f < 1e3:
		return strconv.FormatInt(n, 10) + " B"
	case f < 1e6:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + " kB"
	case f < 1e9:
		return strconv.FormatFloat(f/1e6, 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(f/1e9, 'f', 1, 64) + " GB"
}

// humanRate prints a count per second compactly: "950", "1.2k", "412k", "3.4M".
func humanRate(f float64) string {
	switch {
	case f < 1e3:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f < 1e4:
		return strconv.FormatFloat(f/1e3, 'f', 1, 64) + "k"
	case f < 1e6:
		return strconv.FormatFloat(f/1e3, 'f', 0, 64) + "k"
	}
	return strconv.FormatFloat(f/1e6, 'f', 1, 64) + "M"
}

// Progress line timing: nothing for the first second, then ~4 updates/s.
const (
	progressDelay    = time.Second
	progressInterval = 250 * time.Millisecond
)

// progressMeter counts the bytes (and, for CSV and NDJSON, the lines) of a
// transfer written through it, and, when enabled (stderr is a terminal),
// redraws one status line on out once the transfer has run for a second,
// at most four times a second:
//
//	\r  1,234,567 rows  98.1 MB  412k rows/s
//
// Rows are lines less one (the CSV header or the NDJSON status line).
// It is used from one goroutine.
type progressMeter struct {
	out       io.Writer
	now       func() time.Time
	countRows bool
	enabled   bool
	// csv makes the line count skip line breaks inside quoted fields
	// (RFC 4180), which a CSV value may contain.
	csv     bool
	inQuote bool

	start, last time.Time
	bytes       int64
	lines       int64
	drawn       int // length of the last line drawn; 0 = none yet
}

func newProgressMeter(out io.Writer, now func() time.Time, countRows, enabled bool) *progressMeter {
	return &progressMeter{out: out, now: now, countRows: countRows, enabled: enabled, start: now()}
}

// Write counts b; it never fails.
func (p *progressMeter) Write(b []byte) (int, error) {
	p.bytes += int64(len(b))
	switch {
	case p.csv:
		p.countCSV(b)
	case p.countRows:
		p.lines += int64(bytes.Count(b, []byte{'\n'}))
	}
	if p.enabled {
		t := p.now()
		if t.Sub(p.start) >= progressDelay && (p.drawn == 0 || t.Sub(p.last) >= progressInterval) {
			p.draw(t)
		}
	}
	return len(b), nil
}

// countCSV counts the record ends in b, carrying the quote state across
// writes. A doubled quote inside a quoted field toggles the state twice and
// so leaves it unchanged.
func (p *progressMeter) countCSV(b []byte) {
	for len(b) > 0 {
		if p.inQuote {
			i := bytes.IndexByte(b, '"')
			if i < 0 {
				return
			}
			p.inQuote = false
			b = b[i+1:]
			continue
		}
		// Outside quotes: every newline up to the next quote ends a record
		// (bytes.IndexByte and bytes.Count are vectorised; most bodies
		// have no quote at all).
		i := bytes.IndexByte(b, '"')
		if i < 0 {
			p.lines += int64(bytes.Count(b, []byte{'\n'}))
			return
		}
		p.lines += int64(bytes.Count(b[:i], []byte{'\n'}))
		p.inQuote = true
		b = b[i+1:]
	}
}

// rows is the number of data rows seen so far.
func (p *progressMeter) rows() int64 { return max(p.lines-1, 0) }

// line formats the status at time t (without the leading \r).
func (p *progressMeter) line(t time.Time) string {
	secs := t.Sub(p.start).Seconds()
	if p.countRows {
		s := fmt.Sprintf("  %s  %s", plural(p.rows(), "row"), humanBytes(p.bytes))
		if secs > 0 {
			s += "  " + humanRate(float64(p.rows())/secs) + " rows/s"
		}
		return s
	}
	s := "  " + humanBytes(p.bytes)
	if secs > 0 {
		s += "  " + humanBytes(int64(float64(p.bytes)/secs)) + "/s"
	}
	return s
}

func (p *progressMeter) draw(t time.Time) {
	l := p.line(t)
	pad := ""
	if n := p.drawn - len(l); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(p.out, "\r%s%s", l, pad)
	p.drawn = max(len(l), 1)
	p.last = t
}

// finish draws the final state and ends the line, if a line was drawn.
func (p *progressMeter) finish() {
	if p.drawn > 0 {
		p.draw(p.now())
		io.WriteString(p.out, "\n")
	}
}

// summary is the one-line report of a finished transfer.
func (p *progressMeter) summary(path string) string {
	d := p.now().Sub(p.start).Round(time.Millisecond)
	if p.countRows {
		return fmt.Sprintf("wrote %s (%s) to %s in %s", plural(p.rows(), "row"), humanBytes(p.bytes), path, d)
	}
	return fmt.Sprintf("wrote %s to %s in %s", humanBytes(p.bytes), path, d)
}
