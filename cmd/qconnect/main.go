// Command qconnect is the qconnect gateway and its client in one binary.
//
//	qconnect serve      run the gateway (embedded DuckDB demo by default)
//	qconnect call       log in, call a method, print or export the result
//	qconnect methods    list the methods a user may call
//	qconnect users      manage the users file (add, passwd, remove, list)
//	qconnect subscribe  print the updates of a streaming method until Ctrl-C
//	qconnect publish    publish rows from CSV or NDJSON to a publishing method
//	qconnect login      store a gateway's credentials; logout removes them
//	qconnect version    print the version and commit
//	qconnect completion print a bash or zsh completion script
//
// Each command lives in its own file as an options struct plus a run function;
// I/O streams come from an env value so that tests can drive commands in
// process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/qconnect/qconnect"
)

// Exit codes. Scripts can tell a usage mistake from a rejected login from a
// failed call.
const (
	exitOK          = 0
	exitCallFailed  = 1 // the server answered with an error (other than authentication)
	exitUsage       = 2 // bad command line
	exitAuth        = 3 // authentication failed (wrong credentials, session, signature, clock)
	exitUnreachable = 4 // the server could not be reached or answered with something that is not Connect
	exitInterrupted = 130
)

// exitError carries an exit code and a message that says what to try next.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// env is what a command may touch of the outside world.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// isTerminal reports whether w is an interactive terminal (for progress lines).
	isTerminal func(w io.Writer) bool
	// configDir is the directory of the stored credentials (login.go); nil = none.
	configDir func() (string, error)
	tls       clientTLS // --ca, --insecure-skip-verify of the client commands (tlsclient.go)
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the gateway (embedded DuckDB with demo data by default)", runServe},
		{"call", "log in, call a method, print or export the result, log out", runCall},
		{"methods", "list the methods a user may call, with their parameters", runMethods},
		{"users", "manage the users file: add, passwd, remove, list", runUsers},
		{"subscribe", "log in, subscribe to a streaming method, print updates until Ctrl-C", runSubscribe},
		{"publish", "log in, publish rows from a CSV or NDJSON file or stdin to a publishing method", runPublish},
		{"login", "check and store a gateway's address, username and password (0600 file)", runLogin},
		{"logout", "remove stored credentials", runLogout},
		{"version", "print the version and commit", runVersion},
		{"completion", "print a shell completion script: completion bash|zsh", runCompletion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, isTerminal: isTerminal, configDir: defaultConfigDir}
	os.Exit(run(ctx, e, os.Args[1:]))
}

// run dispatches to a command and maps its error to an exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stderr) // a mistake, not a request for help: stderr, exit 2
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		printUsage(e.stdout)
		return exitOK
	case "--version", "-version", "-v":
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			rest, err := args[1:], error(nil)
			if c.name != "serve" && c.name != "users" {
				rest, e.tls, err = takeClientTLS(e, rest)
			}
			if err == nil {
				err = c.run(ctx, e, rest)
			}
			if err == nil {
				return exitOK
			}
			fmt.Fprintf(e.stderr, "qconnect %s: %v\n", c.name, err)
			var xe *exitError
			if errors.As(err, &xe) {
				return xe.code
			}
			if ctx.Err() != nil {
				return exitInterrupted
			}
			return exitCallFailed
		}
	}
	names := make([]string, 0, len(commands()))
	for _, c := range commands() {
		names = append(names, c.name)
	}
	hint := "run 'qconnect help' for the list"
	if s, ok := qconnect.Closest(args[0], names); ok {
		hint = "did you mean 'qconnect " + s + "'? (" + hint + ")"
	}
	fmt.Fprintf(e.stderr, "qconnect: unknown command %q; %s\n", args[0], hint)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "qconnect — a KX Connect protocol gateway and client")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: qconnect <command> [arguments]   (qconnect <command> -h for its flags)")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Client commands take [<host:port> <username> <password>] <group/method>;")
	fmt.Fprintln(w, "'qconnect login <host:port> <username>' stores the first three once.")
	fmt.Fprintln(w, "qconnect --version prints the version.")
}
