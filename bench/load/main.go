// Command load is the benchmark load generator for BENCHMARKS.md.
//
//	load bare -listen 127.0.0.1:9090
//	    serve a bare net/http handler (POST → a small JSON body), the
//	    baseline the gateway is compared with.
//	load ping -url http://127.0.0.1:8080 -user kxSupport -password 12345678 -c 32 -d 10s
//	    log in c sessions and send signed auth/ping requests, each with a
//	    fresh id and date, from c concurrent clients for d.
//	load ping -one-session -rate 2000 -c 8 -d 10m
//	    the same on ONE session shared by all clients, paced at 2,000
//	    requests/s in all (0: as fast as they go): the replay-cache soak.
//	load post -url http://127.0.0.1:9090/ -c 32 -d 10s
//	    the same request loop without signing, against the bare handler.
//	load post -sign -url http://127.0.0.1:9090/ -c 32 -d 10s
//	    the request loop of ping exactly (the same envelope, MD5, HMAC and
//	    Authorization header, with a made-up session id), against the bare
//	    handler: both sides of bench/ping.sh then cost the load generator
//	    the same, and only the server differs.
//	load call -url ... -method marketData/getVwap -params '{"syms":["AAPL"]}' -c 32 -d 10s
//	    signed method calls.
//
// Every mode prints one line of JSON: requests, seconds, rps, p50/p99 ms, errors.
// Loads only loopback addresses it is given; stops by itself after -d.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qconnect/qconnect/protocol"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: load bare|ping|post|call [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:9090", "bare: address")
	url := fs.String("url", "http://127.0.0.1:8080", "gateway or bare server base URL")
	user := fs.String("user", "kxSupport", "username")
	pass := fs.String("password", "12345678", "password")
	method := fs.String("method", "", "call: group/method")
	params := fs.String("params", "{}", "call: parameters (JSON object)")
	conc := fs.Int("c", 32, "concurrent clients")
	dur := fs.Duration("d", 10*time.Second, "duration")
	fs.IntVar(&perClient, "n", 0, "requests per client, then stop (0: until -d)")
	users := fs.String("users", "", "call/ping: comma-separated usernames (same password), the clients spread over them")
	oneSession := fs.Bool("one-session", false, "ping/call: all clients share one session")
	sign := fs.Bool("sign", false, "post: sign each request as ping does (with a made-up session id)")
	fs.Float64Var(&pace, "rate", 0, "requests per second in all (0: unpaced)")
	_ = fs.Parse(os.Args[2:])
	if *users != "" {
		userList = strings.Split(*users, ",")
	}
	if *oneSession {
		sharedSession = login(*url, *user, *pass)
	}

	switch mode {
	case "bare":
		runBare(*listen)
	case "ping":
		report(drive(*conc, *dur, signedClients(*url, *user, *pass, *conc, "/connect/api/auth/ping", "PingReq", "[]")))
	case "call":
		g, n, _ := strings.Cut(*method, "/")
		report(drive(*conc, *dur, signedClients(*url, *user, *pass, *conc, "/connect/api/"+g+"/"+n, n+"Req", "["+*params+"]")))
	case "post":
		if *sign {
			sharedSession = "bare-handler-has-no-sessions-this-is-made-up"
			report(drive(*conc, *dur, signedClients(strings.TrimSuffix(*url, "/"), *user, *pass, *conc, "/connect/api/auth/ping", "PingReq", "[]")))
			break
		}
		report(drive(*conc, *dur, plainClients(*url, *conc)))
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
}

// perClient, when positive, is the number of requests each client sends.
var perClient int

// userList, when set, spreads the clients over these users.
var userList []string

// pace is the total request rate the clients keep to (0: unpaced); see wait.
var pace float64

// sharedSession, when set, is the one session every signed client uses.
var sharedSession string

