// Command loginflood measures what a login flood costs the other users of a
// gateway (issue 8): the latency of signed calls (auth/ping) of users who
// are already logged in, first without a flood, then while -flood
// goroutines send wrong-password logins for one user as fast as they are
// answered. The flood comes from -addrs loopback source addresses
// (127.0.0.2, 127.0.0.3, ...; Linux routes all of 127/8 to lo): 1 is the
// one-address attack the per-address throttle stops after 5 failures; more
// addresses for as many usernames (-victims) make the hashing bound
// (--login-concurrency) do the work.
//
//	loginflood -url http://127.0.0.1:18281 -flood 300 -addrs 1 -victims 1 -c 4 -d 10s
//
// It prints one JSON line per phase: the signed calls (count, p50, p99,
// max, errors) and, for the flood phase, the login answers by HTTP status.
// It only talks to the loopback URL it is given and stops after 2 × -d.
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/qconnect/qconnect/protocol"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18281", "gateway base URL (loopback)")
	user := flag.String("user", "kxSupport", "the logged-in users' name (each client has its own session)")
	pass := flag.String("password", "12345678", "their password")
	victim := flag.String("victim", "kxSupport", "the user the flood guesses passwords for")
	flood := flag.Int("flood", 300, "concurrent wrong-password logins")
	addrs := flag.Int("addrs", 1, "loopback source addresses the flood comes from (1 to 250)")
	victims := flag.Int("victims", 1, "usernames the flood spreads over: -victim, then -victim-2, -victim-3, ... (unknown users cost the same hash)")
	conc := flag.Int("c", 4, "clients sending signed calls")
	dur := flag.Duration("d", 10*time.Second, "duration of each phase")
	flag.Parse()
	if *addrs < 1 || *addrs > 250 {
		fmt.Fprintln(os.Stderr, "-addrs must be 1 to 250")
		os.Exit(2)
	}
	sessions := make([]string, *conc)
	for i := range sessions {
		sessions[i] = login(http.DefaultClient, *base, *user, *pass)
	}
	report("baseline", measure(*base, *user, sessions, *dur), nil)

	ctx, cancel := context.WithCancel(context.Background())
	var answers [600]atomic.Int64
	var wg sync.WaitGroup
	for i := range *flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%*addrs))}
			name := *victim
			if k := i % *victims; k > 0 {
				name = fmt.Sprintf("%s-%d", *victim, k+1)
			}
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
				DialContext: (&net.Dialer{LocalAddr: src}).DialContext, MaxIdleConnsPerHost: 1}}
			for ctx.Err() == nil {
				answers[min(status(c, *base, name, "wrong-"+newID()), 599)].Add(1)
			}
		}()
	}
	s := measure(*base, *user, sessions, *dur)
	cancel()
	wg.Wait()
	byStatus := map[string]int64{}
	for code := range answers {
		if n := answers[code].Load(); n > 0 {
			byStatus[fmt.Sprint(code)] = n
		}
	}
	report(fmt.Sprintf("flood of %d logins from %d address(es) for %d user(s)", *flood, *addrs, *victims), s, byStatus)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func loginBody(user, pass string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "LoginReq", "id": newID(), "date": protocol.FormatDate(time.Now()),
		"msg": []any{map[string]string{"username": user, "password": pass}}})
	return b
}

func login(c *http.Client, base, user, pass string) string {
	resp, err := c.Post(base+"/connect/api/auth/login", "application/json", bytes.NewReader(loginBody(user, pass)))
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

// status sends one login and returns its HTTP status (0: no answer).
func status(c *http.Client, base, user, pass string) int {
	resp, err := c.Post(base+"/connect/api/auth/login", "application/json", bytes.NewReader(loginBody(user, pass)))
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

type result struct {
	Calls  int     `json:"calls"`
	Errors int     `json:"errors"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// measure sends signed auth/ping calls from one client per session for d.
func measure(base, user string, sessions []string, d time.Duration) result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var lats []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for _, sid := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 30 * time.Second}
			for ctx.Err() == nil {
				date := protocol.FormatDate(time.Now())
				body := []byte(`{"type":"PingReq","id":"` + newID() + `","date":"` + date + `","msg":[]}`)
				in := protocol.SignInput{Verb: "POST", Path: "/connect/api/auth/ping", Username: user,
					BodyMD5: protocol.BodyMD5(body), ContentType: "application/json", Date: date}
				req, _ := http.NewRequest("POST", base+"/connect/api/auth/ping", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", protocol.Authorization(user, sid, protocol.Sign(in, sid)))
				t0 := time.Now()
				resp, err := c.Do(req)
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				el := time.Since(t0)
				mu.Lock()
				lats = append(lats, el)
				if !ok {
					errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r := result{Calls: len(lats), Errors: errs}
	if len(lats) > 0 {
		r.P50ms, r.P99ms, r.MaxMs = ms(lats[len(lats)/2]), ms(lats[(len(lats)-1)*99/100]), ms(lats[len(lats)-1])
	}
	return r
}

func report(phase string, r result, logins map[string]int64) {
	b, _ := json.Marshal(map[string]any{"phase": phase, "signedCalls": r, "loginAnswersByStatus": logins})
	fmt.Println(string(b))
}
