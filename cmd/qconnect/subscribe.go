package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/stream"
	"github.com/qconnect/qconnect/protocol"
)

const subscribeUsage = `Usage: qconnect subscribe [<host:port> [<username> [<password>]]] <group/method> [flags]

Logs in, subscribes to a streaming method over the WebSocket (PROTOCOL 7) and
prints its snapshot and updates as they arrive, until Ctrl-C (or --count);
then it unsubscribes and logs out. The last argument is the method.
` + gatewaySourcesHelp + `

Flags:
  --params JSON   the parameter object, e.g. '{"syms":["server_A"]}', or @file.json
  --format F      table (default: a "seq" column, 0 for snapshot rows), ndjson (one
                  row object per line) or csv (a header, then rows)
  --count N       stop after N updates (default: run until Ctrl-C)

Exit codes: 0 ended by Ctrl-C or --count, 1 the subscription failed or was
ended by the gateway, 2 bad command line, 3 authentication failed, 4 gateway
unreachable.
`

// subscribeOptions is the parsed command line of qconnect subscribe.
type subscribeOptions struct {
	gw     gatewayArgs
	method string
	params map[string]any
	format string
	count  int
}

func parseSubscribeArgs(e *env, args []string) (*subscribeOptions, error) {
	fs := flag.NewFlagSet("qconnect subscribe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	params := fs.String("params", "", "")
	format := fs.String("format", "table", "")
	count := fs.Int("count", 0, "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(e.stdout, subscribeUsage)
		return nil, err
	}
	if err != nil {
		return nil, usageErrorf("%v; run 'qconnect subscribe -h' for the flags", err)
	}
	gwArgs, method, err := splitTarget("subscribe", pos, methodRequired, `qconnect subscribe monPublic/sub --params '{"syms":["server_A"]}'`)
	if err != nil {
		return nil, err
	}
	o := &subscribeOptions{gw: resolveGateway(e, gwArgs), method: method, format: strings.ToLower(*format), count: *count}
	if o.format != "table" && o.format != "ndjson" && o.format != "csv" {
		return nil, usageErrorf("--format %q: use table, ndjson or csv", *format)
	}
	if o.count < 0 {
		return nil, usageErrorf("--count must be 0 (no limit) or more")
	}
	if o.params, err = parseParams(e, *params); err != nil {
		return nil, err
	}
	return o, nil
}

// runSubscribe is qconnect subscribe.
func runSubscribe(ctx context.Context, e *env, args []string) error {
	o, err := parseSubscribeArgs(e, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	const setup = time.Minute
	sctx, cancel := context.WithTimeout(ctx, setup)
	defer cancel()
	sess, err := loginGateway(sctx, o.gw)
	if err != nil {
		return commandFailure(ctx, err, o.gw, setup)
	}
	defer logoutGateway(ctx, sess)
	sub, err := sess.Subscribe(sctx, o.method, o.params)
	if err != nil {
		return commandFailure(ctx, err, o.gw, setup)
	}
	p := newStreamPrinter(e.stdout, o.format)
	updates, rows := 0, 0
	told := false // "no rows yet" was said (once)
	tellEmpty := func() {
		if !told {
			told = true
			fmt.Fprintf(e.stderr, "qconnect subscribe: no rows for %s yet; waiting\n", describeFilter(o.method, o.params))
		}
	}
	for o.count == 0 || updates < o.count {
		nctx, ncancel := ctx, context.CancelFunc(func() {})
		if !told && rows == 0 {
			nctx, ncancel = context.WithTimeout(ctx, quietAfter)
		}
		m, err := sub.Next(nctx)
		ncancel()
		if err != nil {
			if ctx.Err() != nil {
				break // Ctrl-C: the normal end
			}
			if errors.Is(err, context.DeadlineExceeded) && nctx != ctx {
				tellEmpty() // nothing yet: say so, and keep waiting
				continue
			}
			return commandFailure(ctx, subscriptionFailure(err), o.gw, setup)
		}
		if m.Kind == client.Update {
			updates++
		}
		rows += len(m.Rows)
		if m.Kind == client.Snapshot && len(m.Rows) == 0 {
			tellEmpty()
		}
		if err := p.print(m); err != nil {
			return &exitError{code: exitCallFailed, msg: fmt.Sprintf("writing the output: %v", err)}
		}
	}
	uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), logoutTimeout)
	defer ucancel()
	if err := sub.Unsubscribe(uctx); err != nil {
		fmt.Fprintf(e.stderr, "qconnect subscribe: unsubscribing: %v\n", err)
	}
	return nil
}

