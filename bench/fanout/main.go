// Command fanout measures WebSocket fan-out for BENCHMARKS.md: one
// publisher and many subscribers of one stream on loopback.
//
//	fanout -addr 127.0.0.1:8080 -pid <gateway pid> -subs 1000 -rate 50 -rows 1 -d 10s
//	fanout -bare -addr 127.0.0.1:19091 -pid <bare pid> ...   (the peer, bench/fanout/bare)
//
// It logs in once, opens -subs WebSockets (AuthReq with the session), each
// subscribing to marketData/subTrades for one symbol, then publishes -rate
// times per second -rows trades of that symbol over REST for -d. Every
// trade's time is the instant just before its publish, so each subscriber
// computes publish-to-receive latency from the first row of every update.
// Every frame is decoded as JSON, rows and all, and subscribers check that
// seq has no gaps. With -bare the server is the bare broadcaster: no login
// or signature, publishes are POST /publish {"rows": [...]}.
//
// It prints one line of JSON: updates and rows delivered per second (to
// all subscribers), rows missing, the latency p50/p99/max, the publish
// call's own round trip (publishCallMs), seq gaps, subscriptions ended by
// the server, and, from /proc/<pid>, the server's CPU (utime+stime over the
// publishing window, as cores used) and memory (VmRSS at the end, VmHWM).
// Loads only the loopback address it is given; stops by itself after -d.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect/bench/internal/procstat"
	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/protocol"
)

