package redisstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultStreamMaxLen is how many publishes a table's Redis stream keeps
// for gateways that fall behind.
const DefaultStreamMaxLen = 10000

// StreamRelay carries publishes between gateways through one Redis Stream
// per published table (x:<table>). Publish appends an entry {n, m, r}: n
// numbers the table's publishes 1, 2, 3, ... (an INCR in the same script
// as the XADD, so n and the stream order agree), m is the publishing
// method, r the rows as the publisher sent them (already validated). Every
// gateway, the publisher's included, reads every table's stream in order
// and applies each entry locally (stores the rows, fans them out to its
// own subscribers), so every gateway sees every table's rows in the same
// order, and identical subscriptions still share one upstream per gateway.
//
// A stream keeps at most MaxLen entries. A gateway whose reader finds n
// jump (it fell behind what Redis kept, or Redis lost its data) has missed
// rows: Lost is called for the table, and the server ends the table's
// subscriptions on that gateway with slowConsumer, never leaving a silent
// gap.
type StreamRelay struct {
	c      *Client
	maxLen int64
	log    *slog.Logger

	mu      sync.Mutex
	applied map[string]int64 // table → last n applied here
	wake    chan struct{}    // closed and replaced when applied moves
}

// NewStreamRelay returns a relay keeping maxLen entries per table (0 or
// less: DefaultStreamMaxLen).
func NewStreamRelay(c *Client, maxLen int64, log *slog.Logger) *StreamRelay {
	if maxLen <= 0 {
		maxLen = DefaultStreamMaxLen
	}
	if log == nil {
		log = slog.Default()
	}
	return &StreamRelay{c: c, maxLen: maxLen, log: log, applied: map[string]int64{}, wake: make(chan struct{})}
}

// Applier is what a gateway does with each entry of a table's stream:
// Apply stores and fans out a publish; Lost ends the subscriptions of a
// table whose entries this gateway missed. Both are called from the
// table's reader goroutine, in stream order.
type Applier interface {
	ApplyPublished(ctx context.Context, method string, rows []byte) error
	StreamLost(table string)
}

// publishScript: KEYS x:<table>, xn:<table>. ARGV method, rows, maxLen.
var publishScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', 'n', n, 'm', ARGV[1], 'r', ARGV[2])
return n`)

func (r *StreamRelay) keys(table string) []string {
	t := strings.ToLower(table)
	return []string{r.c.key("x", t), r.c.key("xn", t)}
}

// Publish appends a publish of method's rows to table's stream and waits
// (within ctx) until this gateway has applied it, so that the publisher
// reads its own rows on this gateway afterwards. An error is unavailable:
// the rows were not published.
func (r *StreamRelay) Publish(ctx context.Context, table, method string, rows []byte) error {
	qctx, cancel := r.c.ctx(ctx)
	n, err := publishScript.Run(qctx, r.c.rdb, r.keys(table), method, rows, r.maxLen).Int64()
	cancel()
	if err != nil {
		return r.c.fail("stream publish", err)
	}
	t := strings.ToLower(table)
	for {
		r.mu.Lock()
		done, wake := r.applied[t] >= n, r.wake
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil // published; this gateway will apply it shortly
		}
	}
}

// Run reads the streams of tables until ctx ends, applying every entry
// through a. It starts at each stream's current end.
func (r *StreamRelay) Run(ctx context.Context, tables []string, a Applier) {
	var wg sync.WaitGroup
	for _, t := range tables {
		wg.Go(func() { r.read(ctx, strings.ToLower(t), a) })
	}
	wg.Wait()
}

// Ready waits until the readers of tables have found their starting point
// (for tests and start-up ordering).
func (r *StreamRelay) Ready(ctx context.Context, tables []string) error {
	for {
		r.mu.Lock()
		n, wake := 0, r.wake
		for _, t := range tables {
			if _, ok := r.applied[strings.ToLower(t)]; ok {
				n++
			}
		}
		r.mu.Unlock()
		if n == len(tables) {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *StreamRelay) setApplied(table string, n int64) {
	r.mu.Lock()
	r.applied[table] = n
	close(r.wake)
	r.wake = make(chan struct{})
	r.mu.Unlock()
}

// read follows one table's stream.
func (r *StreamRelay) read(ctx context.Context, table string, a Applier) {
	keys := r.keys(table)
	lastID, lastN := "", int64(0)
	failing := false
	for ctx.Err() == nil {
		if lastID == "" { // start (or restart after Redis lost the stream) at the current end
			id, n, err := r.tail(ctx, keys[0])
			if err != nil {
				r.pause(ctx, &failing, table, err)
				continue
			}
			lastID, lastN = id, n
			r.setApplied(table, n)
		}
		rctx, cancel := context.WithTimeout(ctx, r.c.opts.Timeout+2*time.Second)
		res, err := r.c.rdb.XRead(rctx, &redis.XReadArgs{Streams: []string{keys[0], lastID}, Count: 256, Block: 2 * time.Second}).Result()
		cancel()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				r.pause(ctx, &failing, table, err)
			}
			continue
		}
		if failing {
			r.log.Info("shared stream readable again", "table", table)
			failing = false
		}
		for _, s := range res {
			for _, m := range s.Messages {
				n, _ := strconv.ParseInt(fmt.Sprint(m.Values["n"]), 10, 64)
				if n != lastN+1 {
					r.log.Warn("this gateway missed publishes of the shared stream (it fell behind what Redis keeps, or Redis lost the stream); ending the table's subscriptions here with slowConsumer",
						"table", table, "expected", lastN+1, "got", n)
					a.StreamLost(table)
				}
				method, _ := m.Values["m"].(string)
				rows, _ := m.Values["r"].(string)
				if err := a.ApplyPublished(ctx, method, []byte(rows)); err != nil {
					r.log.Error("applying a publish from the shared stream failed", "table", table, "method", method, "error", err)
				}
				lastID, lastN = m.ID, n
				r.setApplied(table, n)
			}
		}
	}
}

// tail returns the id and n of the last entry of stream ("0-0", 0 when it
// is empty or missing).
func (r *StreamRelay) tail(ctx context.Context, stream string) (string, int64, error) {
	qctx, cancel := r.c.ctx(ctx)
	defer cancel()
	msgs, err := r.c.rdb.XRevRangeN(qctx, stream, "+", "-", 1).Result()
	if err != nil {
		return "", 0, r.c.fail("stream read", err)
	}
	if len(msgs) == 0 {
		return "0-0", 0, nil
	}
	n, _ := strconv.ParseInt(fmt.Sprint(msgs[0].Values["n"]), 10, 64)
	return msgs[0].ID, n, nil
}

// pause logs the first failure of a run of failures and waits a little
// before the next try.
func (r *StreamRelay) pause(ctx context.Context, failing *bool, table string, err error) {
	if !*failing {
		r.log.Error("cannot read the shared stream; retrying", "table", table, "error", err)
		*failing = true
	}
	select {
	case <-ctx.Done():
	case <-time.After(200 * time.Millisecond):
	}
}
