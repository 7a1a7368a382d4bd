package kdb

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// pool holds at most cfg.PoolSize connections to one q process. A call
// takes a connection (an idle one, or a new one dialled), uses it alone and
// gives it back; a connection left broken (I/O error, timeout) is closed
// instead. Dial failures back off exponentially with jitter: while backing
// off, calls fail at once with unavailable instead of piling up on a dead
// host.
type pool struct {
	cfg  Config
	icfg ipc.Config
	now  func() time.Time
	dial func(ctx context.Context, c ipc.Config) (*ipc.Conn, error)

	slots chan struct{}

	mu        sync.Mutex
	idle      []*ipc.Conn
	failures  int
	retryAt   time.Time
	lastErr   error
	closed    bool
	stop      chan struct{}
	wg        sync.WaitGroup
	healthErr error
}

func newPool(cfg Config, icfg ipc.Config, now func() time.Time) *pool {
	p := &pool{cfg: cfg, icfg: icfg, now: now, dial: ipc.Dial,
		slots: make(chan struct{}, cfg.PoolSize), stop: make(chan struct{})}
	p.wg.Add(1)
	go p.healthLoop()
	return p
}

// errUnavailable builds the unavailable error of this connection.
func (p *pool) errUnavailable(cause error, retry time.Duration) *qconnect.Error {
	if retry < time.Second {
		retry = time.Second
	}
	return &qconnect.Error{Code: qconnect.CodeUnavailable, RetryAfter: retry.Round(time.Second), Cause: cause,
		Message: "kdb+ connection " + p.cfg.Name + " (" + p.cfg.Addr() + ") is unavailable; retry shortly"}
}

// get returns a connection for one call, or busy/unavailable.
func (p *pool) get(ctx context.Context) (*ipc.Conn, error) {
	wait := time.NewTimer(p.cfg.AcquireTimeout)
	defer wait.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
		return nil, &qconnect.Error{Code: qconnect.CodeBusy, RetryAfter: time.Second,
			Message: "all " + itoa(p.cfg.PoolSize) + " connections to kdb+ " + p.cfg.Name + " are in use; retry shortly"}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, p.errUnavailable(errors.New("engine closed"), time.Second)
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	if wait := p.retryAt.Sub(p.now()); wait > 0 {
		err := p.lastErr
		p.mu.Unlock()
		<-p.slots
		return nil, p.errUnavailable(err, wait)
	}
	p.mu.Unlock()
	c, err := p.connect(ctx)
	if err != nil {
		<-p.slots
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, p.errUnavailable(err, p.cfg.BackoffMin)
	}
	return c, nil
}

// connect dials one connection, recording failures for the backoff.
func (p *pool) connect(ctx context.Context) (*ipc.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	c, err := p.dial(dctx, p.icfg)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil { // the caller giving up is not the host failing
			p.failures++
			p.retryAt = p.now().Add(backoff(p.cfg.BackoffMin, p.cfg.BackoffMax, p.failures))
			p.lastErr = err
		}
		return nil, err
	}
	p.failures, p.retryAt, p.lastErr = 0, time.Time{}, nil
	return c, nil
}

// backoff is min·2^(n-1), capped at max, with jitter: a uniformly random
// value in [d/2, d].
func backoff(min, max time.Duration, n int) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// put gives a connection back; a broken one is closed.
func (p *pool) put(c *ipc.Conn) {
	p.mu.Lock()
	if c.Broken() || p.closed {
		p.mu.Unlock()
		c.Close()
	} else {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
	}
	<-p.slots
}

// ping checks one connection with a trivial synchronous call ("1b" is
// fixed q text, never built from input).
func ping(ctx context.Context, c *ipc.Conn) error {
	m, err := c.Call(ctx, "1b")
	if err != nil {
		return err
	}
	v, err := m.Decode()
	if err != nil {
		return err
	}
	if v != true {
		return errors.New("kdb+ answered the health check \"1b\" with something other than 1b")
	}
	return nil
}

// Ping is readiness: a pooled connection answers the health check.
func (p *pool) Ping(ctx context.Context) error {
	c, err := p.get(ctx)
	if err != nil {
		return err
	}
	err = ping(ctx, c)
	if err != nil {
		c.Close()
	}
	p.put(c)
	if err != nil {
		return p.errUnavailable(err, time.Second)
	}
	return nil
}

// healthLoop checks idle connections every HealthInterval and closes those
// that fail, so calls do not find a dead socket first.
func (p *pool) healthLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		idle := p.idle
		p.idle = nil
		p.mu.Unlock()
		var keep []*ipc.Conn
		for _, c := range idle {
			ctx, cancel := context.WithTimeout(context.Background(), p.cfg.DialTimeout)
			if err := ping(ctx, c); err != nil {
				c.Close()
			} else {
				keep = append(keep, c)
			}
			cancel()
		}
		p.mu.Lock()
		if p.closed {
			for _, c := range keep {
				c.Close()
			}
		} else {
			p.idle = append(p.idle, keep...)
		}
		p.mu.Unlock()
	}
}

func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	close(p.stop)
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
	p.wg.Wait()
}

func itoa(n int) string {
	return string(appendInt(nil, n))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
