package redisstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	qconnect "github.com/qconnect/qconnect"
)

// Defaults of Options.
const (
	DefaultPrefix     = "qconnect:"
	DefaultTimeout    = time.Second
	DefaultRetryAfter = time.Second
	// DefaultPoolSize is enough connections that the requests a gateway
	// runs at once (--max-concurrent, 64) do not queue for one.
	DefaultPoolSize = 64
)

// Options configure Open. Zero values take the defaults.
type Options struct {
	// Prefix starts every key and channel name; gateways that share state
	// must use the same one. Default "qconnect:".
	Prefix string
	// Timeout bounds every Redis command (dial, read, write). Default 1 s:
	// a call waits at most this long before it is answered unavailable.
	Timeout time.Duration
	// RetryAfter is sent with unavailable. Default 1 s.
	RetryAfter time.Duration
	// PoolSize is the connection pool size; default DefaultPoolSize.
	PoolSize int
	// OnError, if set, is called once per failed Redis operation with the
	// operation's name (for the redis errors metric). It must not block.
	OnError func(op string)
}

// Client is a connection pool to one Redis with the key prefix of this
// deployment. Safe for concurrent use.
type Client struct {
	rdb    *redis.Client
	ro     *redis.Options // as parsed from the URL, for connections of our own (scriptConn)
	prefix string
	opts   Options
	errors atomic.Int64
	closed chan struct{} // closed by Close: the guard's senders stop
	close  sync.Once

	mu      sync.Mutex
	closers []func() // run by Close: connections of our own
}

// onClose registers f to run when the client is closed (at once if it is).
func (c *Client) onClose(f func()) {
	c.mu.Lock()
	select {
	case <-c.closed:
		c.mu.Unlock()
		f()
		return
	default:
	}
	c.closers = append(c.closers, f)
	c.mu.Unlock()
}

// Open connects to the Redis at rawURL (redis://[user:password@]host:port/db,
// rediss:// for TLS, or unix://[user:password@]/path/redis.sock?db=N) and
// checks that it answers.
func Open(ctx context.Context, rawURL string, o Options) (*Client, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--redis %q is not a Redis URL (redis://host:port/db or unix:///path/redis.sock?db=N): %v", redact(rawURL), err)
	}
	ro.DialTimeout = o.Timeout
	ro.ReadTimeout = o.Timeout
	ro.WriteTimeout = o.Timeout
	ro.MaxRetries = 1
	if o.PoolSize <= 0 {
		o.PoolSize = DefaultPoolSize
	}
	ro.PoolSize = o.PoolSize
	own := *ro
	c := &Client{rdb: redis.NewClient(ro), ro: &own, prefix: o.Prefix, opts: o, closed: make(chan struct{})}
	pctx, cancel := context.WithTimeout(ctx, 2*o.Timeout)
	defer cancel()
	if err := c.rdb.Ping(pctx).Err(); err != nil {
		c.rdb.Close()
		return nil, fmt.Errorf("Redis at %s does not answer: %v; start it or fix --redis", redact(rawURL), err)
	}
	return c, nil
}

// Close closes the connections.
func (c *Client) Close() error {
	c.close.Do(func() {
		c.mu.Lock()
		close(c.closed)
		fs := c.closers
		c.closers = nil
		c.mu.Unlock()
		for _, f := range fs {
			f()
		}
	})
	return c.rdb.Close()
}

// Errors is the number of failed Redis operations so far.
func (c *Client) Errors() int64 { return c.errors.Load() }

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	return c.fail("ping", c.rdb.Ping(ctx).Err())
}

// ctx bounds one operation by the configured timeout.
func (c *Client) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return context.WithTimeout(parent, c.opts.Timeout)
}

// key is the full key name of a key in this deployment.
func (c *Client) key(parts ...string) string {
	return c.prefix + strings.Join(parts, ":")
}

// fail turns a Redis error into the unavailable error callers see, counting
// it; nil and redis.Nil stay as they are.
func (c *Client) fail(op string, err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	c.errors.Add(1)
	if c.opts.OnError != nil {
		c.opts.OnError(op)
	}
	return &qconnect.Error{Code: qconnect.CodeUnavailable, RetryAfter: c.opts.RetryAfter, Cause: fmt.Errorf("redis %s: %w", op, err),
		Message: "the gateway cannot reach its shared session store (Redis), so it cannot check this request; retry after the Retry-After delay (the operator should check Redis)"}
}

// redact hides a password in a Redis URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// SetLogger sends go-redis's own messages (reconnect attempts) to log at
// debug level instead of the standard logger. It is process-wide (go-redis
// has one logger); call it once at start-up.
func SetLogger(log *slog.Logger) { redis.SetLogger(slogPrintf{log}) }

type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
