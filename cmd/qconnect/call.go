package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
)

// Environment variables and defaults of the client commands (call,
// methods). The defaults are the demo's, like the published connectSample.js.
const (
	envGatewayAddr     = "QCONNECT_ADDR"
	envGatewayUser     = "QCONNECT_USER"
	envGatewayPassword = "QCONNECT_PASSWORD"

	defaultGatewayAddr = "localhost:8080"
	defaultGatewayUser = "kxSupport"
	defaultGatewayPass = "12345678"
	defaultCallMethod  = "monPublic/getMem"

	// maxParamsFile bounds --params @file.
	maxParamsFile = 1 << 20
	// logoutTimeout bounds the logout after a command, even a failed one.
	logoutTimeout = 3 * time.Second
)

// gatewayArgs locate and authenticate a client command.
type gatewayArgs struct {
	addr, user, password string
	tls                  clientTLS
}

// resolveGateway fills the gateway arguments from the positional
// arguments (which win), then the environment, then the credentials stored
// by `qconnect login` (for that address), then the demo defaults: pos[0] is
// host:port, pos[1] the user, pos[2] the password; a prefix may be given.
// A credentials file that cannot be read is reported on stderr and ignored.
func resolveGateway(e *env, pos []string) gatewayArgs {
	at := func(i int) string {
		if i < len(pos) {
			return pos[i]
		}
		return ""
	}
	store, path, err := loadCreds(e)
	if err != nil && path != "" {
		fmt.Fprintf(e.stderr, "qconnect: ignoring the stored credentials: %v\n", err)
	}
	g := gatewayArgs{addr: firstNonEmpty(at(0), e.getenv(envGatewayAddr), store.Default, defaultGatewayAddr), tls: e.tls}
	stored, ok := store.Hosts[g.addr]
	if !ok {
		stored = storedHost{}
	}
	g.user = firstNonEmpty(at(1), e.getenv(envGatewayUser), stored.User, defaultGatewayUser)
	if stored.User != g.user {
		stored.Password = ""
	}
	g.password = firstNonEmpty(at(2), e.getenv(envGatewayPassword), stored.Password, defaultGatewayPass)
	return g
}

// callOptions is the parsed command line of qconnect call.
type callOptions struct {
	gw      gatewayArgs
	method  string
	params  map[string]any // nil: no parameters (the method's defaults)
	format  string         // table, json, csv, ndjson or arrow
	csvFile string         // --csv: export the table; "-" = stdout
	// csvField rewrites each string field of --csv output (nil: exact
	// data); spreadsheet-formula neutralisation plugs in here.
	csvField func([]byte) ([]byte, bool)
	outFile  string // -o: stream the body to this file
	csvRaw   bool   // --csv-raw: CSV cells exactly as received, formulas not neutralised
	timeout  time.Duration
}

// acceptFor maps --format to the Accept value of a streamed body; ok is
// false for table and unknown formats.
func acceptFor(format string) (accept string, ok bool) {
	switch format {
	case "json":
		return client.FormatJSON, true
	case "csv":
		return client.FormatCSV, true
	case "ndjson":
		return client.FormatNDJSON, true
	case "arrow":
		return client.FormatArrow, true
	}
	return "", false
}

// formatByExtension guesses --format from -o's file name.
func formatByExtension(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv"
	case ".json":
		return "json"
	case ".ndjson", ".jsonl":
		return "ndjson"
	case ".arrow", ".arrows":
		return "arrow"
	}
	return ""
}

const callUsage = `Usage: qconnect call [<host:port> [<username> [<password>]]] [<group/method>] [flags]

Logs in, calls one method, prints or exports its result, and logs out
(like the KX sample: node connectSample.js <host:port> <username> <password> <method>).
The method is recognised by its form group/name and may be given alone:
  qconnect call marketData/getVwap
` + gatewaySourcesHelp + `The method defaults to monPublic/getMem.

Flags:
  --params JSON      the parameter object, e.g. '{"syms":["server_A"]}', or @file.json (@- = stdin)
  --format F         table (default), json, csv, ndjson or arrow; other than table the
                     gateway's body is written as received (to stdout, or to -o FILE)
  --csv FILE         also export the table as RFC 4180 CSV to FILE ("-" = stdout instead of the table)
  --csv-raw          write CSV cells exactly as received: by default a cell starting with
                     = + - @ TAB or CR (not a number) gets a leading ' so that a spreadsheet
                     does not run it as a formula (OWASP CSV injection)
  -o FILE            stream the body straight to FILE (format from --format or the extension:
                     .csv .json .ndjson .arrow); written to FILE.partial, renamed on success only
  --timeout D        give up after D (default 30m)

Exit codes: 0 success, 1 the call failed, 2 bad command line, 3 authentication
failed, 4 gateway unreachable or not a Connect gateway.
`

