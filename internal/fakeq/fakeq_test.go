package fakeq

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/kdb/ipc"
)

func start(t *testing.T) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Example()
	return s
}

func dial(t *testing.T, s *Server, user, password string) *ipc.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ipc.Dial(ctx, ipc.Config{Addr: s.Addr(), User: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func call(t *testing.T, c *ipc.Conn, v any) (any, ipc.Message, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Call(ctx, v)
	if err != nil {
		return nil, m, err
	}
	r, err := m.Decode()
	return r, m, err
}

func dict(kv ...any) ipc.Dict {
	var keys []string
	var vals []any
	for i := 0; i < len(kv); i += 2 {
		keys = append(keys, kv[i].(string))
		vals = append(vals, kv[i+1])
	}
	return ipc.Dict{Key: keys, Value: vals}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.SetUsers(map[string]string{"alice": "s3cret-pw"})
	c := dial(t, s, "alice", "s3cret-pw")
	if c.Capability() != 3 {
		t.Fatalf("capability %d", c.Capability())
	}
	_, err := ipc.Dial(context.Background(), ipc.Config{Addr: s.Addr(), User: "alice", Password: "wrong-pw"})
	var de *ipc.DialError
	if !errors.As(err, &de) || !de.Refused || !strings.Contains(err.Error(), s.Addr()) || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("err = %v", err)
	}
	s.RefuseLogin(true)
	if _, err := ipc.Dial(context.Background(), ipc.Config{Addr: s.Addr(), User: "alice", Password: "s3cret-pw"}); !errors.As(err, &de) || !de.Refused {
		t.Fatalf("err = %v", err)
	}
	// Nothing listens on port 1 (a closed fake's own port could be taken
	// by another test's listener at once).
	const closed = "127.0.0.1:1"
	_, err = ipc.Dial(context.Background(), ipc.Config{Addr: closed, User: "alice", Password: "s3cret-pw"})
	if !errors.As(err, &de) || de.Refused || !strings.Contains(err.Error(), closed) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("closed port: %v", err)
	}
}

func TestCallsAndCompression(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := dial(t, s, "u", "p")
	r, m, err := call(t, c, []any{ipc.Symbol(".monPublic.getMem"), dict("start", ipc.Timestamp(ipc.NullLong), "end", ipc.Timestamp(ipc.NullLong), "syms", []string{"server_A"})})
	if err != nil {
		t.Fatal(err)
	}
	tbl := r.(ipc.Table)
	if n, _ := tableLen(tbl); n != MemRows/3 || !m.Compressed {
		t.Fatalf("%d rows, compressed %v", n, m.Compressed)
	}
	for _, s := range column[[]string](tbl, "sym") {
		if s != "server_A" {
			t.Fatalf("sym %s", s)
		}
	}
	// A string head, as node-q sends it.
	if r, _, err := call(t, c, []any{".marketData.listSyms", ipc.Dict{Key: []any{}, Value: []any{}}}); err != nil || len(column[[]string](r.(ipc.Table), "sym")) != 5 {
		t.Fatalf("%v %v", r, err)
	}
	// q errors: a signal and an undefined name.
	_, _, err = call(t, c, []any{ipc.Symbol(".monPublic.broken"), dict()})
	var qe *ipc.Error
	if !errors.As(err, &qe) || qe.Msg != "type" {
		t.Fatalf("err = %v", err)
	}
	if _, _, err = call(t, c, []any{ipc.Symbol(".no.such"), dict()}); !errors.As(err, &qe) || qe.Msg != ".no.such" {
		t.Fatalf("err = %v", err)
	}
	// The connection still works after errors.
	if r, _, err := call(t, c, []any{ipc.Symbol(".marketData.lastPrice"), dict("syms", []string{"IBM"})}); err != nil || r.(ipc.Dict).Key.([]string)[0] != "IBM" {
		t.Fatalf("%v %v", r, err)
	}
}

func TestStallAndDrop(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := dial(t, s, "u", "p")
	release := s.Stall(".marketData.listSyms")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Call(ctx, []any{ipc.Symbol(".marketData.listSyms"), dict()}); !errors.Is(err, context.DeadlineExceeded) || !c.Broken() {
		t.Fatalf("err = %v, broken %v", err, c.Broken())
	}
	release()
	c2 := dial(t, s, "u", "p")
	s.DropNext(".marketData.getTrades")
	_, _, err := call(t, c2, []any{ipc.Symbol(".marketData.getTrades"), dict("limit", int64(10))})
	var ce *ipc.ConnError
	if !errors.As(err, &ce) || !c2.Broken() {
		t.Fatalf("err = %v", err)
	}
	c3 := dial(t, s, "u", "p")
	if r, _, err := call(t, c3, []any{ipc.Symbol(".marketData.getTrades"), dict("limit", int64(10))}); err != nil {
		t.Fatal(err)
	} else if n, _ := tableLen(r.(ipc.Table)); n != 10 {
		t.Fatalf("%d rows", n)
	}
}

func TestTickerplant(t *testing.T) {
	t.Parallel()
	s := start(t)
	sub := dial(t, s, "u", "p")
	r, _, err := call(t, sub, []any{ipc.Symbol(".u.sub"), ipc.Symbol("monMem"), []string{"server_B"}})
	if err != nil {
		t.Fatal(err)
	}
	l := r.([]any)
	if l[0] != ipc.Symbol("monMem") {
		t.Fatalf("%v", l)
	}
	if n, _ := tableLen(l[1].(ipc.Table)); n != 0 {
		t.Fatalf("snapshot has %d rows", n)
	}
	pub := dial(t, s, "u", "p")
	rows := take(MemTable(), []int{0, 1, 2, 3, 4})
	if _, _, err := call(t, pub, []any{ipc.Symbol(".u.upd"), ipc.Symbol("monMem"), rows}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := sub.Read(ctx)
	if err != nil || m.Type != ipc.Async {
		t.Fatalf("%v %v", m, err)
	}
	v, _ := m.Decode()
	upd := v.([]any)
	if upd[0] != ipc.Symbol("upd") || upd[1] != ipc.Symbol("monMem") {
		t.Fatalf("%v", upd)
	}
	got := column[[]string](upd[2].(ipc.Table), "sym")
	if len(got) != 2 || got[0] != "server_B" || got[1] != "server_B" { // rows 1 and 4
		t.Fatalf("syms %v", got)
	}
	// .u.upd with a list of columns, and a type mismatch.
	if _, _, err := call(t, pub, []any{ipc.Symbol(".u.upd"), ipc.Symbol("monMem"), []any{[]int64{1}, []string{"x"}, []float64{1}, []float64{1}, []float64{1}}}); err == nil {
		t.Fatal("type mismatch accepted")
	}
	s.DropSubscribers()
	if _, err := sub.Read(ctx); err == nil {
		t.Fatal("subscriber still connected")
	}
}
