package redisstate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// scriptConn is one connection to Redis, outside go-redis's pool, on which
// one goroutine at a time sends the guard's pipelines (SET NX commands and
// one Lua script, the rate leases') that it writes itself as RESP from a
// reused buffer, and whose answers it parses in place: no command object,
// no []any of arguments and no reply value per call. The connection is
// dialled on first use and again after any failure (a failed call closes
// it, so that a half-read answer is never taken for the next call's);
// every read and write is bounded by a deadline between 0.9 and 1 of the
// client's timeout away (see bound), every dial by the timeout. A NOSCRIPT
// answer (Redis restarted or SCRIPT FLUSH) loads the script on the
// connection and sends the script call again, once. Safe for one caller at
// a time, plus close from any goroutine.
type scriptConn struct {
	ro      *redis.Options // network, address, credentials, database and TLS of the Client
	timeout time.Duration
	src     string // the script, loaded again on NOSCRIPT

	mu     sync.Mutex // guards conn against close
	conn   net.Conn
	closed bool

	deadline time.Time // conn's read and write deadline

	r *bufio.Reader
}

func newScriptConn(ro *redis.Options, timeout time.Duration, src string) *scriptConn {
	return &scriptConn{ro: ro, timeout: timeout, src: src}
}

// close closes the connection; later calls fail with redis.ErrClosed.
func (s *scriptConn) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// drop closes the current connection after a failure; the next call dials.
func (s *scriptConn) drop(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Close()
	if s.conn == c {
		s.conn = nil
	}
}

// get returns the connection, dialling it when there is none.
func (s *scriptConn) get() (net.Conn, error) {
	s.mu.Lock()
	c, closed := s.conn, s.closed
	s.mu.Unlock()
	if closed {
		return nil, redis.ErrClosed
	}
	// Redis may have closed the connection since its last answer (a restart,
	// a client timeout): checked before each call (one non-blocking peek), so
	// that a call does not fail for a connection already known to be dead.
	if c != nil && !s.alive(c) {
		s.drop(c)
		c = nil
	}
	if c != nil {
		return c, nil
	}
	c, err := s.dial()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, redis.ErrClosed
	}
	s.conn = c
	return c, nil
}

// alive reports whether a connection between calls is still open: nothing is
// expected from Redis, so anything to read (its end, or an unexpected
// answer) means it cannot be used. TLS connections count as alive (a
// dead one fails its next call, which is answered unavailable).
func (s *scriptConn) alive(c net.Conn) bool {
	if s.r.Buffered() > 0 {
		return false
	}
	if _, ok := c.(*tls.Conn); ok {
		return true // TLS records (session tickets) may arrive unasked: a peek proves nothing
	}
	return !peekDead(c)
}