// parseCallArgs parses the command line of qconnect call. It returns
// flag.ErrHelp after printing the usage for -h.
func parseCallArgs(e *env, args []string) (*callOptions, error) {
	fs := flag.NewFlagSet("qconnect call", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	params := fs.String("params", "", "")
	format := fs.String("format", "", "")
	csvFile := fs.String("csv", "", "")
	outFile := fs.String("o", "", "")
	csvRaw := fs.Bool("csv-raw", false, "")
	timeout := fs.Duration("timeout", 30*time.Minute, "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(e.stdout, callUsage)
		return nil, err
	}
	if err != nil {
		return nil, usageErrorf("%v; run 'qconnect call -h' for the flags", err)
	}
	gwArgs, method, err := splitTarget("call", pos, methodOptional, "qconnect call localhost:8080 kxSupport 12345678 marketData/getVwap")
	if err != nil {
		return nil, err
	}
	o := &callOptions{gw: resolveGateway(e, gwArgs), method: firstNonEmpty(method, defaultCallMethod), csvFile: *csvFile, outFile: *outFile, timeout: *timeout}
	o.csvRaw = *csvRaw
	if !o.csvRaw {
		o.csvField = neutralizeCSVField
	}
	if o.timeout <= 0 {
		return nil, usageErrorf("--timeout must be positive, e.g. 30s or 1h")
	}
	if o.params, err = parseParams(e, *params); err != nil {
		return nil, err
	}

	o.format = strings.ToLower(*format)
	if o.format == "" {
		o.format = "table"
		if o.outFile != "" && o.outFile != "-" {
			if o.format = formatByExtension(o.outFile); o.format == "" {
				return nil, usageErrorf("-o %s: say which format to write with --format csv|json|ndjson|arrow", o.outFile)
			}
		}
	}
	if _, ok := acceptFor(o.format); !ok && o.format != "table" {
		return nil, usageErrorf("--format %q: use table, json, csv, ndjson or arrow", *format)
	}
	if o.outFile != "" && o.format == "table" {
		return nil, usageErrorf("-o streams the gateway's body to a file: add --format csv|json|ndjson|arrow (or use --csv FILE to export the table)")
	}
	if o.csvFile != "" && o.format != "table" {
		return nil, usageErrorf("--csv exports the printed table; with --format %s write the body with -o FILE instead", o.format)
	}
	if o.format == "arrow" && (o.outFile == "" || o.outFile == "-") && e.isTerminal(e.stdout) {
		return nil, usageErrorf("Arrow is binary: write it to a file with -o FILE.arrow, or redirect stdout")
	}
	return o, nil
}

// parseParams reads --params: a JSON object given inline, as @file or as
// @- (stdin). "" means no parameters.
func parseParams(e *env, v string) (map[string]any, error) {
	if v == "" {
		return nil, nil
	}
	src := "--params"
	data := []byte(v)
	if name, ok := strings.CutPrefix(v, "@"); ok {
		var r io.Reader = e.stdin
		src = "--params from stdin"
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return nil, usageErrorf("--params @%s: %v", name, err)
			}
			defer f.Close()
			r, src = f, "--params @"+name
		}
		b, err := io.ReadAll(io.LimitReader(r, maxParamsFile+1))
		if err != nil {
			return nil, usageErrorf("%s: %v", src, err)
		}
		if len(b) > maxParamsFile {
			return nil, usageErrorf("%s is larger than %d bytes", src, maxParamsFile)
		}
		data = b
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // large integers stay exact
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		why := "it is null"
		if err != nil {
			why = err.Error()
		}
		return nil, usageErrorf(`%s is not a JSON object (%s); write it like '{"syms":["server_A"],"start":"2019-07-26T09:00:00Z"}'`, src, why)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, usageErrorf("%s has more after its JSON object; give exactly one object", src)
	}
	return m, nil
}

// runCall is qconnect call: log in, call, print or export, log out.
func runCall(ctx context.Context, e *env, args []string) error {
	o, err := parseCallArgs(e, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return withSession(ctx, o.gw, o.timeout, func(ctx context.Context, sess *client.Session) error {
		switch {
		case o.format == "table":
			return callTable(ctx, e, sess, o)
		case o.outFile != "" && o.outFile != "-":
			return callToFile(ctx, e, sess, o)
		default:
			return callToStdout(ctx, e, sess, o)
		}
	})
}

// withSession logs in to g, runs f with the session and a context bounded
// by timeout, logs out (even when f failed or the command was interrupted),
// and maps f's error to the command's exit code (commandFailure).
func withSession(ctx context.Context, g gatewayArgs, timeout time.Duration, f func(context.Context, *client.Session) error) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sess, err := loginGateway(cctx, g)
	if err != nil {
		return commandFailure(ctx, err, g, timeout)
	}
	defer logoutGateway(cctx, sess)
	return commandFailure(ctx, f(cctx, sess), g, timeout)
}

