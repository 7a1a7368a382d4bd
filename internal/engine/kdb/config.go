// Package kdb is the kdb+ backend: catalog methods become calls of q
// functions and streaming methods become tickerplant subscriptions, over
// the kdb+ IPC protocol (package kdb/ipc).
//
// One Engine serves one named connection of the settings file (a q
// process: an RDB, an HDB, a gateway or a tickerplant). It keeps a pool of
// IPC connections to it; see Config for the limits.
//
// # Calls
//
// A method bound to a kdb backend names a q function (function:
// .monPublic.getMem). The engine sends the synchronous message
// (`.monPublic.getMem; params) where params is one dictionary from
// parameter names (symbols) to typed values, in declaration order. The
// parameter types map to q types:
//
//	timestamp  -12   (0Np when missing)
//	date       -14   (0Nd)
//	timespan   -16   (0Nn)
//	symbol     -11   (`)
//	long        -7   (0Nj)
//	float       -9   (0n)
//	boolean     -1   (0b: q has no boolean null)
//	string     char vector ("" when missing)
//	dict       a dictionary of symbols to the JSON values (strings as char
//	           vectors, numbers as floats, booleans, nested dicts and lists)
//	T[]        the vector of T (an empty vector of T when missing; a null
//	           element is T's null; string[] is a general list of char vectors)
//
// No q text is ever built from a parameter's value: values travel as typed
// IPC data.
//
// # Results
//
// The reply is decoded straight into columns (ipc.ToVector documents the
// q type → column type mapping). The result becomes a table by this rule:
//
//	table              as it is
//	keyed table        unkeyed: the key columns, then the value columns
//	dictionary         with symbol keys and atom values (a record): one row,
//	                   a column per key; otherwise (keys and values both
//	                   vectors of one length) two columns, the keys under the
//	                   method's first declared column and the values under
//	                   its second
//	vector             one column, the method's first declared column
//	atom               one row, one column
//
// Every call checks the declared columns against the reply, by name: a
// declared column missing from the reply, or of an incompatible q type, is
// an analyticError naming the column. Undeclared columns are dropped. A
// declared type accepts its own q types and these widenings: long accepts
// int and short; int accepts short; float accepts real; string accepts
// symbol and char. At start-up, with q up, a method that allows a zero-row
// call (it declares a long parameter "limit": ProbeParam) is called with
// limit 0 and checked (CheckMethods); the others are checked at their first
// call (q cannot tell a function's result without running it).
//
// A q error ('type, 'length, or a signal from the function) is an
// analyticError carrying q's text. A connection that cannot be made or is
// lost is unavailable; a full pool is busy; a call over its timeout is
// timeout, and because q cannot cancel a synchronous call the engine closes
// that socket and the pool dials a fresh one. A call whose context is
// cancelled (the client went away), in the call or in Rows.Next, is timeout
// with context.Canceled as its cause, as for every backend (the conformance
// suite, engine/enginetest, checks it).
//
// Memory: a synchronous reply arrives whole, so it cannot be bounded by the
// batch size as DuckDB results are. It is bounded by the connection's
// maxMessage (the reply is refused beyond it, before it is read) and cut at
// the method's row cap once decoded.
package kdb

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qconnect/qconnect/kdb/ipc"
)

// Config describes one named kdb+ connection of the settings file.
type Config struct {
	Name string // the name methods give as backend:
	Host string
	Port int
	User string
	// Password is resolved from PasswordEnv or PasswordFile (ResolvePassword);
	// the settings file never holds it inline.
	Password     string
	PasswordEnv  string
	PasswordFile string

	TLS           bool   // connect with TLS (q started with -E 1 or 2)
	TLSCAFile     string // PEM CA bundle to verify q's certificate (default: system roots)
	TLSServerName string // expected name in q's certificate (default: Host)

	PoolSize       int           // connections at most (default 4)
	AcquireTimeout time.Duration // wait for a free connection before busy (default 1s)
	DialTimeout    time.Duration // connect + login (default 5s)
	CallTimeout    time.Duration // upper bound of one call (default none: the method's timeout applies)
	HealthInterval time.Duration // idle connections are checked this often (default 15s)
	BackoffMin     time.Duration // first reconnect delay (default 100ms)
	BackoffMax     time.Duration // reconnect delay cap (default 30s)
	MaxMessage     int           // largest reply accepted, bytes (default 256 MiB)
	BatchRows      int           // rows per batch handed to the encoders (default 8192)
}

// Addr is host:port.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 4
	}
	def(&c.AcquireTimeout, time.Second)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.HealthInterval, 15*time.Second)
	def(&c.BackoffMin, 100*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	if c.MaxMessage <= 0 {
		c.MaxMessage = ipc.DefaultMaxMessage
	}
	if c.BatchRows <= 0 {
		c.BatchRows = 8192
	}
	c.BatchRows = (c.BatchRows + 63) &^ 63 // whole validity words per batch
	return c
}

// Validate checks the configuration; errors name the connection.
func (c Config) Validate() error {
	var p []string
	if c.Name == "" {
		p = append(p, "a kdb backend has no name; add name:")
	}
	if c.Host == "" {
		p = append(p, "no host; add host:")
	}
	if c.Port <= 0 || c.Port > 65535 {
		p = append(p, fmt.Sprintf("port %d is not a TCP port; add port: (1-65535)", c.Port))
	}
	if c.PasswordEnv != "" && c.PasswordFile != "" {
		p = append(p, "both passwordEnv and passwordFile are given; keep one")
	}
	if len(p) > 0 {
		return fmt.Errorf("backend %s: %s", c.Name, strings.Join(p, "; "))
	}
	return nil
}

// ResolvePassword fills Password from PasswordEnv (read with getenv) or
// PasswordFile (its first line).
func (c *Config) ResolvePassword(getenv func(string) string) error {
	switch {
	case c.PasswordEnv != "":
		c.Password = getenv(c.PasswordEnv)
		if c.Password == "" {
			return fmt.Errorf("backend %s: environment variable %s (passwordEnv) is empty or not set; export it", c.Name, c.PasswordEnv)
		}
	case c.PasswordFile != "":
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return fmt.Errorf("backend %s: cannot read passwordFile: %v", c.Name, err)
		}
		c.Password, _, _ = strings.Cut(string(b), "\n")
		c.Password = strings.TrimRight(c.Password, "\r")
	}
	return nil
}

func (c Config) ipcConfig() (ipc.Config, error) {
	ic := ipc.Config{Addr: c.Addr(), User: c.User, Password: c.Password, MaxMessage: c.MaxMessage}
	if c.TLS {
		tc := &tls.Config{ServerName: c.TLSServerName, MinVersion: tls.VersionTLS12}
		if tc.ServerName == "" {
			tc.ServerName = c.Host
		}
		if c.TLSCAFile != "" {
			pem, err := os.ReadFile(c.TLSCAFile)
			if err != nil {
				return ic, fmt.Errorf("backend %s: cannot read tlsCAFile: %v", c.Name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return ic, errors.New("backend " + c.Name + ": tlsCAFile holds no PEM certificate")
			}
			tc.RootCAs = pool
		}
		ic.TLS = tc
	}
	return ic, nil
}