// quietAfter is how long subscribe waits for a first row, when there is no
// snapshot, before it says that nothing matched yet.
const quietAfter = 5 * time.Second

// describeFilter names what a subscription waits for: its parameters
// ("syms [server_Z]", in name order), or the method when it has none.
func describeFilter(method string, params map[string]any) string {
	if len(params) == 0 {
		return method
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + " " + fmt.Sprint(params[k])
	}
	return strings.Join(parts, ", ")
}

// subscriptionFailure explains the ends of a subscription that are not
// gateway errors.
func subscriptionFailure(err error) error {
	var ce *client.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 4401:
			return &exitError{code: exitAuth, msg: fmt.Sprintf("%v\nthe session ended (logout, expiry, or a newer login beyond the limit); run the command again", err)}
		case 4008:
			return &exitError{code: exitCallFailed, msg: fmt.Sprintf("%v\nthis terminal did not keep up; use --format ndjson to a file, or narrower --params", err)}
		}
	}
	var qe *client.Error
	if errors.As(err, &qe) && qe.Code == qconnect.CodeSlowConsumer {
		return &exitError{code: exitCallFailed, msg: serverErrorText(qe, "subscribe") + "\nthis terminal did not keep up; use --format ndjson to a file, or narrower --params"}
	}
	return err
}

// streamPrinter prints messages as they come. The table format cannot know
// the widths ahead, so each column is as wide as its name or a typical
// value of its type, whichever is wider; longer values push the line.
type streamPrinter struct {
	w       *bufio.Writer
	format  string
	header  bool
	widths  []int
	csv     *csv.Writer
	enc     *stream.RowEncoder
	encCols []qconnect.Column
}

func newStreamPrinter(w io.Writer, format string) *streamPrinter {
	return &streamPrinter{w: bufio.NewWriter(w), format: format}
}

// typicalWidth is the width of a usual value of type t in a table.
func typicalWidth(t qconnect.Type) int {
	switch t {
	case qconnect.Timestamp:
		return 30
	case qconnect.Date:
		return 10
	case qconnect.Time:
		return 12
	case qconnect.Timespan:
		return 20
	case qconnect.GUID:
		return 36
	case qconnect.Boolean:
		return 5
	case qconnect.Symbol:
		return 8
	}
	return 10
}

func (p *streamPrinter) print(m *client.Message) error {
	cols := m.Columns
	switch p.format {
	case "ndjson":
		if p.enc == nil || len(p.encCols) != len(cols) {
			p.enc, p.encCols = stream.NewRowEncoder(cols), cols
		}
		var b []byte
		for _, r := range m.Rows {
			b = p.enc.AppendRow(b[:0], r)
			p.w.Write(append(b, '\n'))
		}
	case "csv":
		if p.csv == nil {
			p.csv = csv.NewWriter(p.w)
			p.csv.UseCRLF = true
			rec := make([]string, len(cols))
			for i, c := range cols {
				rec[i] = c.Name
			}
			p.csv.Write(rec)
		}
		rec := make([]string, len(cols))
		var buf []byte
		for _, r := range m.Rows {
			for i, c := range cols {
				buf, _ = protocol.AppendText(buf[:0], c.Type, rowValue(r, i))
				rec[i] = string(buf)
			}
			p.csv.Write(rec)
		}
		p.csv.Flush()
		if err := p.csv.Error(); err != nil {
			return err
		}
	default:
		if !p.header {
			p.header = true
			p.widths = make([]int, len(cols)+1)
			p.widths[0] = max(3, len(strconv.FormatUint(m.Seq, 10))+3)
			line := []string{pad("seq", p.widths[0], false)}
			for i, c := range cols {
				p.widths[i+1] = max(utf8.RuneCountInString(c.Name), typicalWidth(c.Type))
				line = append(line, pad(c.Name, p.widths[i+1], numericColumn(c.Type)))
			}
			fmt.Fprintln(p.w, strings.TrimRight(strings.Join(line, "  "), " "))
		}
		var buf []byte
		for _, r := range m.Rows {
			line := []string{pad(strconv.FormatUint(m.Seq, 10), p.widths[0], true)}
			for i, c := range cols {
				buf = appendCell(buf[:0], c.Type, rowValue(r, i))
				line = append(line, pad(string(buf), p.widths[i+1], numericColumn(c.Type)))
			}
			fmt.Fprintln(p.w, strings.TrimRight(strings.Join(line, "  "), " "))
		}
	}
	return p.w.Flush()
}

func pad(s string, width int, right bool) string {
	n := width - utf8.RuneCountInString(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}