// loginGateway opens a session; a malformed address is a usage error.
func loginGateway(ctx context.Context, g gatewayArgs) (*client.Session, error) {
	var opts []client.Option
	hc, err := g.tls.httpClient()
	if err != nil {
		return nil, err
	}
	if hc != nil {
		opts = append(opts, client.WithHTTPClient(hc))
	}
	c, err := client.New(g.addr, opts...)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return c.Login(ctx, g.user, g.password)
}

// logoutGateway ends the session with a short timeout of its own, so that
// it runs even after the command's context was cancelled. Its error is
// ignored: the session expires on its own.
func logoutGateway(ctx context.Context, s *client.Session) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logoutTimeout)
	defer cancel()
	_ = s.Logout(lctx)
}

// callTable calls the method, prints the table and exports --csv.
func callTable(ctx context.Context, e *env, s *client.Session, o *callOptions) error {
	res, err := s.Call(ctx, o.method, o.params)
	if err != nil {
		return err
	}
	if o.csvFile != "-" {
		if err := writeTable(e.stdout, res); err != nil {
			return err
		}
	}
	switch o.csvFile {
	case "":
		return nil
	case "-":
		return writeResultCSV(e.stdout, res, o.csvField)
	}
	if err := writeFileAtomic(o.csvFile, func(w io.Writer) error { return writeResultCSV(w, res, o.csvField) }); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s to %s\n", plural(int64(len(res.Rows)), "row"), o.csvFile)
	return nil
}

// callToStdout streams the body as received to stdout; the outcome is
// checked at the end (a failure after rows leaves them printed and exits
// non-zero).
func callToStdout(ctx context.Context, e *env, s *client.Session, o *callOptions) error {
	accept, _ := acceptFor(o.format)
	st, err := s.Stream(ctx, o.method, o.params, accept)
	if err != nil {
		return err
	}
	var copyErr error
	if o.format == "csv" && !o.csvRaw {
		copyErr = copyCSV(e.stdout, st, true)
	} else {
		_, copyErr = io.Copy(e.stdout, st)
	}
	if err := st.Close(); err != nil {
		return err
	}
	return copyErr
}

// callToFile streams the body to o.outFile through o.outFile+".partial",
// renamed on success only and removed on any failure; a progress line is
// shown on a terminal stderr once the transfer runs over a second.
func callToFile(ctx context.Context, e *env, s *client.Session, o *callOptions) error {
	accept, _ := acceptFor(o.format)
	st, err := s.Stream(ctx, o.method, o.params, accept)
	if err != nil {
		return err
	}
	partial := o.outFile + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		st.Close()
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("cannot write %s: %v; check that the directory exists and is writable", partial, err)}
	}
	meter := newProgressMeter(e.stderr, time.Now, o.format == "csv" || o.format == "ndjson", e.isTerminal(e.stderr))
	meter.csv = o.format == "csv"
	fw := &firstErrWriter{w: f}
	var parseErr error // a body that is not CSV (a transfer failure is st.Close's outcome)
	if o.format == "csv" && !o.csvRaw {
		if err := copyCSV(io.MultiWriter(fw, meter), st, true); err != nil && fw.err == nil {
			parseErr = err
		}
	} else {
		_, _ = io.CopyBuffer(io.MultiWriter(fw, meter), st, make([]byte, 256<<10))
	}
	outcome := st.Close()
	if outcome == nil && parseErr != nil {
		outcome = &exitError{code: exitCallFailed, msg: fmt.Sprintf("the gateway's CSV could not be read (%v); write it exactly as received with --csv-raw", parseErr)}
	}
	meter.finish()
	if fw.err == nil {
		fw.err = f.Sync()
	}
	if cerr := f.Close(); fw.err == nil {
		fw.err = cerr
	}
	switch {
	case fw.err != nil:
		os.Remove(partial)
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("writing %s failed: %v; check the free space and permissions", partial, fw.err)}
	case outcome != nil:
		os.Remove(partial)
		return outcome
	}
	if err := os.Rename(partial, o.outFile); err != nil {
		os.Remove(partial)
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("renaming %s to %s failed: %v", partial, o.outFile, err)}
	}
	fmt.Fprintln(e.stderr, meter.summary(o.outFile))
	if m, ok := st.Meta(); ok && m.Truncated {
		fmt.Fprintf(e.stderr, "warning: the result was cut at the method's row cap (%s); narrow the request (e.g. a shorter time range) to get all of it\n", plural(m.RowCount, "row"))
	}
	return nil
}

