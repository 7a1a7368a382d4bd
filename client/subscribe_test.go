package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// The SDK's subscriptions and publishes are covered end to end against the
// real gateway in e2e/ws_test.go. These tests use a fake /connect/ws (a
// stand-in for the gateway, like fakeGateway for REST) to check what the
// gateway cannot be made to do on purpose — a seq gap, a malformed frame —
// and to run the subscription's goroutines under the race detector.

const fakeSID = "3q2-7w_9ZkL0pXr4TtYb8MvN1cHfJs6QeWuAiDgKoPl"

var subCols = []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol}, {Name: "price", Type: qconnect.Float}}

// wsScript is what the fake socket does after the SubscribeResp: it sends
// frames, then (close > 0) closes with that code.
type wsScript struct {
	subscribeError string // a wire error code answered to SubscribeReq
	frames         []string
	close          websocket.StatusCode
}

func fakeWSGateway(t *testing.T, script wsScript) *httptest.Server {
	t.Helper()
	rest := &fakeGateway{t: t, sessionID: fakeSID, handle: func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		switch r.URL.Path {
		case "/connect/api/meta/methods":
			cols, _ := json.Marshal(subCols)
			writeEnvelope(w, http.StatusOK, `"msg":[{"group":"g","name":"sub","path":"/connect/api/g/sub","streaming":true,"params":[],"columns":`+string(cols)+`}],"success":true`)
		case "/connect/api/g/pub":
			raw, _ := json.Marshal(req.Msg)
			writeEnvelope(w, http.StatusOK, `"msg":[{"rows":2}],"success":true,"echo":`+string(raw))
		default:
			writeEnvelope(w, http.StatusNotFound, `"msg":[],"success":false,"error":{"code":"unknownMethod","message":"no"}`)
		}
	}}
	mux := http.NewServeMux()
	mux.Handle("/connect/api/", rest)
	mux.HandleFunc("/connect/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("fake ws: %v", err)
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		read := func() *protocol.Request {
			_, data, err := c.Read(ctx)
			if err != nil {
				return nil
			}
			req, err := protocol.ParseRequest(data)
			if err != nil {
				t.Errorf("fake ws: the SDK sent %s: %v", data, err)
			}
			return req
		}
		write := func(s string) { _ = c.Write(ctx, websocket.MessageText, []byte(s)) }
		auth := read()
		var m []map[string]string
		raw, _ := json.Marshal(auth.Msg)
		_ = json.Unmarshal(raw, &m)
		cred, err := protocol.ParseAuthorization(m[0]["authorization"])
		in := protocol.SignInput{Verb: "GET", Path: "/connect/ws", Username: cred.Username, BodyMD5: protocol.EmptyBodyMD5, Date: auth.Date}
		if auth.Type != "AuthReq" || err != nil || !protocol.Verify(in, fakeSID, cred.Signature) {
			t.Errorf("fake ws: first frame %+v is not an AuthReq signed over GET /connect/ws (%v)", auth, err)
			return
		}
		write(`{"type":"AuthResp","id":"` + auth.ID + `","date":"","msg":[{}],"success":true}`)
		sub := read()
		if script.subscribeError != "" {
			write(`{"type":"SubscribeResp","id":"` + sub.ID + `","date":"","msg":[],"success":false,"error":{"code":"` + script.subscribeError + `","message":"no"}}`)
			return
		}
		write(`{"type":"SubscribeResp","id":"` + sub.ID + `","date":"","msg":[{"subscriptionId":"s1"}],"success":true}`)
		var wmu sync.Mutex
		go func() {
			for {
				req := read()
				if req == nil {
					return
				}
				if req.Type == "UnsubscribeReq" {
					wmu.Lock()
					write(`{"type":"UnsubscribeResp","id":"` + req.ID + `","date":"","msg":[{"subscriptionId":"s1"}],"success":true}`)
					wmu.Unlock()
				}
			}
		}()
		for _, f := range script.frames {
			wmu.Lock()
			write(f)
			wmu.Unlock()
		}
		if script.close > 0 {
			c.Close(script.close, "scripted")
			return
		}
		<-ctx.Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func update(seq int, price float64) string {
	return fmt.Sprintf(`{"type":"UpdateMsg","subscriptionId":"s1","seq":%d,"date":"Sat, 28 Nov 2026 09:30:00 GMT","msg":[{"time":"2026-11-28T09:30:00.000000001Z","sym":"A","price":%g}]}`, seq, price)
}

func TestSubscribeTypedMessages(t *testing.T) {
	srv := fakeWSGateway(t, wsScript{frames: []string{
		`{"type":"SnapshotMsg","subscriptionId":"s1","date":"Sat, 28 Nov 2026 09:30:00 GMT","msg":[{"sym":"A","price":1.5,"time":"2026-11-28T09:00:00Z"}],"meta":{"columns":[{"name":"time","type":"timestamp"},{"name":"sym","type":"symbol"},{"name":"price","type":"float"}],"rowCount":1,"truncated":true}}`,
		`{"type":"UpdateMsg","subscriptionId":"other","seq":7,"date":"","msg":[]}`, // another subscription's: ignored
		update(1, 2), update(2, 3),
	}})
	s := login(t, srv, "kxSupport")
	ctx := ctxT(t)
	sub, err := s.Subscribe(ctx, "g/sub", map[string]any{"since": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID != "s1" || sub.Method != "g/sub" {
		t.Fatalf("subscription %+v", sub)
	}
	snap, err := sub.Next(ctx)
	want := [][]any{{time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), "A", 1.5}}
	if err != nil || snap.Kind != Snapshot || !snap.Truncated || !reflect.DeepEqual(snap.Rows, want) {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	for i := 1; i <= 2; i++ {
		m, err := sub.Next(ctx)
		if err != nil || m.Kind != Update || m.Seq != uint64(i) || m.Rows[0][2] != float64(i+1) ||
			m.Rows[0][0] != time.Date(2026, 11, 28, 9, 30, 0, 1, time.UTC) || m.Date.IsZero() {
			t.Fatalf("update %d: %+v %v", i, m, err)
		}
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, ErrUnsubscribed) {
		t.Fatalf("Next after Unsubscribe: %v", err)
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatalf("a second Unsubscribe: %v", err)
	}
}

func TestSubscribeEnds(t *testing.T) {
	ctx := ctxT(t)
	t.Run("seq gap", func(t *testing.T) {
		sub, err := login(t, fakeWSGateway(t, wsScript{frames: []string{update(1, 1), update(3, 1)}}), "u").Subscribe(ctx, "g/sub", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Next(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Next(ctx); !errors.Is(err, ErrSeqGap) {
			t.Fatalf("seq 3 after 1: %v, want ErrSeqGap", err)
		}
	})
	t.Run("slow consumer", func(t *testing.T) {
		srv := fakeWSGateway(t, wsScript{frames: []string{update(1, 1),
			`{"type":"SubscriptionEndMsg","subscriptionId":"s1","error":{"code":"slowConsumer","message":"fell behind"}}`}, close: 4008})
		sub, err := login(t, srv, "u").Subscribe(ctx, "g/sub", nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := sub.Next(ctx); err != nil || m.Seq != 1 {
			t.Fatalf("the update before the end: %+v %v", m, err)
		}
		_, err = sub.Next(ctx)
		var e *Error
		if !errors.As(err, &e) || e.Code != qconnect.CodeSlowConsumer || e.Method != "g/sub" {
			t.Fatalf("after SubscriptionEndMsg: %v", err)
		}
		if err := sub.Unsubscribe(ctx); err != nil {
			t.Fatalf("Unsubscribe of an ended subscription: %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		sub, err := login(t, fakeWSGateway(t, wsScript{close: 4401}), "u").Subscribe(ctx, "g/sub", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sub.Next(ctx)
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != 4401 {
			t.Fatalf("closed with 4401: %v", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		_, err := login(t, fakeWSGateway(t, wsScript{subscribeError: "forbidden"}), "u").Subscribe(ctx, "g/sub", nil)
		var e *Error
		if !errors.As(err, &e) || e.Code != qconnect.CodeForbidden || e.Status != 403 {
			t.Fatalf("refused: %v", err)
		}
	})
	t.Run("malformed rows", func(t *testing.T) {
		bad := `{"type":"UpdateMsg","subscriptionId":"s1","seq":1,"date":"","msg":[{"price":"x"}]}`
		sub, err := login(t, fakeWSGateway(t, wsScript{frames: []string{bad}}), "u").Subscribe(ctx, "g/sub", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sub.Next(ctx); !errors.Is(err, ErrNotGateway) {
			t.Fatalf("a float column holding a string: %v", err)
		}
	})
}

// TestSubscribeConcurrentUnsubscribe unsubscribes while updates stream in
// and Next runs on another goroutine (run with -race).
func TestSubscribeConcurrentUnsubscribe(t *testing.T) {
	var frames []string
	for i := 1; i <= 2000; i++ {
		frames = append(frames, update(i, float64(i)))
	}
	sub, err := login(t, fakeWSGateway(t, wsScript{frames: frames}), "u").Subscribe(ctxT(t), "g/sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	streaming := make(chan struct{}) // closed when Next has returned an update
	go func() {
		for n := 0; ; n++ {
			if _, err := sub.Next(context.Background()); err != nil {
				if n == 0 {
					close(streaming)
				}
				done <- err
				return
			}
			if n == 0 {
				close(streaming)
			}
		}
	}()
	<-streaming
	if err := sub.Unsubscribe(ctxT(t)); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnsubscribed) {
			t.Fatalf("Next ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after Unsubscribe")
	}
}

func TestPublishRows(t *testing.T) {
	rest := &fakeGateway{t: t, sessionID: fakeSID}
	var got []json.RawMessage
	rest.handle = func(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
		got = req.Msg
		writeEnvelope(w, http.StatusOK, `"msg":[{"rows":2}],"success":true`)
	}
	srv := httptest.NewServer(rest)
	t.Cleanup(srv.Close)
	s := login(t, srv, "u")
	at := time.Date(2026, 11, 28, 9, 30, 0, 5, time.FixedZone("X", 3600))
	n, err := s.Publish(ctxT(t), "g/pub", []map[string]any{{"time": at, "span": 90 * time.Second, "sym": "A"}, {"price": 1.5}})
	if err != nil || n != 2 {
		t.Fatalf("Publish = %d, %v", n, err)
	}
	var msg struct{ Rows []map[string]any }
	if len(got) != 1 || json.Unmarshal(got[0], &msg) != nil || len(msg.Rows) != 2 {
		t.Fatalf("msg %s", got)
	}
	if msg.Rows[0]["time"] != "2026-11-28T08:30:00.000000005Z" || msg.Rows[0]["span"] != "0D00:01:30.000000000" || msg.Rows[1]["price"] != 1.5 {
		t.Fatalf("rows sent %v: time, timespan must be in their PROTOCOL 4.3 forms", msg.Rows)
	}
	if _, err := s.Publish(ctxT(t), "nogroup", nil); err == nil {
		t.Fatal("a method without a group was accepted")
	}
}
