package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
)

const publishUsage = `Usage: qconnect publish [<host:port> [<username> [<password>]]] <group/method> [flags]

Logs in and publishes rows to a publishing method (it needs a write grant),
in batches, then logs out. Rows come from --file or stdin:
  csv     a header row of column names, then one row per line; values in the
          text form of PROTOCOL 4.3 (2019-07-26T15:59:00Z, 12.5, true);
          an empty field is null
  ndjson  one JSON object per line, column → value as in PROTOCOL 4.3
The last argument is the method.
` + gatewaySourcesHelp + `

Flags:
  --file F       read rows from F (default: stdin)
  --format F     csv or ndjson (default: from the file's extension, or sniffed)
  --batch N      rows per request (default 1000; batches also stop at 512 KiB)
  --timeout D    give up after D (default 30m)

A batch the gateway rejects stops the command: the batches before it are
stored, that one and the rest are not (the message names the first row).
Exit codes: 0 all rows stored, 1 a batch failed, 2 bad command line or input,
3 authentication failed, 4 gateway unreachable.
`

// maxBatchBytes keeps a batch well within the gateway's 1 MiB body limit.
const maxBatchBytes = 512 << 10

type publishOptions struct {
	gw      gatewayArgs
	method  string
	file    string
	format  string
	batch   int
	timeout time.Duration
}

func parsePublishArgs(e *env, args []string) (*publishOptions, error) {
	fs := flag.NewFlagSet("qconnect publish", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("file", "", "")
	format := fs.String("format", "", "")
	batch := fs.Int("batch", 1000, "")
	timeout := fs.Duration("timeout", 30*time.Minute, "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(e.stdout, publishUsage)
		return nil, err
	}
	if err != nil {
		return nil, usageErrorf("%v; run 'qconnect publish -h' for the flags", err)
	}
	gwArgs, method, err := splitTarget("publish", pos, methodRequired, "qconnect publish marketData/pubTrades --file trades.csv")
	if err != nil {
		return nil, err
	}
	o := &publishOptions{gw: resolveGateway(e, gwArgs), method: method, file: *file,
		format: strings.ToLower(*format), batch: *batch, timeout: *timeout}
	if o.format == "" && o.file != "" {
		switch strings.ToLower(filepath.Ext(o.file)) {
		case ".csv":
			o.format = "csv"
		case ".ndjson", ".jsonl":
			o.format = "ndjson"
		}
	}
	if o.format != "" && o.format != "csv" && o.format != "ndjson" {
		return nil, usageErrorf("--format %q: use csv or ndjson", *format)
	}
	if o.batch < 1 || o.batch > 100_000 {
		return nil, usageErrorf("--batch must be 1 to 100000")
	}
	if o.timeout <= 0 {
		return nil, usageErrorf("--timeout must be positive, e.g. 30s")
	}
	return o, nil
}

// runPublish is qconnect publish.
func runPublish(ctx context.Context, e *env, args []string) error {
	o, err := parsePublishArgs(e, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	in, src := e.stdin, "stdin"
	if o.file != "" {
		f, err := os.Open(o.file)
		if err != nil {
			return usageErrorf("--file: %v", err)
		}
		defer f.Close()
		in, src = f, o.file
	}
	br := bufio.NewReaderSize(in, 64<<10)
	if o.format == "" {
		o.format = sniffFormat(br)
	}
	return withSession(ctx, o.gw, o.timeout, func(ctx context.Context, sess *client.Session) error {
		return publishRows(ctx, e, sess, o, br, src)
	})
}

// publishRows reads rows from br (src names it in messages) and publishes
// them in batches.
func publishRows(ctx context.Context, e *env, sess *client.Session, o *publishOptions, br *bufio.Reader, src string) error {
	cols, err := publishColumns(ctx, sess, o.method)
	if err != nil {
		return err
	}
	var next func() (map[string]any, int, error)
	if o.format == "csv" {
		next, err = csvRows(br, cols, src)
		if err != nil {
			return err
		}
	} else {
		next = ndjsonRows(br, src)
	}
	total, first := 0, 0
	var batch []map[string]any
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := sess.Publish(ctx, o.method, batch)
		if err != nil {
			var ce *client.Error
			if errors.As(err, &ce) && !ce.IsAuth() {
				return &exitError{code: exitCallFailed, msg: fmt.Sprintf("the batch starting at %s line %d was rejected; %s\n%s",
					src, first, storedBefore(total), serverErrorText(ce, "publish"))}
			}
			return err
		}
		total += n
		batch, size = batch[:0], 0
		return nil
	}
	for {
		row, line, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return &exitError{code: exitUsage, msg: fmt.Sprintf("%v; %s", err, storedBefore(total))}
		}
		if len(batch) == 0 {
			first = line
		}
		b, _ := json.Marshal(row)
		batch = append(batch, row)
		size += len(b)
		if len(batch) >= o.batch || size >= maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "published %s to %s\n", plural(int64(total), "row"), o.method)
	return nil
}

