package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/qconnect/qconnect/client"
	"io"
	"time"
)

const methodsUsage = `Usage: qconnect methods [<host:port> [<username> [<password>]]] [flags]

Lists the methods the user may call (PROTOCOL 6): "group/method — description",
each parameter as "name type (required|default X|optional) — description",
then the result columns.
` + gatewaySourcesHelp + `

Flags:
  --format F    table (default) or json (the gateway's list as sent)
  --timeout D   give up after D (default 1m)
`

// methodsOptions is the parsed command line of qconnect methods.
type methodsOptions struct {
	gw      gatewayArgs
	format  string // table or json
	timeout time.Duration
}

// parseMethodsArgs parses the command line of qconnect methods. It returns
// flag.ErrHelp after printing the usage for -h.
func parseMethodsArgs(e *env, args []string) (*methodsOptions, error) {
	fs := flag.NewFlagSet("qconnect methods", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "")
	timeout := fs.Duration("timeout", time.Minute, "")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(e.stdout, methodsUsage)
		return nil, err
	}
	if err != nil {
		return nil, usageErrorf("%v; run 'qconnect methods -h' for the flags", err)
	}
	gwArgs, _, err := splitTarget("methods", pos, methodNone, "qconnect methods localhost:8080 kxSupport 12345678")
	if err != nil {
		return nil, err
	}
	if *format != "table" && *format != "json" {
		return nil, usageErrorf("--format %q: use table or json", *format)
	}
	if *timeout <= 0 {
		return nil, usageErrorf("--timeout must be positive, e.g. 30s")
	}
	return &methodsOptions{gw: resolveGateway(e, gwArgs), format: *format, timeout: *timeout}, nil
}

// runMethods is qconnect methods: log in, list the methods, log out.
func runMethods(ctx context.Context, e *env, args []string) error {
	o, err := parseMethodsArgs(e, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return withSession(ctx, o.gw, o.timeout, func(ctx context.Context, sess *client.Session) error {
		return listMethods(ctx, e, sess, o)
	})
}

// listMethods prints the methods the session's user may call.
func listMethods(ctx context.Context, e *env, sess *client.Session, o *methodsOptions) error {
	ms, err := sess.Methods(ctx)
	if err != nil {
		return err
	}
	if o.format == "json" {
		var raw bytes.Buffer
		raw.WriteByte('[')
		for i, m := range ms {
			if i > 0 {
				raw.WriteByte(',')
			}
			raw.Write(m.Raw)
		}
		raw.WriteByte(']')
		var out bytes.Buffer
		if err := json.Indent(&out, raw.Bytes(), "", "  "); err != nil {
			return fmt.Errorf("the gateway's method list is not valid JSON: %v", err)
		}
		out.WriteByte('\n')
		_, err := e.stdout.Write(out.Bytes())
		return err
	}
	if len(ms) == 0 {
		fmt.Fprintf(e.stdout, "no methods are available to %s; ask an administrator for access\n", o.gw.user)
		return nil
	}
	return writeMethods(e.stdout, ms)
}
