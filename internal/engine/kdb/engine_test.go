package kdb

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/fakeq"
	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// target is the q process the engine tests run against: the fake q
// (internal/fakeq, not kdb+), or a real q with examples/kdb/example.q
// loaded when QCONNECT_TEST_KDB=host:port is set. Tests that steer the
// fake (stall, drop, refuse) skip against a real q.
type target struct {
	fake *fakeq.Server
	cfg  Config
}

func newTarget(t *testing.T) target {
	t.Helper()
	if addr := os.Getenv("QCONNECT_TEST_KDB"); addr != "" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("QCONNECT_TEST_KDB=%q: %v", addr, err)
		}
		p, _ := strconv.Atoi(port)
		return target{cfg: Config{Name: "q", Host: host, Port: p, User: os.Getenv("QCONNECT_TEST_KDB_USER"), Password: os.Getenv("QCONNECT_TEST_KDB_PASSWORD")}}
	}
	s, err := fakeq.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Example()
	host, port, _ := net.SplitHostPort(s.Addr())
	p, _ := strconv.Atoi(port)
	return target{fake: s, cfg: Config{Name: "q", Host: host, Port: p, User: "gw", Password: "gw-secret-pw"}}
}

func (tg target) needFake(t *testing.T) *fakeq.Server {
	t.Helper()
	if tg.fake == nil {
		t.Skip("steers the fake q; not run against a real q")
	}
	return tg.fake
}

func open(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

var memCols = []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
	{Name: "usedMB", Type: qconnect.Float}, {Name: "freeMB", Type: qconnect.Float}, {Name: "cpuLoad", Type: qconnect.Float}}