// storedBefore says how many rows were stored before a failure.
func storedBefore(n int) string {
	if n == 1 {
		return "1 row before it was stored"
	}
	return plural(int64(n), "row") + " before it were stored"
}

// sniffFormat guesses csv or ndjson from the first non-blank byte.
func sniffFormat(br *bufio.Reader) string {
	b, _ := br.Peek(4096)
	if t := bytes.TrimLeft(b, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		return "ndjson"
	}
	return "csv"
}

// publishColumns finds the method's columns in meta/methods (publishing
// methods are listed to users with a write grant).
func publishColumns(ctx context.Context, s *client.Session, method string) ([]qconnect.Column, error) {
	ms, err := s.Methods(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.FullName() == method {
			return m.Columns, nil
		}
	}
	return nil, &exitError{code: exitCallFailed, msg: fmt.Sprintf("%s is not among the methods you may use; `qconnect methods` lists them (publishing needs a write grant)", method)}
}

// csvRows reads a header row, then converts each record to a row: numbers
// and booleans for columns of those types, strings otherwise, empty → null.
func csvRows(r io.Reader, cols []qconnect.Column, src string) (func() (map[string]any, int, error), error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, usageErrorf("%s: cannot read the CSV header row: %v", src, err)
	}
	names := append([]string(nil), header...)
	if len(names) > 0 {
		names[0] = strings.TrimPrefix(names[0], "\ufeff")
	}
	types := make([]qconnect.Type, len(names))
	for i, n := range names {
		types[i] = qconnect.String
		found := false
		for _, c := range cols {
			if c.Name == n {
				types[i], found = c.Type, true
			}
		}
		if !found {
			names := make([]string, len(cols))
			for j, c := range cols {
				names[j] = c.Name
			}
			dym := ""
			if best, ok := qconnect.Closest(n, names); ok {
				dym = "; did you mean " + best + "?"
			}
			return nil, usageErrorf("%s: column %q of the header is not a column of the method%s (columns: %s)", src, n, dym, columnList(cols))
		}
	}
	return func() (map[string]any, int, error) {
		rec, err := cr.Read()
		line, _ := cr.FieldPos(0)
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		if err != nil {
			return nil, line, fmt.Errorf("%s: %v", src, err)
		}
		row := make(map[string]any, len(rec))
		for i, v := range rec {
			if v == "" {
				row[names[i]] = nil
				continue
			}
			switch types[i] {
			case qconnect.Long, qconnect.Int, qconnect.Short, qconnect.Float, qconnect.Real:
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					return nil, line, fmt.Errorf("%s line %d: column %s: %q is not a number", src, line, names[i], v)
				}
				row[names[i]] = json.Number(v)
			case qconnect.Boolean:
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, line, fmt.Errorf("%s line %d: column %s: %q is not true or false", src, line, names[i], v)
				}
				row[names[i]] = b
			default:
				row[names[i]] = v
			}
		}
		return row, line, nil
	}, nil
}

func columnList(cols []qconnect.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// ndjsonRows reads one JSON object per line (blank lines are skipped).
func ndjsonRows(br *bufio.Reader, src string) func() (map[string]any, int, error) {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), maxBatchBytes)
	line := 0
	return func() (map[string]any, int, error) {
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			var row map[string]any
			if err := dec.Decode(&row); err != nil || row == nil {
				return nil, line, fmt.Errorf("%s line %d: not a JSON object of column → value", src, line)
			}
			return row, line, nil
		}
		if err := sc.Err(); err != nil {
			return nil, line, fmt.Errorf("%s line %d: %v", src, line+1, err)
		}
		return nil, 0, io.EOF
	}
}
