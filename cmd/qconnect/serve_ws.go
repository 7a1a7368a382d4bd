package main

import (
	"context"
	"flag"
	"log/slog"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/feed"
	"github.com/qconnect/qconnect/internal/redisstate"
	"github.com/qconnect/qconnect/internal/server"
	"github.com/qconnect/qconnect/internal/stream"
)

// Environment variables of the WebSocket and demo feed settings of
// `qconnect serve` (PROTOCOL 7).
const (
	envWSFirstFrame = "QCONNECT_WS_FIRST_FRAME_TIMEOUT"
	envWSPing       = "QCONNECT_WS_PING_INTERVAL"
	envWSPong       = "QCONNECT_WS_PONG_TIMEOUT"
	envWSMaxFrame   = "QCONNECT_WS_MAX_FRAME"
	envWSQueue      = "QCONNECT_WS_QUEUE_BYTES"
	envWSMaxSubs    = "QCONNECT_WS_MAX_SUBSCRIPTIONS"
	envWSPerSession = "QCONNECT_WS_MAX_PER_SESSION"
	envWSPerUser    = "QCONNECT_WS_MAX_PER_USER"
	envDemoFeed     = "QCONNECT_DEMO_FEED"
	envDemoFeedRate = "QCONNECT_DEMO_FEED_RATE"
	envCORSOrigins  = "QCONNECT_CORS_ORIGINS"
	envPublishAck   = "QCONNECT_PUBLISH_ACK"
	envPublishQueue = "QCONNECT_PUBLISH_QUEUE_ROWS"
	envDemoLease    = "QCONNECT_DEMO_FEED_LEASE"
)

// wsOptions are the WebSocket and demo feed settings of `qconnect serve`.
type wsOptions struct {
	firstFrame, ping, pong time.Duration
	maxFrame, queue        int64
	maxSubs                int
	perSession, perUser    int
	demoFeed               bool
	demoFeedRate           float64
	corsOrigins            string   // --cors-origins, comma-separated
	cors                   []string // parsed by validate
	publishAck             string   // server.PublishAck*
	publishQueueRows       int
	demoFeedLease          time.Duration // with --redis: the TTL of the demo feed's lease
}

func (o *wsOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.DurationVar(&o.firstFrame, "ws-first-frame-timeout", 10*time.Second, s.add("ws-first-frame-timeout", envWSFirstFrame, "a WebSocket must send LoginReq or AuthReq within this, else it is closed with 4401"))
	fs.DurationVar(&o.ping, "ws-ping-interval", 30*time.Second, s.add("ws-ping-interval", envWSPing, "how often the gateway pings each WebSocket"))
	fs.DurationVar(&o.pong, "ws-pong-timeout", 60*time.Second, s.add("ws-pong-timeout", envWSPong, "a WebSocket that has not answered a ping (or taken a frame) in this long is closed"))
	fs.Int64Var(&o.maxFrame, "ws-max-frame", 1<<20, s.add("ws-max-frame", envWSMaxFrame, "largest WebSocket frame in bytes, in and out (results and snapshots are cut to it with truncated:true)"))
	fs.Int64Var(&o.queue, "ws-queue-bytes", 8<<20, s.add("ws-queue-bytes", envWSQueue, "outbound queue per WebSocket in bytes; a client further behind gets slowConsumer and close 4008"))
	fs.IntVar(&o.maxSubs, "ws-max-subscriptions", 100, s.add("ws-max-subscriptions", envWSMaxSubs, "subscriptions per WebSocket"))
	fs.IntVar(&o.perSession, "ws-max-per-session", 16, s.add("ws-max-per-session", envWSPerSession, "WebSockets per session; a socket beyond gets busy and close 4429"))
	fs.IntVar(&o.perUser, "ws-max-per-user", 64, s.add("ws-max-per-user", envWSPerUser, "WebSockets per user, all sessions together; a socket beyond gets busy and close 4429"))
	fs.BoolVar(&o.demoFeed, "demo-feed", true, s.add("demo-feed", envDemoFeed, "in demo mode, publish a monMem sample per server every second and trades and quotes (false: off)"))
	fs.StringVar(&o.corsOrigins, "cors-origins", "", s.add("cors-origins", envCORSOrigins, "comma-separated exact origins (https://host:port) whose browser pages may call the API and open the WebSocket; no wildcard"))
	fs.StringVar(&o.publishAck, "publish-ack", server.PublishAckAccepted, s.add("publish-ack", envPublishAck, "what a publish's ok waits for: accepted (its rows have their place in the table's order; calls see them from then on) or stored (committed and queued to subscribers)"))
	fs.IntVar(&o.publishQueueRows, "publish-queue-rows", server.DefaultPublishQueueRows, s.add("publish-queue-rows", envPublishQueue, "rows accepted but not yet stored per table; past it publishers wait for their commit"))
	fs.DurationVar(&o.demoFeedLease, "demo-feed-lease", redisstate.DefaultLeaseTTL, s.add("demo-feed-lease", envDemoLease, "with --redis, one gateway runs the demo feed, holding a Redis lease of this TTL; another takes over within it if that gateway dies"))
	fs.Float64Var(&o.demoFeedRate, "demo-feed-rate", 20, s.add("demo-feed-rate", envDemoFeedRate, "demo feed trades per second (quotes are 3×)"))
}

