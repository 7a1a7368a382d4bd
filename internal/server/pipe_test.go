package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/engine/duckdb"
	"github.com/qconnect/qconnect/protocol"
)

// The publishing pipeline (pipe.go) against the real DuckDB engine: these
// tests use no fake for the component they cover (the server's ordering,
// group commit through the engine's Append, fan-out and read-your-writes).

var pipeCols = []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
	{Name: "price", Type: qconnect.Float}, {Name: "size", Type: qconnect.Long}}

// pipeServer serves t/sub (trades of syms), t/pub (publishes trades) and
// t/total (count and sum of price of sym ZORD) over a demo engine with a
// result cache.
func pipeServer(t *testing.T, cfg Config) (*httptest.Server, *Server, *duckdb.Engine) {
	t.Helper()
	e, err := duckdb.Open(context.Background(), duckdb.Config{Demo: true, DemoTrades: 1000, Threads: 2, ResultCacheBytes: 8 << 20,
		Now: time.Date(2024, 7, 26, 16, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	hash, err := auth.HashPassword("password1", 4)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := auth.ParseUsers([]byte("users:\n  alice:\n    password: \""+hash+"\"\n    groups: [g]\ngroups:\n  g:\n    allow: [\"*\"]\n    write: [\"*\"]\n"), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sub := &qconnect.Method{Group: "t", Name: "sub", Streaming: true, Columns: pipeCols,
		Params: []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}},
		Stream: &qconnect.StreamSpec{Table: "trade", Key: "sym", Filters: map[string]string{"syms": "sym"}}}
	pub := &qconnect.Method{Group: "t", Name: "pub", Publish: true, Columns: pipeCols, Stream: &qconnect.StreamSpec{Table: "trade"}}
	total := &qconnect.Method{Group: "t", Name: "total",
		Columns: []qconnect.Column{{Name: "n", Type: qconnect.Long}, {Name: "total", Type: qconnect.Float}},
		Query:   `SELECT count(*)::BIGINT AS n, coalesce(sum(price), 0)::DOUBLE AS total FROM trade WHERE sym = 'ZORD'`}
	cat, err := qconnect.NewCatalog([]*qconnect.Method{sub, pub, total})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.RatePerUser, cfg.RateBurst, cfg.MaxConcurrentPerUser = 1e6, 1e6, 64
	s := New(cfg, Deps{Catalog: cat, Backends: map[string]qconnect.Backend{qconnect.DefaultBackend: e},
		Users: auth.NewStaticUserDB(dir), Sessions: auth.NewSessions(auth.NewMemoryStore(), auth.SessionConfig{})})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, s, e
}

// restClient signs REST requests of one session.
type restClient struct {
	t   *testing.T
	ts  *httptest.Server
	sid string
	mu  sync.Mutex
	n   int
}

func restLogin(t *testing.T, ts *httptest.Server) *restClient {
	t.Helper()
	date := protocol.FormatDate(time.Now())
	_, lr := do(t, ts.URL+"/connect/api/auth/login", "", []byte(`{"type":"LoginReq","id":"1","date":"`+date+`","msg":[{"username":"alice","password":"password1"}]}`))
	return &restClient{t: t, ts: ts, sid: lr["msg"].([]any)[0].(map[string]any)["sessionId"].(string)}
}

// call posts a signed request of method with msg; it returns the status
// and the decoded answer. Safe for concurrent use (t.Fatal only from the
// test goroutine: errors are returned).
func (c *restClient) call(method string, msg []any) (int, map[string]any, error) {
	c.mu.Lock()
	c.n++
	id := fmt.Sprintf("r-%d", c.n)
	c.mu.Unlock()
	date := protocol.FormatDate(time.Now())
	body, _ := json.Marshal(map[string]any{"type": "Req", "id": id, "date": date, "msg": msg})
	path := "/connect/api/" + method
	in := protocol.SignInput{Verb: "POST", Path: path, Username: "alice", BodyMD5: protocol.BodyMD5(body), ContentType: "application/json", Date: date}
	req := httptest.NewRequest("POST", c.ts.URL+path, strings.NewReader(string(body)))
	req.RequestURI = ""
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", protocol.Authorization("alice", c.sid, protocol.Sign(in, c.sid)))
	resp, err := c.ts.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("not JSON: %s", b)
	}
	return resp.StatusCode, out, nil
}

func trade(price float64, size int) map[string]any {
	return map[string]any{"time": "2024-07-26T10:00:00Z", "sym": "ZORD", "price": price, "size": size}
}

// TestPublishOrderGroupCommit: many publishers at once (REST, WebSocket and
// the server's Publish, one to several rows per publish) to one table whose
// publishes group-commit. Every subscriber gets every row exactly once, in
// updates numbered 1, 2, 3, ... without a gap, one update per publish
// holding all its rows, each publisher's rows in its order, and every subscriber the same order; the table holds exactly
// those rows, in that order. Run it with -race.
func TestPublishOrderGroupCommit(t *testing.T) {
	t.Parallel()
	ts, s, e := pipeServer(t, Config{})
	const publishers, publishes = 9, 40 // 3 REST, 3 WebSocket, 3 Publish
	want := 0
	rowsOf := func(g, i int) []any { // publish i of publisher g: 1 to 3 rows
		var rows []any
		for k := range 1 + i%3 {
			rows = append(rows, trade(float64(g*100_000+i*10+k), i))
		}
		return rows
	}
	for g := range publishers {
		for i := range publishes {
			want += len(rowsOf(g, i))
		}
	}

	const subscribers = 3
	got := make([][]float64, subscribers)
	errs := make(chan error, subscribers+publishers)
	var subs sync.WaitGroup
	for k := range subscribers {
		c := dialWS(t, ts)
		c.login("alice")
		syms := []string{"ZORD"}
		if k == 2 {
			syms = []string{"ZORD", "ZOTHER"} // a second distinct subscription
		}
		c.send("SubscribeReq", []any{map[string]any{"method": "t/sub", "params": map[string]any{"syms": syms}}})
		if f := c.expect("SubscribeResp"); !f.Success {
			t.Fatalf("subscribe: %+v", f.Error)
		}
		subs.Add(1)
		go func() {
			defer subs.Done()
			for seq := uint64(1); len(got[k]) < want; seq++ {
				f, err := c.read()
				if err != nil || f.Type != "UpdateMsg" || f.Seq != seq {
					errs <- fmt.Errorf("subscriber %d after %d rows: want UpdateMsg seq %d, got %+v (%v)", k, len(got[k]), seq, f, err)
					return
				}
				for j, raw := range f.Msg {
					var r struct{ Price float64 }
					if err := json.Unmarshal(raw, &r); err != nil {
						errs <- err
						return
					}
					// One update per publish: its rows k = 0, 1, ... of
					// one publish (g, i), all of them.
					first := int(r.Price) - j
					if j == 0 && (first%10 != 0 || len(f.Msg) != 1+(first%100_000/10)%3) || j > 0 && int(r.Price) != int(got[k][len(got[k])-1])+1 {
						errs <- fmt.Errorf("subscriber %d: update %d holds %d rows, row %d = %v: not the rows of one publish", k, seq, len(f.Msg), j, r.Price)
						return
					}
					got[k] = append(got[k], r.Price)
				}
			}
		}()
	}

	rest := restLogin(t, ts)
	var pubs sync.WaitGroup
	for g := range publishers {
		var ws *wsClient
		if g%3 == 1 {
			ws = dialWS(t, ts)
			ws.login("alice")
		}
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			for i := range publishes {
				rows := rowsOf(g, i)
				switch g % 3 {
				case 0:
					status, out, err := rest.call("t/pub", []any{map[string]any{"rows": rows}})
					if err != nil || status != 200 {
						errs <- fmt.Errorf("REST publish: %d %v %v", status, out, err)
						return
					}
				case 1:
					ws.send("ExecuteReq", []any{map[string]any{"method": "t/pub", "params": map[string]any{"rows": rows}}})
					if f, err := ws.read(); err != nil || f.Type != "ExecuteResp" || !f.Success {
						errs <- fmt.Errorf("WebSocket publish: %+v %v", f, err)
						return
					}
				default:
					raw, _ := json.Marshal(rows)
					if _, err := s.Publish(context.Background(), "t/pub", raw); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	pubs.Wait()
	subs.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	for k := range subscribers {
		if len(got[k]) != want {
			t.Fatalf("subscriber %d got %d rows, want %d", k, len(got[k]), want)
		}
		seen := map[float64]bool{}
		last := map[int]float64{}
		for _, p := range got[k] {
			if seen[p] {
				t.Fatalf("subscriber %d got row %v twice", k, p)
			}
			seen[p] = true
			g := int(p) / 100_000
			if prev, ok := last[g]; ok && p <= prev {
				t.Fatalf("subscriber %d: publisher %d's row %v came after its row %v", k, g, p, prev)
			}
			last[g] = p
		}
		if k > 0 && !equalFloats(got[k], got[0]) {
			t.Fatalf("subscribers 0 and %d saw different orders", k)
		}
	}
	// The table holds exactly the delivered rows, in the same order.
	list := &qconnect.Method{Group: "t", Name: "list", Columns: []qconnect.Column{{Name: "price", Type: qconnect.Float}},
		Query: `SELECT price FROM trade WHERE sym = 'ZORD' ORDER BY rowid`}
	rows, err := e.Query(context.Background(), qconnect.Call{Method: list})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var stored []float64
	for {
		b, err := rows.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.Len {
			stored = append(stored, b.Row(i)[0].(float64))
		}
	}
	if !equalFloats(stored, got[0]) {
		t.Fatalf("the table holds %d rows in another order than the %d delivered", len(stored), len(got[0]))
	}
}

// TestPublishReadYourWrites: with the default acknowledgement (accepted,
// before the commit), a call that starts after a publish's "ok" sees its
// rows, through the engine's result cache, publish after publish, while
// other clients keep the cache filled.
func TestPublishReadYourWrites(t *testing.T) {
	t.Parallel()
	ts, _, _ := pipeServer(t, Config{})
	c := restLogin(t, ts)
	total := func() (int64, float64, error) {
		status, out, err := c.call("t/total", []any{})
		if err != nil || status != 200 {
			return 0, 0, fmt.Errorf("t/total: %d %v %v", status, out, err)
		}
		r := out["msg"].([]any)[0].(map[string]any)
		return int64(r["n"].(float64)), r["total"].(float64), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for ctx.Err() == nil {
				_, _, _ = total()
			}
		})
	}
	sum := 0.0
	for i := 1; i <= 60; i++ {
		rows := []any{trade(float64(i), 1)}
		if i%5 == 0 {
			rows = append(rows, trade(1000, 1))
			sum += 1000
		}
		sum += float64(i)
		if status, out, err := c.call("t/pub", []any{map[string]any{"rows": rows}}); err != nil || status != 200 {
			t.Fatalf("publish %d: %d %v %v", i, status, out, err)
		}
		n, tot, err := total()
		if err != nil {
			t.Fatal(err)
		}
		if wantN := int64(i + i/5); n != wantN || tot != sum {
			t.Fatalf("after publish %d: a call saw %d rows (sum %v), want %d (sum %v): older than the acknowledged publish", i, n, tot, wantN, sum)
		}
	}
	cancel()
	readers.Wait()
}

// TestPublishFirstFailureReported: a table that cannot be written fails
// its publisher (the first publish waits for its commit), and nothing is
// delivered.
func TestPublishFirstFailureReported(t *testing.T) {
	t.Parallel()
	_, s, _ := pipeServer(t, Config{})
	bad := []byte(`[{"time":"2024-07-26T10:00:00Z","sym":"ZORD","price":1,"size":1}]`)
	// A publishing method whose table does not exist.
	m := &qconnect.Method{Group: "t", Name: "ghost", Publish: true, Columns: pipeCols, Stream: &qconnect.StreamSpec{Table: "ghost"}}
	_, err := s.publishRaw(context.Background(), m, bad)
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError {
		t.Fatalf("publish to a missing table: %v, want analyticError", err)
	}
	if _, err := s.publishRaw(context.Background(), m, bad); err == nil {
		t.Fatal("the second publish to a missing table was acknowledged")
	}
	if n := s.Stats().PublishFailures; n != 2 {
		t.Fatalf("PublishFailures %d, want 2", n)
	}
}

// TestPublishManyRows: one publish carries thousands of rows, over REST and
// over the WebSocket; each is stored whole and reaches a subscriber whole,
// in order, in one update.
func TestPublishManyRows(t *testing.T) {
	t.Parallel()
	ts, _, _ := pipeServer(t, Config{})
	sub := dialWS(t, ts)
	sub.login("alice")
	sub.send("SubscribeReq", []any{map[string]any{"method": "t/sub", "params": map[string]any{"syms": []string{"ZORD"}}}})
	if f := sub.expect("SubscribeResp"); !f.Success {
		t.Fatalf("subscribe: %+v", f.Error)
	}
	batch := func(base, n int) []any {
		rows := make([]any, n)
		for i := range rows {
			rows[i] = trade(float64(base+i), i)
		}
		return rows
	}
	rest := restLogin(t, ts)
	if status, out, err := rest.call("t/pub", []any{map[string]any{"rows": batch(0, 5000)}}); err != nil || status != 200 ||
		fmt.Sprint(out["msg"]) != "[map[rows:5000]]" {
		t.Fatalf("REST publish of 5,000 rows: %d %v %v", status, out, err)
	}
	pub := dialWS(t, ts)
	pub.login("alice")
	pub.send("ExecuteReq", []any{map[string]any{"method": "t/pub", "params": map[string]any{"rows": batch(100_000, 3000)}}})
	if f := pub.expect("ExecuteResp"); !f.Success || string(f.Msg[0]) != `{"rows":3000}` {
		t.Fatalf("WebSocket publish of 3,000 rows: %+v %s", f.Error, f.Msg)
	}
	for k, want := range []struct{ base, n int }{{0, 5000}, {100_000, 3000}} {
		f := sub.expect("UpdateMsg")
		if f.Seq != uint64(k+1) || len(f.Msg) != want.n {
			t.Fatalf("update %d: seq %d with %d rows, want seq %d with %d", k, f.Seq, len(f.Msg), k+1, want.n)
		}
		for i, raw := range f.Msg {
			var r struct{ Price float64 }
			if json.Unmarshal(raw, &r) != nil || r.Price != float64(want.base+i) {
				t.Fatalf("update %d row %d: %s", k, i, raw)
			}
		}
	}
	status, out, err := rest.call("t/total", []any{})
	if err != nil || status != 200 {
		t.Fatal(status, out, err)
	}
	if n := out["msg"].([]any)[0].(map[string]any)["n"]; n != float64(8000) {
		t.Fatalf("the table holds %v rows of the two publishes, want 8000", n)
	}
}