// dial connects and authenticates (RESP2: AUTH, SELECT as the URL asks).
func (s *scriptConn) dial() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	d := net.Dialer{Timeout: s.timeout, KeepAlive: 5 * time.Minute}
	c, err := d.DialContext(ctx, s.ro.Network, s.ro.Addr)
	if err != nil {
		return nil, err
	}
	if s.ro.TLSConfig != nil {
		tc := tls.Client(c, s.ro.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	if s.r == nil {
		s.r = bufio.NewReaderSize(c, 16<<10)
	} else {
		s.r.Reset(c)
	}
	var cmds [][]string
	if s.ro.Password != "" {
		if s.ro.Username != "" {
			cmds = append(cmds, []string{"AUTH", s.ro.Username, s.ro.Password})
		} else {
			cmds = append(cmds, []string{"AUTH", s.ro.Password})
		}
	}
	if s.ro.DB != 0 {
		cmds = append(cmds, []string{"SELECT", strconv.Itoa(s.ro.DB)})
	}
	s.deadline = time.Now().Add(s.timeout)
	c.SetDeadline(s.deadline)
	for _, cmd := range cmds {
		if _, err := c.Write(appendCommand(nil, cmd...)); err != nil {
			c.Close()
			return nil, err
		}
		if line, err := s.line(); err != nil {
			c.Close()
			return nil, err
		} else if line[0] == '-' {
			c.Close()
			return nil, fmt.Errorf("%s: %s", cmd[0], line[1:])
		}
	}
	return c, nil
}

// run sends req, a pipeline of sets SET ... NX commands followed, when
// evalAt >= 0, by one EVALSHA of the script (req[evalAt:]). It reads each
// SET's answer into fresh[:0] (true: the key was set, false: it existed)
// and the script's answer, an array of integers, into out[:0]. A NOSCRIPT
// answer loads the script and sends the EVALSHA once more. With no SETs,
// req is the EVALSHA alone (evalAt 0).
func (s *scriptConn) run(req []byte, sets, evalAt int, fresh []bool, out []int64) ([]bool, []int64, error) {
	fresh, out = fresh[:0], out[:0]
	c, err := s.get()
	if err != nil {
		return fresh, out, err
	}
	s.bound(c)
	if err := writeRequest(c, req); err != nil {
		s.drop(c)
		return fresh, out, err
	}
	for range sets {
		line, err := s.line()
		switch {
		case err != nil:
		case string(line) == "+OK":
			fresh = append(fresh, true)
			continue
		case string(line) == "$-1":
			fresh = append(fresh, false)
			continue
		default:
			err = fmt.Errorf("redis: unexpected answer %q to a replay check", line)
		}
		s.drop(c) // the rest of the pipeline's answers are unread
		return fresh[:0], out, err
	}
	if evalAt < 0 {
		return fresh, out, nil
	}
	for attempt := 0; ; attempt++ {
		out, noscript, err := s.ints(out[:0])
		if err != nil {
			var re redisError
			if !errors.As(err, &re) { // the connection is in an unknown state
				s.drop(c)
			}
			return fresh, out[:0], err
		}
		if !noscript {
			return fresh, out, nil
		}
		if attempt > 0 {
			return fresh, out[:0], errors.New("Redis lost the rate script again right after it was loaded")
		}
		if _, err := c.Write(appendCommand(nil, "SCRIPT", "LOAD", s.src)); err != nil {
			s.drop(c)
			return fresh, out[:0], err
		}
		line, err := s.line()
		if err == nil && line[0] == '$' {
			_, err = s.bulk(line)
		} else if err == nil {
			err = fmt.Errorf("SCRIPT LOAD answered %q", line)
		}
		if err == nil {
			err = writeRequest(c, req[evalAt:])
		}
		if err != nil {
			s.drop(c)
			return fresh, out[:0], err
		}
	}
}

// bound gives the call on c a deadline between 0.9 and 1 timeout away:
// the deadline is moved (two timer updates) only when less than 0.9 of the
// timeout is left, not at every call.
func (s *scriptConn) bound(c net.Conn) {
	now := time.Now()
	if s.deadline.Sub(now) >= s.timeout*9/10 {
		return
	}
	s.deadline = now.Add(s.timeout)
	c.SetDeadline(s.deadline)
}

// redisError is an error answer of Redis (the connection stays usable).
type redisError string

func (e redisError) Error() string { return "redis: " + string(e) }

// ints reads an array of integers into out; noscript when Redis answered
// NOSCRIPT instead.
func (s *scriptConn) ints(out []int64) (_ []int64, noscript bool, err error) {
	line, err := s.line()
	if err != nil {
		return out, false, err
	}
	switch line[0] {
	case '-':
		if bytes.HasPrefix(line[1:], []byte("NOSCRIPT")) {
			return out, true, nil
		}
		return out, false, redisError(line[1:])
	case '*':
	default:
		return out, false, fmt.Errorf("redis: unexpected answer %q to the rate script", line)
	}
	n, err := parseInt(line[1:])
	if err != nil {
		return out, false, err
	}
	for range n {
		line, err := s.line()
		if err != nil {
			return out, false, err
		}
		if line[0] != ':' {
			return out, false, fmt.Errorf("redis: unexpected element %q in the rate script's answer", line)
		}
		v, err := parseInt(line[1:])
		if err != nil {
			return out, false, err
		}
		out = append(out, v)
	}
	return out, false, nil
}

// line reads one RESP line without its CRLF; the slice is valid until the
// next read.
func (s *scriptConn) line() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("redis: answer line too long")
		}
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("redis: malformed answer line %q", line)
	}
	return line[:len(line)-2], nil
}

// bulk reads the body of a bulk string whose header is line.
func (s *scriptConn) bulk(line []byte) ([]byte, error) {
	n, err := parseInt(line[1:])
	if err != nil || n < 0 {
		return nil, fmt.Errorf("redis: bad bulk header %q", line)
	}
	b := make([]byte, n+2)
	_, err = io.ReadFull(s.r, b)
	return b[:n], err
}

func parseInt(b []byte) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, fmt.Errorf("redis: bad integer %q", b)
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("redis: bad integer %q", b)
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, nil
}

// appendCommand appends a RESP command of string arguments.
func appendCommand(b []byte, args ...string) []byte {
	b = appendArrayLen(b, len(args))
	for _, a := range args {
		b = appendBulk(b, a)
	}
	return b
}

func appendArrayLen(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

func appendBulk(b []byte, s string) []byte {
	return append(append(appendBulkHeader(b, len(s)), s...), '\r', '\n')
}

// appendBulkInt appends v as a bulk string.
func appendBulkInt(b []byte, v int64) []byte {
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], v, 10)
	return append(append(appendBulkHeader(b, len(d)), d...), '\r', '\n')
}

// appendBulkHeader appends the header of a bulk string of n bytes; the
// caller appends the n bytes and "\r\n".
func appendBulkHeader(b []byte, n int) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}