// apply copies the WebSocket limits into the server's configuration.
func (o *wsOptions) apply(c *server.Config) {
	c.WSFirstFrameTimeout, c.WSPingInterval, c.WSPongTimeout = o.firstFrame, o.ping, o.pong
	c.WSMaxFrameBytes, c.WSQueueBytes, c.WSMaxSubscriptions = o.maxFrame, o.queue, o.maxSubs
	c.CORSOrigins = o.cors
	c.WSMaxPerSession, c.WSMaxPerUser = o.perSession, o.perUser
	c.PublishAck, c.PublishQueueRows = o.publishAck, o.publishQueueRows
}

func (o *wsOptions) validate() error {
	cors, err := server.ParseCORSOrigins(o.corsOrigins)
	if err != nil {
		return usageErrorf("--cors-origins: %v", err)
	}
	o.cors = cors
	switch {
	case o.firstFrame <= 0 || o.ping <= 0 || o.pong <= 0:
		return usageErrorf("--ws-first-frame-timeout, --ws-ping-interval and --ws-pong-timeout must be positive")
	case o.maxFrame < 4<<10:
		return usageErrorf("--ws-max-frame must be at least 4096 bytes")
	case o.queue < 2*o.maxFrame:
		return usageErrorf("--ws-queue-bytes must be at least twice --ws-max-frame (%d)", 2*o.maxFrame)
	case o.maxSubs < 1:
		return usageErrorf("--ws-max-subscriptions must be at least 1")
	case o.perSession < 1 || o.perUser < 1:
		return usageErrorf("--ws-max-per-session and --ws-max-per-user must be at least 1")
	case o.publishAck != server.PublishAckAccepted && o.publishAck != server.PublishAckStored:
		return usageErrorf("--publish-ack must be %s or %s, not %q", server.PublishAckAccepted, server.PublishAckStored, o.publishAck)
	case o.demoFeedLease < 300*time.Millisecond:
		return usageErrorf("--demo-feed-lease must be at least 300ms, not %s", o.demoFeedLease)
	case o.publishQueueRows < 1:
		return usageErrorf("--publish-queue-rows must be at least 1")
	case o.demoFeedRate < 0 || o.demoFeedRate > feed.MaxRate:
		return usageErrorf("--demo-feed-rate must be 0 to %d trades per second", feed.MaxRate)
	}
	return nil
}

// demoSource is the demo's live source around the engine (feed.Source)
// when demo mode and --demo-feed are on, else nil: the streaming methods of
// the engine are then fed by the rows appended to their tables (the feed's
// and the clients' publishes), through the hub's live path.
func (o *wsOptions) demoSource(demo bool, eng qconnect.Backend, log *slog.Logger) *feed.Source {
	if !demo || !o.demoFeed {
		return nil
	}
	return feed.NewSource(eng, log)
}

// startFeed runs the demo feed into src until ctx ends (src nil: no feed).
// The feed writes only to tables the catalog publishes to.
//
// With shared state (lease not nil, --redis), one gateway of the
// deployment runs the feed: the holder of the Redis lease "demo-feed"
// (another takes it over within the lease's TTL if the holder dies), and
// its rows go through srv.Publish, so that every gateway stores and
// streams the same rows, like a client's publish.
func (o *wsOptions) startFeed(ctx context.Context, src *feed.Source, backend qconnect.Backend, cat *qconnect.Catalog,
	srv *server.Server, lease *redisstate.Lease, log *slog.Logger) {
	if src == nil {
		return
	}
	tables := map[string]bool{}
	methods := map[string]string{} // table → its first publishing method
	for _, m := range cat.Methods {
		if m.Publish && m.Stream != nil && m.Stream.Table != "" {
			t := strings.ToLower(m.Stream.Table)
			tables[t] = true
			if methods[t] == "" {
				methods[t] = m.FullName()
			}
		}
	}
	emit := src.Emit
	if lease != nil {
		emit = func(ctx context.Context, table string, cols []qconnect.Column, b *qconnect.Batch) error {
			enc := stream.NewRowEncoder(cols)
			rows := []byte{'['}
			for i := range b.Len {
				if i > 0 {
					rows = append(rows, ',')
				}
				rows = enc.AppendBatchRow(rows, b, i)
			}
			_, err := srv.Publish(ctx, methods[strings.ToLower(table)], append(rows, ']'))
			return err
		}
	}
	run := func(ctx context.Context) {
		f := feed.New(ctx, feed.Config{Emit: emit, Backend: backend, Rate: o.demoFeedRate, Tables: tables,
			Seed: uint64(time.Now().UnixNano()), Logger: log})
		log.Info("demo feed on", "tradesPerSecond", o.demoFeedRate, "monMemEvery", "1s", "shared", lease != nil)
		f.Run(ctx)
		if lease != nil {
			log.Info("demo feed off: another gateway of the deployment runs it now")
		}
	}
	if lease == nil {
		go run(ctx)
		return
	}
	log.Info("demo feed: waiting for the lease; one gateway of the deployment runs it", "leaseTTL", o.demoFeedLease)
	go lease.Run(ctx, run)
}
