package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/term"
)

// Stored credentials: `qconnect login` keeps the address, username and
// password of a gateway in a 0600 YAML file under the user's configuration
// directory (like gh's hosts.yml), so that they stay off the command line
// and out of the shell history:
//
//	default: localhost:8080
//	hosts:
//	  localhost:8080:
//	    user: kxSupport
//	    password: "12345678"
//
// Later client commands use them for what their arguments and the
// environment do not give.

const (
	credsFile = "hosts.yml"
	// envConfigDir overrides the directory of the credentials file.
	envConfigDir = "QCONNECT_CONFIG_DIR"
	// maxCredsFile bounds the credentials file that is read.
	maxCredsFile = 1 << 20
)

// storedHost is the credentials of one gateway.
type storedHost struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"`
}

// credStore is the content of the credentials file.
type credStore struct {
	Default string                `yaml:"default,omitempty"`
	Hosts   map[string]storedHost `yaml:"hosts,omitempty"`
}

// defaultConfigDir is $QCONNECT_CONFIG_DIR, else os.UserConfigDir()/qconnect.
func defaultConfigDir() (string, error) {
	if v := os.Getenv(envConfigDir); v != "" {
		return v, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory to keep credentials in (%v); set %s", err, envConfigDir)
	}
	return filepath.Join(d, "qconnect"), nil
}

// credsPath is the credentials file of e ("" when e has no config dir).
func credsPath(e *env) (string, error) {
	if e.configDir == nil {
		return "", errors.New("no configuration directory")
	}
	d, err := e.configDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, credsFile), nil
}

// loadCreds reads the credentials file; a missing file is an empty store.
func loadCreds(e *env) (*credStore, string, error) {
	path, err := credsPath(e)
	if err != nil {
		return &credStore{}, "", err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &credStore{}, path, nil
	}
	if err != nil {
		return &credStore{}, path, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCredsFile))
	if err != nil {
		return &credStore{}, path, err
	}
	var s credStore
	if err := yaml.Unmarshal(b, &s); err != nil {
		return &credStore{}, path, fmt.Errorf("%s is not a qconnect credentials file (%v); remove it with `qconnect logout --all` and log in again", path, err)
	}
	return &s, path, nil
}

// save writes the store to path with mode 0600 (directory 0700) through a
// temporary file renamed into place.
func (s *credStore) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := yaml.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hosts-*.yml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

const loginUsage = `Usage: qconnect login [<host:port> [<username>]] [flags]

Logs in to the gateway to check the credentials, then stores the address,
username and password in a file only you can read (mode 0600):
$QCONNECT_CONFIG_DIR/hosts.yml, by default hosts.yml in the qconnect
directory of your configuration directory (~/.config/qconnect on Linux).
Later commands (call, methods, subscribe, publish) use them when their
arguments and the environment do not say otherwise, so the password stays
off the command line and out of the shell history. The last login is the
default gateway.

The password is asked without echo when standard input is a terminal;
otherwise the first line of standard input is read:
  printf '%s\n' "$PW" | qconnect login localhost:8080 alice

Flags:
  --password-stdin   read the password from standard input even on a terminal
  --no-verify        store without logging in first
  --timeout D        give up after D (default 30s)

See also: qconnect logout [<host:port>]
`

