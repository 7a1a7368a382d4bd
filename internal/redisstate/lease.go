package redisstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal.
const DefaultLeaseTTL = 10 * time.Second

// Lease is a named lock with a time to live (key lease:<name>), for work
// that one gateway of a deployment must do alone (the demo feed). The
// holder renews it every TTL/3; if it dies, the key expires after TTL and
// another gateway takes the lease over. A holder that cannot renew (Redis
// unreachable, or the lease found taken) stops its work by 2/3 of the TTL
// after its last renewal, before the key can expire and be taken, so two
// gateways never hold it at once (clocks of the gateways and of Redis
// running at the same rate).
type Lease struct {
	c     *Client
	key   string
	id    string
	ttl   time.Duration
	every time.Duration
	log   *slog.Logger
}

// NewLease returns this process's handle on the lease name (ttl ≤ 0:
// DefaultLeaseTTL).
func NewLease(c *Client, name string, ttl time.Duration, log *slog.Logger) *Lease {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	if log == nil {
		log = slog.Default()
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return &Lease{c: c, key: c.key("lease", name), id: hex.EncodeToString(b[:]), ttl: ttl, every: ttl / 3, log: log}
}

// renewScript: KEYS lease key; ARGV holder id, ttl ms. 1 if renewed.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)

// releaseScript: KEYS lease key; ARGV holder id.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Run takes the lease whenever it is free and, while this process holds
// it, runs work with a context that ends when the lease is lost or ctx
// ends; work must return soon after. Run returns when ctx ends, releasing
// the lease if held (so another gateway takes over at once).
func (l *Lease) Run(ctx context.Context, work func(ctx context.Context)) {
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		if l.acquire(ctx) {
			l.hold(ctx, t, work)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *Lease) acquire(ctx context.Context) bool {
	qctx, cancel := l.c.ctx(ctx)
	defer cancel()
	ok, err := l.c.rdb.SetNX(qctx, l.key, l.id, l.ttl).Result()
	if err != nil {
		if ctx.Err() == nil {
			l.c.fail("lease acquire", err)
		}
		return false
	}
	return ok
}

// hold runs work while the lease is renewed.
func (l *Lease) hold(ctx context.Context, t *time.Ticker, work func(ctx context.Context)) {
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); work(wctx) }()
	l.log.Info("lease taken", "lease", l.key)
	last := time.Now()
	defer func() {
		stop()
		<-done
		if ctx.Err() != nil { // leaving: let another take it now
			rctx, cancel := l.c.ctx(context.Background())
			_ = releaseScript.Run(rctx, l.c.rdb, []string{l.key}, l.id).Err()
			cancel()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		sent := time.Now() // the key's new expiry is at least TTL after this
		qctx, cancel := l.c.ctx(ctx)
		n, err := renewScript.Run(qctx, l.c.rdb, []string{l.key}, l.id, l.ttl.Milliseconds()).Int()
		cancel()
		switch {
		case err == nil && n == 1:
			last = sent
		case err == nil:
			l.log.Warn("lease lost: another gateway holds it", "lease", l.key)
			return
		default:
			if ctx.Err() != nil {
				return
			}
			l.c.fail("lease renew", err)
			if time.Since(last) >= l.ttl*2/3 {
				l.log.Error("lease given up: it could not be renewed in Redis", "lease", l.key, "error", err)
				return
			}
		}
	}
}