func getMem() *qconnect.Method {
	return &qconnect.Method{Group: "monPublic", Name: "getMem", Backend: "q", Query: ".monPublic.getMem",
		Params: []qconnect.Param{{Name: "start", Type: qconnect.Timestamp}, {Name: "end", Type: qconnect.Timestamp},
			{Name: "syms", Type: qconnect.Symbol, List: true}},
		Columns: memCols}
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// all reads every batch of r into boxed rows.
func all(t *testing.T, r *Rows) [][]any {
	t.Helper()
	var out [][]any
	for {
		b, err := r.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < b.Len; i++ {
			out = append(out, b.Row(i))
		}
	}
}

func TestQueryTable(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	e := open(t, tg.cfg)
	start := fakeq.Base.Add(10 * time.Minute)
	r, err := e.QueryRows(ctx10(t), qconnect.Call{Method: getMem(),
		Params: map[string]any{"start": start, "end": nil, "syms": []any{"server_A", "server_C"}}})
	if err != nil {
		t.Fatal(err)
	}
	rows := all(t, r)
	if len(rows) != 2*(360-60) {
		t.Fatalf("%d rows", len(rows))
	}
	for _, row := range rows {
		if row[0].(time.Time).Before(start) || (row[1] != "server_A" && row[1] != "server_C") {
			t.Fatalf("row %v", row)
		}
	}
	// The limit cuts; small batches slice the same reply.
	e2 := open(t, Config{Name: "q", Host: tg.cfg.Host, Port: tg.cfg.Port, User: "gw", Password: "gw-secret-pw", BatchRows: 64})
	r, err = e2.QueryRows(ctx10(t), qconnect.Call{Method: getMem(), Params: map[string]any{}, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	batches := 0
	n := 0
	for {
		b, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		batches++
		n += b.Len
		for i := 0; i < b.Len; i++ {
			if b.Cols[1].IsNull(i) || b.Cols[1].Str(i) == "" {
				t.Fatal("bad sym in a sliced batch")
			}
		}
	}
	if n != 200 || batches != 4 {
		t.Fatalf("%d rows in %d batches", n, batches)
	}
}

func TestKeyedTableDictAndVector(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	e := open(t, tg.cfg)
	symsParam := []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}}
	vwap := &qconnect.Method{Group: "marketData", Name: "getVwap", Query: ".marketData.getVwap", Params: symsParam,
		Columns: []qconnect.Column{{Name: "sym", Type: qconnect.Symbol}, {Name: "vwap", Type: qconnect.Float}, {Name: "volume", Type: qconnect.Long}}}
	r, err := e.QueryRows(ctx10(t), qconnect.Call{Method: vwap, Params: map[string]any{"syms": []any{"IBM", "AAPL"}}})
	if err != nil {
		t.Fatal(err)
	}
	rows := all(t, r)
	if len(rows) != 2 || rows[0][0] != "AAPL" || rows[1][0] != "IBM" || rows[0][2].(int64) <= 0 {
		t.Fatalf("%v", rows)
	}
	last := &qconnect.Method{Group: "marketData", Name: "lastPrice", Query: ".marketData.lastPrice", Params: symsParam,
		Columns: []qconnect.Column{{Name: "sym", Type: qconnect.Symbol}, {Name: "price", Type: qconnect.Float}}}
	r, err = e.QueryRows(ctx10(t), qconnect.Call{Method: last, Params: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if rows := all(t, r); len(rows) != 5 || rows[0][0] != "AAPL" || rows[0][1].(float64) < 100 {
		t.Fatalf("%v", rows)
	}
}

func TestColumnMismatchAndQError(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	e := open(t, tg.cfg)
	m := getMem()
	m.Columns = append([]qconnect.Column{}, memCols...)
	m.Columns[2] = qconnect.Column{Name: "usedMB", Type: qconnect.Timestamp}
	_, err := e.QueryRows(ctx10(t), qconnect.Call{Method: m, Params: map[string]any{}})
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !strings.Contains(err.Error(), "usedMB") {
		t.Fatalf("err = %v", err)
	}
	m.Columns[2] = qconnect.Column{Name: "usedGB", Type: qconnect.Float}
	_, err = e.QueryRows(ctx10(t), qconnect.Call{Method: m, Params: map[string]any{}})
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !strings.Contains(err.Error(), "usedGB") {
		t.Fatalf("err = %v", err)
	}
	broken := &qconnect.Method{Group: "monPublic", Name: "broken", Query: ".monPublic.broken", Columns: memCols}
	_, err = e.QueryRows(ctx10(t), qconnect.Call{Method: broken, Params: map[string]any{}})
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !strings.Contains(err.Error(), "'type") {
		t.Fatalf("err = %v", err)
	}
	// The connection is still good after q errors.
	if _, err := e.QueryRows(ctx10(t), qconnect.Call{Method: getMem(), Params: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
}

func TestTimeoutClosesAndPoolRecovers(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	s := tg.needFake(t)
	e := open(t, tg.cfg)
	if _, err := e.QueryRows(ctx10(t), qconnect.Call{Method: getMem(), Params: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	release := s.Stall(".monPublic.getMem")
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := e.QueryRows(ctx, qconnect.Call{Method: getMem(), Params: map[string]any{}})
	if qconnect.ErrorCode(err) != qconnect.CodeTimeout {
		t.Fatalf("err = %v", err)
	}
	release()
	waitFor(t, func() bool { return s.Conns() == 0 }) // the stalled socket was closed, not reused
	if _, err := e.QueryRows(ctx10(t), qconnect.Call{Method: getMem(), Params: map[string]any{}}); err != nil {
		t.Fatalf("after a timeout: %v", err)
	}
	if s.Logins() != 2 {
		t.Fatalf("%d logins, want 2 (the timed-out connection replaced)", s.Logins())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, "the condition", 10*time.Second, cond)
}

func TestLostConnectionUnavailableAndBusy(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	s := tg.needFake(t)
	cfg := tg.cfg
	cfg.PoolSize = 1
	cfg.AcquireTimeout = 50 * time.Millisecond
	cfg.BackoffMin = time.Millisecond
	cfg.BackoffMax = 2 * time.Millisecond
	e := open(t, cfg)
	s.DropNext(".monPublic.getMem")
	_, err := e.QueryRows(ctx10(t), qconnect.Call{Method: getMem(), Params: map[string]any{}})
	var qe *qconnect.Error
	if !errors.As(err, &qe) || qe.Code != qconnect.CodeUnavailable || !strings.Contains(qe.Message, tg.cfg.Addr()) {
		t.Fatalf("err = %v", err)
	}
	// Busy: the one connection is held by a stalled call.
	release := s.Stall(".monPublic.getMem")
	done := make(chan error)
	go func() {
		_, err := e.QueryRows(ctx10(t), qconnect.Call{Method: getMem(), Params: map[string]any{}})
		done <- err
	}()
	waitFor(t, func() bool { return s.Calls(".monPublic.getMem") == 2 })
	_, err = e.QueryRows(ctx10(t), qconnect.Call{Method: getMem(), Params: map[string]any{}})
	if qconnect.ErrorCode(err) != qconnect.CodeBusy {
		t.Fatalf("err = %v", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A refused login is unavailable and names the address, not the password.
	s.RefuseLogin(true)
	e2 := open(t, cfg)
	err = e2.Ping(ctx10(t))
	if !errors.As(err, &qe) || qe.Code != qconnect.CodeUnavailable || strings.Contains(err.Error(), "gw-secret-pw") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "refused the login") {
		t.Fatalf("err = %v", err)
	}
	s.RefuseLogin(false)
	waitFor(t, func() bool { return e2.Ping(ctx10(t)) == nil }) // backoff elapses, reconnects
}

func TestBackoff(t *testing.T) {
	for n := 1; n < 12; n++ {
		want := 100 * time.Millisecond << (n - 1)
		if want > 5*time.Second {
			want = 5 * time.Second
		}
		for i := 0; i < 50; i++ {
			d := backoff(100*time.Millisecond, 5*time.Second, n)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

func TestArgumentTypes(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	m := &qconnect.Method{Params: []qconnect.Param{
		{Name: "ts", Type: qconnect.Timestamp}, {Name: "d", Type: qconnect.Date}, {Name: "n", Type: qconnect.Timespan},
		{Name: "s", Type: qconnect.Symbol}, {Name: "ss", Type: qconnect.Symbol, List: true}, {Name: "j", Type: qconnect.Long},
		{Name: "f", Type: qconnect.Float}, {Name: "b", Type: qconnect.Boolean}, {Name: "str", Type: qconnect.String},
		{Name: "js", Type: qconnect.Long, List: true}, {Name: "missing", Type: qconnect.Timestamp},
		{Name: "missingList", Type: qconnect.Float, List: true}, {Name: "dict", Type: qconnect.Dict},
	}}
	d, err := argument(m, map[string]any{"ts": ts, "d": ts, "n": time.Second, "s": "a", "ss": []any{"x", nil},
		"j": int64(7), "f": 1.5, "b": true, "str": "hi", "js": []any{int64(1), nil},
		"dict": map[string]any{"k": "v", "n": 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	// The bytes q receives: one dictionary of typed values.
	b, err := ipc.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := ipc.Unmarshal(b)
	vals := back.(ipc.Dict).Value.([]any)
	want := []any{ipc.TimestampOf(ts), ipc.Date(8767), ipc.Timespan(time.Second), ipc.Symbol("a"), []string{"x", ""},
		int64(7), 1.5, true, "hi", []int64{1, ipc.NullLong}, ipc.Timestamp(ipc.NullLong), []float64{}}
	for i, w := range want {
		wb, _ := ipc.Marshal(w)
		gb, _ := ipc.Marshal(vals[i])
		if string(wb) != string(gb) {
			t.Errorf("%s: %#v, want %#v", m.Params[i].Name, vals[i], w)
		}
	}
	dict := vals[12].(ipc.Dict)
	if k := dict.Key.([]string); k[0] != "k" || k[1] != "n" {
		t.Fatalf("%v", dict)
	}
}