const sym = "ZFAN"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "gateway host:port (loopback)")
	user := flag.String("user", "kxSupport", "username")
	pass := flag.String("password", "12345678", "password")
	pid := flag.Int("pid", 0, "gateway process id, for CPU and memory (0: not measured)")
	subs := flag.Int("subs", 1000, "subscribers (one WebSocket each)")
	rate := flag.Float64("rate", 50, "publishes per second")
	rows := flag.Int("rows", 1, "trades per publish")
	dur := flag.Duration("d", 10*time.Second, "publishing time")
	bare := flag.Bool("bare", false, "the peer is bench/fanout/bare, not a gateway: no login or signatures, publishes are POST /publish")
	subAddrs := flag.String("sub-addrs", "", "comma-separated gateways the subscribers spread over (default: -addr); with shared state (--redis) the publisher's session works on all")
	flag.Parse()
	targets := []string{*addr}
	if *subAddrs != "" {
		targets = strings.Split(*subAddrs, ",")
	}
	if !strings.HasPrefix(*addr, "127.") && !strings.HasPrefix(*addr, "localhost:") {
		fail("only loopback addresses are loaded: give -addr 127.0.0.1:PORT")
	}
	ctx := context.Background()
	var sess *client.Session
	if !*bare {
		c, err := client.New(*addr)
		if err != nil {
			fail(err.Error())
		}
		if sess, err = c.Login(ctx, *user, *pass); err != nil {
			fail("login: " + err.Error())
		}
	}

	// Subscribers.
	type sub struct {
		lat      []time.Duration
		updates  int64
		rows     int64
		gaps     int64
		ended    bool
		lastSeq  uint64
		conn     *websocket.Conn
		dialTime time.Duration
	}
	all := make([]*sub, *subs)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var dialErr atomic.Value
	for i := range all {
		all[i] = &sub{}
		wg.Add(1)
		sem <- struct{}{}
		target := targets[i%len(targets)]
		go func(s *sub) {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := subscribe(ctx, target, sess, *bare)
			if err != nil {
				dialErr.Store(err)
				return
			}
			s.conn = conn
		}(all[i])
	}
	wg.Wait()
	if err, _ := dialErr.Load().(error); err != nil {
		fail("subscribing: " + err.Error())
	}
	var stop atomic.Bool
	var readers sync.WaitGroup
	for _, s := range all {
		readers.Add(1)
		go func(s *sub) {
			defer readers.Done()
			for {
				_, data, err := s.conn.Read(ctx)
				if err != nil {
					if !stop.Load() {
						s.ended = true
					}
					return
				}
				now := time.Now()
				// Every frame is decoded as JSON, rows and all (the
				// same work for the gateway and the bare peer).
				var f struct {
					Type string           `json:"type"`
					Seq  uint64           `json:"seq"`
					Msg  []map[string]any `json:"msg"`
				}
				if err := json.Unmarshal(data, &f); err != nil {
					fail("a frame is not JSON: " + err.Error())
				}
				if f.Type != "UpdateMsg" {
					if f.Type == "SubscriptionEndMsg" {
						s.ended = true
					}
					continue
				}
				if f.Seq != s.lastSeq+1 {
					s.gaps++
				}
				s.lastSeq = f.Seq
				s.updates++
				s.rows += int64(len(f.Msg))
				if len(f.Msg) > 0 {
					if ts, ok := f.Msg[0]["time"].(string); ok {
						if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
							s.lat = append(s.lat, now.Sub(t))
						}
					}
				}
			}
		}(s)
	}
	time.Sleep(time.Second) // let every subscription settle

	// Publisher.
	cpu0 := cpuTicks(*pid)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / *rate)
	batch := make([]map[string]any, *rows)
	published, late := 0, 0
	var pubLat []time.Duration
	for next := start; time.Since(start) < *dur; next = next.Add(interval) {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else if -d > interval {
			late++ // the publisher fell behind its schedule
		}
		at := time.Now().UTC().Format(protocol.TimestampLayout)
		for j := range batch {
			batch[j] = map[string]any{"time": at, "sym": sym, "price": 100.0 + float64(j), "size": 100, "side": "buy"}
		}
		t0 := time.Now()
		if *bare {
			body, _ := json.Marshal(map[string]any{"rows": batch})
			resp, err := http.Post("http://"+*addr+"/publish", "application/json", bytes.NewReader(body))
			if err != nil {
				fail("publish: " + err.Error())
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				fail("publish: " + resp.Status)
			}
		} else if _, err := sess.Publish(ctx, "marketData/pubTrades", batch); err != nil {
			fail("publish: " + err.Error())
		}
		pubLat = append(pubLat, time.Since(t0))
		published++
	}
	elapsed := time.Since(start)
	cpu1 := cpuTicks(*pid)
	// Let the last updates arrive.
	time.Sleep(2 * time.Second)
	stop.Store(true)
	var rss, hwm int64
	if *pid > 0 {
		rss, hwm = vmKB(*pid, "VmRSS"), vmKB(*pid, "VmHWM")
	}
	for _, s := range all {
		s.conn.Close(websocket.StatusNormalClosure, "done")
	}
	readers.Wait()

	var lat []time.Duration
	var updates, nrows, gaps, ended, missing int64
	for _, s := range all {
		lat = append(lat, s.lat...)
		updates += s.updates
		nrows += s.rows
		gaps += s.gaps
		if s.ended {
			ended++
		}
		if s.rows < int64(published**rows) {
			missing += int64(published**rows) - s.rows
		}
	}
	pct := percentiles(lat)
	pubPct := percentiles(pubLat)
	out := map[string]any{
		"subscribers": *subs, "publishes": published, "rowsPerPublish": *rows, "publishesLate": late,
		"seconds":          round(elapsed.Seconds(), 2),
		"updatesPerSecond": round(float64(updates)/elapsed.Seconds(), 0),
		"rowsPerSecond":    round(float64(nrows)/elapsed.Seconds(), 0),
		"rowsExpected":     published * *rows * *subs, "rowsMissing": missing,
		"latencyMs":     map[string]float64{"p50": pct(0.50), "p99": pct(0.99), "max": pct(1)},
		"publishCallMs": map[string]float64{"p50": pubPct(0.50), "p99": pubPct(0.99)},
		"seqGaps":       gaps, "subscriptionsEnded": ended,
	}
	if *pid > 0 {
		out["gatewayCpuCores"] = round(float64(cpu1-cpu0)/100/elapsed.Seconds(), 2)
		out["gatewayVmRssMiB"] = rss >> 10
		out["gatewayVmHwmMiB"] = hwm >> 10
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

// percentiles sorts d and returns its percentile function, in ms.
func percentiles(d []time.Duration) func(p float64) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return func(p float64) float64 {
		if len(d) == 0 {
			return 0
		}
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
}

// subscribe opens a WebSocket, authenticates it with a signed AuthReq and
// subscribes to the benchmark symbol's trades.
func subscribe(ctx context.Context, addr string, s *client.Session, bare bool) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/connect/ws", nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(4 << 20)
	date := protocol.FormatDate(time.Now())
	authz := "none"
	if !bare {
		authz = s.WebSocketAuthorization(date)
	}
	frames := []map[string]any{
		{"type": "AuthReq", "id": newID(), "date": date, "msg": []any{map[string]string{"authorization": authz}}},
		{"type": "SubscribeReq", "id": newID(), "date": date, "msg": []any{map[string]any{"method": "marketData/subTrades", "params": map[string]any{"syms": []string{sym}}}}},
	}
	for _, f := range frames {
		b, _ := json.Marshal(f)
		if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
			return nil, err
		}
		_, resp, err := conn.Read(ctx)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(resp, []byte(`"success":true`)) {
			return nil, fmt.Errorf("%s: %s", f["type"], resp)
		}
	}
	return conn, nil
}

var idSeq atomic.Int64

func newID() string { return fmt.Sprintf("fanout-%d-%d", os.Getpid(), idSeq.Add(1)) }

// cpuTicks is utime + stime of a process in clock ticks (1/100 s).
func cpuTicks(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		fail(err.Error())
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st
}

// vmKB is a /proc/<pid>/status field in KiB; a field it cannot read ends
// the run.
func vmKB(pid int, field string) int64 {
	kb, err := procstat.StatusKBOf(pid, field)
	if err != nil {
		fail(err.Error())
	}
	return kb
}

func round(x float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "fanout:", msg)
	os.Exit(1)
}