// runLogin is qconnect login.
func runLogin(ctx context.Context, e *env, args []string) error {
	fl := flag.NewFlagSet("qconnect login", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fromStdin := fl.Bool("password-stdin", false, "")
	noVerify := fl.Bool("no-verify", false, "")
	timeout := fl.Duration("timeout", 30*time.Second, "")
	pos, err := parseInterspersed(fl, args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(e.stdout, loginUsage)
		return nil
	}
	if err != nil {
		return usageErrorf("%v; run 'qconnect login -h' for the flags", err)
	}
	if len(pos) > 2 {
		return usageErrorf("give qconnect login [<host:port> [<username>]]; the password is asked for (or read from stdin), never an argument")
	}
	if len(pos) > 0 && !looksLikeAddress(pos[0]) {
		return usageErrorf("%q is not a gateway address; give qconnect login <host:port> <username>, e.g. qconnect login localhost:8080 alice", pos[0])
	}
	addr, user := firstNonEmpty(e.getenv(envGatewayAddr), defaultGatewayAddr), firstNonEmpty(e.getenv(envGatewayUser), defaultGatewayUser)
	if len(pos) > 0 {
		addr = pos[0]
	}
	if len(pos) > 1 {
		user = pos[1]
	}
	pw, err := readLoginPassword(e, addr, user, *fromStdin)
	if err != nil {
		return err
	}
	g := gatewayArgs{addr: addr, user: user, password: pw}
	if !*noVerify {
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		sess, err := loginGateway(cctx, g)
		if err != nil {
			return commandFailure(ctx, err, g, *timeout)
		}
		logoutGateway(cctx, sess)
	}
	s, path, err := loadCreds(e)
	if err != nil {
		return &exitError{code: exitCallFailed, msg: err.Error()}
	}
	if s.Hosts == nil {
		s.Hosts = map[string]storedHost{}
	}
	s.Hosts[addr] = storedHost{User: user, Password: pw}
	s.Default = addr
	if err := s.save(path); err != nil {
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("cannot store the credentials in %s: %v", path, err)}
	}
	fmt.Fprintf(e.stderr, "logged in to %s as %s; credentials stored in %s\n", addr, user, path)
	return nil
}

// readLoginPassword asks for the password without echo on a terminal, or
// reads the first line of stdin.
func readLoginPassword(e *env, addr, user string, fromStdin bool) (string, error) {
	f, isFile := e.stdin.(*os.File)
	if fromStdin || !isFile || !term.IsTerminal(int(f.Fd())) {
		pw, err := readPasswordLine(e.stdin)
		if err != nil {
			return "", usageErrorf("%v", strings.ReplaceAll(err.Error(), "--password-stdin read", "qconnect login read"))
		}
		return pw, nil
	}
	fmt.Fprintf(e.stderr, "Password for %s at %s: ", user, addr)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if len(pw) == 0 {
		return "", usageErrorf("empty password; run qconnect login again")
	}
	return string(pw), nil
}

const logoutUsage = `Usage: qconnect logout [<host:port>] [--all]

Removes the stored credentials of the gateway (default: the default gateway,
the one of the last login), or of every gateway with --all. Sessions are not
kept between commands, so there is nothing to end on the gateway.
`

// runLogout is qconnect logout.
func runLogout(ctx context.Context, e *env, args []string) error {
	fl := flag.NewFlagSet("qconnect logout", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	all := fl.Bool("all", false, "")
	pos, err := parseInterspersed(fl, args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(e.stdout, logoutUsage)
		return nil
	}
	if err != nil {
		return usageErrorf("%v; run 'qconnect logout -h' for the flags", err)
	}
	if len(pos) > 1 || (*all && len(pos) > 0) {
		return usageErrorf("give qconnect logout [<host:port>], or qconnect logout --all")
	}
	s, path, err := loadCreds(e)
	if err != nil && (path == "" || !*all) {
		return &exitError{code: exitCallFailed, msg: err.Error()}
	}
	if *all {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &exitError{code: exitCallFailed, msg: fmt.Sprintf("cannot remove %s: %v", path, err)}
		}
		fmt.Fprintf(e.stderr, "removed every stored credential (%s)\n", path)
		return nil
	}
	addr := s.Default
	if len(pos) == 1 {
		addr = pos[0]
	}
	if _, ok := s.Hosts[addr]; !ok || addr == "" {
		known := make([]string, 0, len(s.Hosts))
		for h := range s.Hosts {
			known = append(known, h)
		}
		sort.Strings(known)
		if len(known) == 0 {
			return &exitError{code: exitCallFailed, msg: "no credentials are stored; nothing to remove"}
		}
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("no credentials are stored for %q; stored: %s", addr, strings.Join(known, ", "))}
	}
	delete(s.Hosts, addr)
	if s.Default == addr {
		s.Default = ""
		for h := range s.Hosts { // any remaining one, deterministically the first
			if s.Default == "" || h < s.Default {
				s.Default = h
			}
		}
	}
	if len(s.Hosts) == 0 {
		err = os.Remove(path)
	} else {
		err = s.save(path)
	}
	if err != nil {
		return &exitError{code: exitCallFailed, msg: fmt.Sprintf("cannot update %s: %v", path, err)}
	}
	fmt.Fprintf(e.stderr, "removed the stored credentials of %s\n", addr)
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