func runBare(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on http://" + ln.Addr().String())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = body
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":"PingResp","id":"x","date":"Fri, 26 Jul 2019 15:59:00 GMT","msg":[{"idleTimeout":1800,"expires":"Fri, 26 Jul 2019 15:59:00 GMT"}],"success":true}` + "\n"))
	})
	_ = http.Serve(ln, h)
}

var transport = &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
var client = &http.Client{Transport: transport, Timeout: 15 * time.Minute}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// doFunc sends one request and reports whether it succeeded.
type doFunc func() bool

func signedClients(base, user, pass string, n int, path, typ, msg string) []doFunc {
	out := make([]doFunc, n)
	for i := range out {
		user := user
		if len(userList) > 0 {
			user = userList[i%len(userList)]
		}
		sid := sharedSession
		if sid == "" {
			sid = login(base, user, pass)
		}
		out[i] = func() bool {
			date := protocol.FormatDate(time.Now())
			body := []byte(`{"type":"` + typ + `","id":"` + newID() + `","date":"` + date + `","msg":` + msg + `}`)
			in := protocol.SignInput{Verb: "POST", Path: path, Username: user, BodyMD5: protocol.BodyMD5(body),
				ContentType: "application/json", Date: date}
			req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", protocol.Authorization(user, sid, protocol.Sign(in, sid)))
			return send(req)
		}
	}
	return out
}

func plainClients(url string, n int) []doFunc {
	out := make([]doFunc, n)
	for i := range out {
		out[i] = func() bool {
			date := protocol.FormatDate(time.Now())
			body := []byte(`{"type":"PingReq","id":"` + newID() + `","date":"` + date + `","msg":[]}`)
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return send(req)
		}
	}
	return out
}

// statuses counts responses by HTTP status (0: transport error).
var statuses sync.Map // int → *atomic.Int64

func count(status int) {
	v, _ := statuses.LoadOrStore(status, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func send(req *http.Request) bool {
	resp, err := client.Do(req)
	if err != nil {
		count(0)
		return false
	}
	count(resp.StatusCode)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == 200
}

func login(base, user, pass string) string {
	body, _ := json.Marshal(map[string]any{"type": "LoginReq", "id": newID(), "date": protocol.FormatDate(time.Now()),
		"msg": []any{map[string]string{"username": user, "password": pass}}})
	resp, err := client.Post(base+"/connect/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, "login:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	var r struct {
		Msg []struct {
			SessionID string `json:"sessionId"`
		} `json:"msg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Msg) == 0 {
		fmt.Fprintln(os.Stderr, "login failed:", resp.Status)
		os.Exit(1)
	}
	return r.Msg[0].SessionID
}

type stats struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Clients  int     `json:"clients"`
	// Status counts responses by HTTP status ("0": no response).
	Status map[string]int64 `json:"status"`
}

func drive(conc int, d time.Duration, clients []doFunc) stats {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var lats []time.Duration
	var errs int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func(do doFunc) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			var e int64
			for k := 0; ctx.Err() == nil && (perClient <= 0 || k < perClient); k++ {
				if !wait(ctx, start) {
					break
				}
				t0 := time.Now()
				if !do() {
					e++
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, local...)
			errs += e
			mu.Unlock()
		}(clients[i])
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) / 1000
	}
	st := map[string]int64{}
	statuses.Range(func(k, v any) bool {
		st[fmt.Sprint(k)] = v.(*atomic.Int64).Load()
		return true
	})
	return stats{Requests: int64(len(lats)), Errors: errs, Seconds: el, RPS: float64(len(lats)) / el,
		P50ms: pct(0.50), P99ms: pct(0.99), Clients: conc, Status: st}
}

// issued counts the requests started under pacing.
var issued atomic.Int64

// wait blocks until the next request may start at the total rate pace
// (request n at start + n/pace); false when ctx ends first.
func wait(ctx context.Context, start time.Time) bool {
	if pace <= 0 {
		return true
	}
	n := issued.Add(1) - 1
	d := time.Until(start.Add(time.Duration(float64(n) / pace * float64(time.Second))))
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func report(s stats) {
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
}
