package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/qconnect/qconnect/internal/auth"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

const usersUsage = `Usage:
  qconnect users add    --users FILE [--groups g1,g2] [--password-stdin] [--cost N] NAME
  qconnect users passwd --users FILE [--password-stdin] [--cost N] NAME
  qconnect users remove --users FILE NAME
  qconnect users list   --users FILE

Manages the users file of the gateway. Passwords are stored as bcrypt hashes
only; they are asked on the terminal (twice, without echo) or read as one line
from standard input with --password-stdin, never given as an argument. add
creates FILE if it is missing. Comments in FILE are kept. A running gateway
reads the file again on SIGHUP (kill -HUP <pid>).

Flags:
  --users FILE       the users file (default: $QCONNECT_USERS)
  --groups g1,g2     add: the user's groups, which FILE must define
  --password-stdin   read the password from the first line of standard input
  --cost N           bcrypt cost, 4 to 16 (default 10; each step doubles the
                     time of every login)
`

// maxPasswordLine bounds what --password-stdin reads.
const maxPasswordLine = 1024

// usersOptions are the flags of `qconnect users`.
type usersOptions struct {
	users         string
	groups        string
	passwordStdin bool
	cost          int
}

// runUsers is `qconnect users add|passwd|remove|list`.
func runUsers(ctx context.Context, e *env, args []string) error {
	var o usersOptions
	flags := flag.NewFlagSet("users", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	flags.StringVar(&o.users, "users", e.getenv(envUsers), "")
	flags.StringVar(&o.groups, "groups", "", "")
	flags.BoolVar(&o.passwordStdin, "password-stdin", false, "")
	flags.IntVar(&o.cost, "cost", auth.DefaultCost, "")
	pos, err := parseInterspersed(flags, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, usersUsage)
		return nil
	}
	if err != nil {
		return usageErrorf("%v; run `qconnect users -h` for usage", err)
	}
	if len(pos) == 0 {
		return usageErrorf("say what to do: add, passwd, remove or list; run `qconnect users -h` for usage")
	}
	sub, rest := pos[0], pos[1:]
	if o.users == "" {
		return usageErrorf("no users file: pass --users FILE or set %s", envUsers)
	}
	if o.cost < bcrypt.MinCost || o.cost > auth.MaxCost {
		return usageErrorf("--cost %d is out of range; use %d to %d (default %d)", o.cost, bcrypt.MinCost, auth.MaxCost, auth.DefaultCost)
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if sub != "add" && set["groups"] {
		return usageErrorf("--groups only applies to add; edit the groups: of an existing user in %s", o.users)
	}
	if (sub == "remove" || sub == "list") && (set["password-stdin"] || set["cost"]) {
		return usageErrorf("--password-stdin and --cost only apply to add and passwd")
	}

	switch sub {
	case "list":
		if len(rest) != 0 {
			return usageErrorf("list takes no username; run `qconnect users list --users %s`", o.users)
		}
		return listUsers(e, o.users)
	case "add", "passwd", "remove":
	default:
		return usageErrorf("unknown users command %q; use add, passwd, remove or list", sub)
	}
	if len(rest) != 1 {
		return usageErrorf("%s takes exactly one username, e.g. `qconnect users %s --users %s bob`", sub, sub, o.users)
	}
	name := rest[0]
	if !auth.ValidUsername(name) {
		return usageErrorf("invalid username %q: use 1 to 64 letters, digits or _ . @ + -", name)
	}
	file := filepath.Base(o.users)
	const reload = "a running gateway picks this up on SIGHUP (kill -HUP <pid>)"

	switch sub {
	case "add":
		groups := splitList(o.groups)
		if err := precheck(o.users, name, false, groups); err != nil {
			return err
		}
		pw, err := readNewPassword(e, name, o.passwordStdin)
		if err != nil {
			return err
		}
		if err := auth.AddUser(o.users, name, pw, groups, o.cost); err != nil {
			return err
		}
		if len(groups) == 0 {
			fmt.Fprintf(e.stdout, "added user %s to %s without groups: they can log in but call no method until you list groups for them in %s; %s\n", name, file, o.users, reload)
		} else {
			fmt.Fprintf(e.stdout, "added user %s to %s (groups: %s); %s\n", name, file, strings.Join(groups, ", "), reload)
		}
	case "passwd":
		if err := precheck(o.users, name, true, nil); err != nil {
			return err
		}
		pw, err := readNewPassword(e, name, o.passwordStdin)
		if err != nil {
			return err
		}
		if err := auth.SetPassword(o.users, name, pw, o.cost); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "changed the password of %s in %s; %s\n", name, file, reload)
	case "remove":
		if err := auth.RemoveUser(o.users, name); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed user %s from %s; %s\n", name, file, reload)
	}
	return nil
}

// precheck fails early, before asking for a password, when the users file is
// valid and the command cannot succeed on it. A file that does not load is
// left for the edit to report (passwd is how a plaintext password is fixed).
func precheck(path, name string, mustExist bool, groups []string) error {
	d, err := auth.LoadUsers(path)
	if errors.Is(err, fs.ErrNotExist) && mustExist {
		return err
	}
	if err != nil {
		return nil
	}
	switch {
	case mustExist && !d.HasUser(name):
		return fmt.Errorf("there is no user %q in %s; add it with `qconnect users add --users %s %s`", name, path, path, name)
	case !mustExist && d.HasUser(name):
		return fmt.Errorf("user %q already exists in %s; change the password with `qconnect users passwd --users %s %s`", name, path, path, name)
	}
	return auth.UndefinedGroup(path, d.Groups(), groups)
}

// readNewPassword reads the new password of name: one line of standard input
// with --password-stdin, otherwise twice from the terminal without echo.
func readNewPassword(e *env, name string, fromStdin bool) (string, error) {
	if fromStdin {
		return readPasswordLine(e.stdin)
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageErrorf("standard input is not a terminal to ask the password on; pipe it in with --password-stdin")
	}
	fmt.Fprintf(e.stderr, "New password for %s: ", name)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	fmt.Fprint(e.stderr, "Repeat it: ")
	again, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if !bytes.Equal(pw, again) {
		return "", errors.New("the two passwords differ; run the command again")
	}
	return string(pw), nil
}

// readPasswordLine reads the first line of r without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine+1), maxPasswordLine+1)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	if len(line) > maxPasswordLine {
		return "", fmt.Errorf("the first line of standard input is longer than %d bytes; it should hold only the password", maxPasswordLine)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("--password-stdin read an empty password; send it as the first line of standard input (printf '%s\\n' \"$PW\" | qconnect users ...)")
	}
	return line, nil
}

func listUsers(e *env, path string) error {
	d, err := auth.LoadUsers(path)
	if err != nil {
		return err
	}
	names := d.Users()
	if len(names) == 0 {
		fmt.Fprintf(e.stdout, "no users in %s; add one with `qconnect users add --users %s NAME`\n", path, path)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tGROUPS")
	for _, n := range names {
		g := strings.Join(d.UserGroups(n), ",")
		if g == "" {
			g = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\n", n, g)
	}
	return tw.Flush()
}

// splitList splits "a, b,c" into [a b c], dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