// firstErrWriter remembers the first write error and then discards, so a
// full disk is told apart from a failed transfer.
type firstErrWriter struct {
	w   io.Writer
	err error
}

func (f *firstErrWriter) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(p)
	if err != nil {
		f.err = err
	}
	return n, err
}

// writeFileAtomic writes path through path+".partial", renamed on success.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	partial := path + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("cannot write %s: %v; check that the directory exists and is writable", partial, err)}
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(partial, path)
	}
	if err != nil {
		os.Remove(partial)
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("writing %s failed: %v", path, err)}
	}
	return nil
}

// commandFailure maps an error of a client command to its exit code and a
// message that says what to try next. An interrupted command (ctx done) is
// returned as is, for run to report exitInterrupted.
func commandFailure(ctx context.Context, err error, g gatewayArgs, timeout time.Duration) error {
	if err == nil {
		return nil
	}
	var xe *exitError
	if errors.As(err, &xe) {
		return err
	}
	if ctx.Err() != nil {
		return err
	}
	var ce *client.Error
	switch {
	case errors.As(err, &ce) && ce.IsAuth():
		msg := "authentication failed: " + serverErrorText(ce, "")
		if ce.Code == qconnect.CodeInvalidCredentials {
			msg += fmt.Sprintf("\n(user %q at %s: give them as arguments, in %s/%s, or store them with `qconnect login %s %s`)",
				g.user, g.addr, envGatewayUser, envGatewayPassword, g.addr, g.user)
		}
		return &exitError{code: exitAuth, msg: msg}
	case errors.As(err, &ce):
		return &exitError{code: exitCallFailed, msg: serverErrorText(ce, "")}
	case errors.Is(err, client.ErrUnreachable):
		return &exitError{code: exitUnreachable, msg: fmt.Sprintf("%v\nis the gateway running? start it with `qconnect serve`, or give its address as the first argument or in %s", err, envGatewayAddr)}
	case errors.Is(err, client.ErrNotGateway):
		return &exitError{code: exitUnreachable, msg: fmt.Sprintf("%v\ngive the gateway's address as the first argument or in %s", err, envGatewayAddr)}
	case errors.Is(err, context.DeadlineExceeded):
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("%v\nthe command ran past --timeout %s; raise it or narrow the parameters", err, timeout)}
	}
	return &exitError{code: exitCallFailed, msg: err.Error()}
}

// serverErrorText is "code: message", the details one per line, then one
// hint: the command line's own next step, else the SDK's, unless the
// gateway's message already gives one. A message that repeats the details
// (invalidParams summarises them) is cut to its head, so each problem is
// said once. cmd is the command ("publish" takes rows, not --params).
func serverErrorText(ce *client.Error, cmd string) string {
	var b strings.Builder
	b.WriteString(string(ce.Code))
	msg := ce.Message
	hint := ""
	if ce.Code == qconnect.CodeUnknownMethod { // the hint below replaces the gateway's
		hint = "check the group/method name; `qconnect methods` lists the methods you may call"
		m := firstNonEmpty(ce.Method, "<group/method>")
		switch {
		case strings.Contains(msg, "is a streaming method"):
			hint = "subscribe to it instead: qconnect subscribe " + m
		case strings.Contains(msg, "is not a streaming method"):
			hint = "call it instead: qconnect call " + m
		}
		if i := strings.Index(msg, "; "); i > 0 {
			msg = msg[:i]
		}
	}
	details := ce.Details
	if len(details) > 0 {
		if i := strings.Index(msg, details[0]); i >= 0 {
			msg = strings.TrimRight(msg[:i], ":; ")
		}
		if len(details) == 1 && details[0] == ce.Message {
			msg = ce.Message
			details = nil
		}
	}
	if msg != "" {
		b.WriteString(": " + msg)
	}
	for _, d := range details {
		b.WriteString("\n  " + d)
	}
	h := ce.Hint()
	switch ce.Code { // the command line's own next steps
	case qconnect.CodeUnknownMethod:
		h = hint
	case qconnect.CodeInvalidParams:
		h = "fix --params; `qconnect methods` shows each parameter's type and default"
		if cmd == "publish" {
			h = "fix the rows named above; `qconnect methods` shows each column's type"
		}
	case qconnect.CodeInvalidCredentials:
		if strings.Contains(msg, "check") {
			h = "" // the gateway's message already says what to check
		}
	}
	if h != "" {
		b.WriteString("\n" + h)
	}
	return b.String()
}
