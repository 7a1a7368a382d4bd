package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/redisstate"
	"github.com/qconnect/qconnect/internal/server"
)

// Environment variables of the shared-state settings of `qconnect serve`.
const (
	envRedis        = "QCONNECT_REDIS"
	envRedisPrefix  = "QCONNECT_REDIS_PREFIX"
	envRedisTimeout = "QCONNECT_REDIS_TIMEOUT"
	envRedisStream  = "QCONNECT_REDIS_STREAM_LENGTH"
)

// redisOptions are the shared-state settings: with --redis, sessions, the
// replay cache, the login throttle and the per-user rate live in Redis and
// every gateway using the same Redis and prefix shares them.
type redisOptions struct {
	url, prefix string
	timeout     time.Duration
	streamLen   int64
}

func (o *redisOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.StringVar(&o.url, "redis", "", s.add("redis", envRedis, "redis://host:port/db (or unix:///path/redis.sock?db=N): keep sessions, the replay cache, login throttling and rate limits in this Redis, shared by every gateway using it (default: this process's memory)"))
	fs.StringVar(&o.prefix, "redis-prefix", redisstate.DefaultPrefix, s.add("redis-prefix", envRedisPrefix, "prefix of every Redis key and channel; gateways of one deployment use the same"))
	fs.Int64Var(&o.streamLen, "redis-stream-length", redisstate.DefaultStreamMaxLen, s.add("redis-stream-length", envRedisStream, "publishes kept per table in Redis for gateways that fall behind; one further behind ends its subscriptions with slowConsumer"))
	fs.DurationVar(&o.timeout, "redis-timeout", redisstate.DefaultTimeout, s.add("redis-timeout", envRedisTimeout, "bound on each Redis command; past it the request gets unavailable (503)"))
}

// sharedState is what --redis wires: the session store and the server's
// shared state, plus the background work that keeps them in step.
type sharedState struct {
	client   *redisstate.Client
	store    *redisstate.Sessions
	relay    *redisstate.StreamRelay
	throttle *redisstate.Throttle // server.Deps.Throttle
	shared   server.Shared
}

// open connects to Redis when --redis is given; without it, it returns nil
// (the in-memory defaults stay).
func (o *redisOptions) open(ctx context.Context, sess auth.SessionConfig, skew time.Duration,
	loginFails int, loginWindow time.Duration, rate float64, burst int, log *slog.Logger) (*sharedState, error) {
	if o.url == "" {
		return nil, nil
	}
	if o.timeout <= 0 {
		return nil, usageErrorf("--redis-timeout must be positive, not %s", o.timeout)
	}
	redisstate.SetLogger(log)
	c, err := redisstate.Open(ctx, o.url, redisstate.Options{Prefix: o.prefix, Timeout: o.timeout})
	if err != nil {
		return nil, fmt.Errorf("the shared state is unreachable, the gateway did not start: %v", err)
	}
	st := redisstate.NewSessions(c, redisstate.SessionConfig{
		IdleTimeout: sess.IdleTimeout, MaxLifetime: sess.MaxLifetime, MaxPerUser: sess.MaxPerUser})
	log.Info("shared state in Redis", "prefix", o.prefix)
	relay := redisstate.NewStreamRelay(c, o.streamLen, log)
	return &sharedState{client: c, store: st, relay: relay,
		throttle: redisstate.NewThrottle(c, loginFails, loginWindow),
		shared: server.Shared{
			Streams: relay,
			Replay:  redisstate.NewGuard(c, 2*skew, rate, burst), // replay and rate in one round trip
			Rate:    redisstate.NewRateLimiter(c, rate, burst),
		}}, nil
}

// run ends locally every session that ends on any gateway (so its
// WebSockets close here too), applies the publishes of every gateway to
// this one (the shared streams), and sweeps expired sessions every second,
// until ctx ends. It returns once the streams are followed.
func (s *sharedState) run(ctx context.Context, sessions *auth.Sessions, srv *server.Server, log *slog.Logger) error {
	tables := srv.PublishedTables()
	go s.relay.Run(ctx, tables, srv)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.relay.Ready(rctx, tables); err != nil {
		return fmt.Errorf("the shared streams of %v could not be read from Redis, the gateway did not start: %v", tables, err)
	}
	go s.housekeep(ctx, sessions, log)
	return nil
}

// demoLease is the lease of the demo feed, which one gateway of the
// deployment runs (nil without --redis: this gateway runs its own).
func (s *sharedState) demoLease(ttl time.Duration, log *slog.Logger) *redisstate.Lease {
	if s == nil {
		return nil
	}
	return redisstate.NewLease(s.client, "demo-feed", ttl, log)
}

func (s *sharedState) housekeep(ctx context.Context, sessions *auth.Sessions, log *slog.Logger) {
	go s.store.Watch(ctx, func(id string) {
		_ = sessions.End(ctx, id) // the store has it gone already; this runs the OnEnd callbacks
	})
	t := time.NewTicker(time.Second)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, err := s.store.Sweep(ctx, time.Now(), 0)
			if err != nil && !failing {
				log.Error("Redis is unreachable: signed calls get unavailable (503) until it is back", "error", err)
			} else if err == nil && failing {
				log.Info("Redis is reachable again")
			}
			failing = err != nil
		}
	}
}
