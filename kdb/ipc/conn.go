package ipc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Capability is the capability byte this package asks for in the
// handshake (see the package doc).
const Capability = 3

// Config describes a connection to a q process.
type Config struct {
	Addr     string // host:port
	User     string
	Password string
	// TLS, when set, wraps the connection (q started with -E 1 or 2).
	TLS *tls.Config
	// MaxMessage bounds received messages; 0 means DefaultMaxMessage.
	MaxMessage int
	// CompressAbove compresses outgoing messages larger than this many
	// bytes when that halves them at least; 0 never compresses.
	CompressAbove int
}

// DialError reports a failed connection or a refused login. It names the
// address, never the password.
type DialError struct {
	Addr    string
	Refused bool // the q process closed the socket on the login
	Err     error
}

func (e *DialError) Error() string {
	if e.Refused {
		return fmt.Sprintf("kdb+ at %s refused the login (check the user and password, or the process's -u/-U file)", e.Addr)
	}
	return fmt.Sprintf("cannot connect to kdb+ at %s: %v", e.Addr, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Conn is one connection to a q process. Calls on a Conn are not
// concurrent: use one Conn per goroutine (a pool).
type Conn struct {
	nc         net.Conn
	cfg        Config
	capability byte
	mu         sync.Mutex
	broken     bool
}

// Dial connects to cfg.Addr and logs in, within ctx.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, &DialError{Addr: cfg.Addr, Err: scrub(err, cfg.Password)}
	}
	if cfg.TLS != nil {
		tc := cfg.TLS.Clone()
		if tc.ServerName == "" {
			tc.ServerName, _, _ = net.SplitHostPort(cfg.Addr)
		}
		t := tls.Client(nc, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &DialError{Addr: cfg.Addr, Err: err}
		}
		nc = t
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	hello := make([]byte, 0, len(cfg.User)+len(cfg.Password)+3)
	hello = append(hello, cfg.User...)
	if cfg.Password != "" {
		hello = append(hello, ':')
		hello = append(hello, cfg.Password...)
	}
	hello = append(hello, Capability, 0)
	if _, err := nc.Write(hello); err != nil {
		nc.Close()
		return nil, &DialError{Addr: cfg.Addr, Err: scrub(err, cfg.Password)}
	}
	var reply [1]byte
	if _, err := io.ReadFull(nc, reply[:]); err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, &DialError{Addr: cfg.Addr, Err: ctx.Err()}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
			return nil, &DialError{Addr: cfg.Addr, Refused: true, Err: err}
		}
		return nil, &DialError{Addr: cfg.Addr, Err: scrub(err, cfg.Password)}
	}
	nc.SetDeadline(time.Time{})
	return &Conn{nc: nc, cfg: cfg, capability: reply[0]}, nil
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// scrub keeps the password out of an error's text (it is never put there
// by this package, but errors of wrapped layers are not under its control).
func scrub(err error, password string) error {
	if password != "" && strings.Contains(err.Error(), password) {
		return errors.New(strings.ReplaceAll(err.Error(), password, "***"))
	}
	return err
}

// Capability returns the capability byte the q process accepted.
func (c *Conn) Capability() byte { return c.capability }

// Addr returns the address the connection was dialled to.
func (c *Conn) Addr() string { return c.cfg.Addr }

// Broken reports whether an I/O error, a timeout or a cancellation left the
// connection unusable: the caller must close it and dial a new one.
func (c *Conn) Broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

func (c *Conn) fail() {
	c.mu.Lock()
	c.broken = true
	c.mu.Unlock()
}

// Close closes the connection.
func (c *Conn) Close() error { c.fail(); return c.nc.Close() }

// Send writes one message of type t carrying v.
func (c *Conn) Send(ctx context.Context, t MsgType, v any) error {
	b, err := EncodeMessage(t, v, c.cfg.CompressAbove)
	if err != nil {
		return err
	}
	return c.WriteRaw(ctx, b)
}

// WriteRaw writes an already encoded message.
func (c *Conn) WriteRaw(ctx context.Context, msg []byte) error {
	stop := c.watch(ctx)
	defer stop()
	if _, err := c.nc.Write(msg); err != nil {
		c.fail()
		return c.ioErr(ctx, err)
	}
	return nil
}

// Read reads the next message, within ctx.
func (c *Conn) Read(ctx context.Context) (Message, error) {
	stop := c.watch(ctx)
	defer stop()
	m, err := ReadMessage(c.nc, c.cfg.MaxMessage)
	if err != nil {
		var tl *TooLargeError
		if !errors.As(err, &tl) {
			err = c.ioErr(ctx, err)
		}
		c.fail() // the stream position is lost either way
		return Message{}, err
	}
	return m, nil
}

// Call sends v as a synchronous message and returns the response. Async
// messages that arrive first are skipped. q cannot cancel a running call:
// when ctx ends first the connection is closed and left Broken.
func (c *Conn) Call(ctx context.Context, v any) (Message, error) {
	if err := c.Send(ctx, Sync, v); err != nil {
		return Message{}, err
	}
	for {
		m, err := c.Read(ctx)
		if err != nil {
			return Message{}, err
		}
		if m.Type == Response {
			return m, nil
		}
	}
}

// watch makes I/O return when ctx ends (deadline or cancellation), which
// leaves the connection broken.
func (c *Conn) watch(ctx context.Context) func() {
	if ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() {
		c.fail()
		c.nc.SetDeadline(time.Unix(1, 0))
	})
	return func() { stop() }
}

func (c *Conn) ioErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &ConnError{Addr: c.cfg.Addr, Err: err}
}

// ConnError reports a connection lost during a call.
type ConnError struct {
	Addr string
	Err  error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("connection to kdb+ at %s lost: %v", e.Addr, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }
