package server

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that keeps the records (the real ones, metrics
// and audit, are tested end to end in e2e/metrics_test.go and
// e2e/audit_test.go).
type recorder struct {
	mu   sync.Mutex
	recs []RequestRecord
}

func (r *recorder) ObserveRequest(o *RequestRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, *o)
}

func (r *recorder) byID() map[string]RequestRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]RequestRecord{}
	for _, o := range r.recs {
		out[o.ID] = o
	}
	return out
}

// TestWSObserved: a socket's login, calls, publishes, refusals and logout
// each reach the observers once, with REST's status for the same outcome;
// calls run on their own goroutines, so this runs under -race.
func TestWSObserved(t *testing.T) {
	rec := &recorder{}
	ts, _, _ := wsTestServerWith(t, Config{}, &memTable{}, rec)
	w := dialWS(t, ts)
	w.login("alice")
	bad := dialWS(t, ts)
	bad.id = 100 // ids distinct from w's
	badID := bad.send("LoginReq", []any{map[string]string{"username": "alice", "password": "wrong"}})
	bad.expect("LoginResp")
	var ids []string
	for i := range 4 {
		ids = append(ids, w.send("ExecuteReq", []any{map[string]any{"method": "t/pub", "params": map[string]any{
			"rows": []any{map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "sym": "A", "price": float64(i)}}}}}))
	}
	for range ids {
		if f := w.expect("ExecuteResp"); !f.Success {
			t.Fatalf("publish: %+v", f.Error)
		}
	}
	unknown := w.send("ExecuteReq", []any{map[string]any{"method": "t/nothing"}})
	if f := w.expect("ExecuteResp"); f.Error == nil || f.Error.Code != "unknownMethod" {
		t.Fatalf("unknown method: %+v", f)
	}
	logout := w.send("LogoutReq", []any{})
	w.expect("LogoutResp")

	got := rec.byID()
	rec.mu.Lock()
	n := len(rec.recs)
	rec.mu.Unlock()
	if n != 8 || len(got) != 8 {
		t.Fatalf("%d records, want 8 (2 logins, 4 publishes, 1 unknown call, 1 logout): %+v", n, got)
	}
	if o := got["LoginReq-1"]; o.Kind != "login" || o.Method != "auth/login" || o.User != "alice" || o.Status != 200 || o.Code != "" || o.Path != "/connect/ws" {
		t.Errorf("login: %+v", o)
	}
	if o := got[badID]; o.Kind != "login" || o.User != "alice" || o.Status != 401 || o.Code != "invalidCredentials" {
		t.Errorf("failed login: %+v", o)
	}
	for _, id := range ids {
		if o := got[id]; o.Kind != "publish" || o.Method != "t/pub" || o.Rows != 1 || o.Status != 200 || o.Bytes == 0 || len(o.Msg) != 1 {
			t.Errorf("publish %s: %+v", id, o)
		}
	}
	if o := got[unknown]; o.Kind != "call" || o.Status != 404 || o.Code != "unknownMethod" {
		t.Errorf("unknown method: %+v", o)
	}
	if o := got[logout]; o.Kind != "logout" || o.Method != "auth/logout" || o.User != "alice" || o.Status != 200 {
		t.Errorf("logout: %+v", o)
	}
}

// readRaw reads one frame and returns it parsed and as sent.
func (w *wsClient) readRaw(typ string) (frame, []byte) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatalf("waiting for %s: %v", typ, err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil || f.Type != typ {
		w.t.Fatalf("got %s, want a %s", data, typ)
	}
	return f, data
}

// TestWSSubscriptionsObserved: SubscribeReq, UnsubscribeReq and PingReq
// reach the observers once each (PROTOCOL appendix 36) with REST's status
// for the outcome, the subscription's method, its snapshot rows, and the
// bytes of the answering frames (SubscribeResp plus SnapshotMsg).
func TestWSSubscriptionsObserved(t *testing.T) {
	rec := &recorder{}
	ts, _, _ := wsTestServerWith(t, Config{}, &memTable{}, rec)
	w := dialWS(t, ts)
	w.login("alice")
	row := func(sym string, p float64) map[string]any {
		return map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "sym": sym, "price": p}
	}
	w.send("ExecuteReq", []any{map[string]any{"method": "t/pub", "params": map[string]any{"rows": []any{row("A", 1), row("B", 2), row("A", 3)}}}})
	if f := w.expect("ExecuteResp"); !f.Success {
		t.Fatalf("publish: %+v", f.Error)
	}
	subID := w.send("SubscribeReq", []any{map[string]any{"method": "t/sub", "params": map[string]any{"syms": []string{"A"}}}})
	resp, respRaw := w.readRaw("SubscribeResp")
	snap, snapRaw := w.readRaw("SnapshotMsg")
	var sid struct {
		SubscriptionID string `json:"subscriptionId"`
	}
	if !resp.Success || json.Unmarshal(resp.Msg[0], &sid) != nil {
		t.Fatalf("subscribe: %s", respRaw)
	}
	var snapRows []json.RawMessage
	if err := json.Unmarshal(snap.Msg[0], &snapRows); err != nil {
		// a snapshot's msg is the rows themselves
		snapRows = snap.Msg
	}
	unknownID := w.send("SubscribeReq", []any{map[string]any{"method": "t/nope"}})
	w.expect("SubscribeResp")
	unsubID := w.send("UnsubscribeReq", []any{map[string]string{"subscriptionId": sid.SubscriptionID}})
	_, unsubRaw := w.readRaw("UnsubscribeResp")
	againID := w.send("UnsubscribeReq", []any{map[string]string{"subscriptionId": sid.SubscriptionID}})
	w.expect("UnsubscribeResp")
	pingID := w.send("PingReq", []any{})
	_, pingRaw := w.readRaw("PingResp")

	got := rec.byID()
	if o := got[subID]; o.Kind != "subscribe" || o.Method != "t/sub" || o.User != "alice" || o.Status != 200 || o.Code != "" ||
		o.Rows != int64(len(snapRows)) || o.Rows == 0 || o.Bytes != int64(len(respRaw)+len(snapRaw)) || len(o.Msg) != 1 || o.Path != "/connect/ws" || o.Verb != "WS" {
		t.Errorf("subscribe: %+v (snapshot rows %d, frames %d+%d bytes)", o, len(snapRows), len(respRaw), len(snapRaw))
	}
	if o := got[unknownID]; o.Kind != "subscribe" || o.Method != "t/nope" || o.Status != 404 || o.Code != "unknownMethod" || o.Rows != 0 {
		t.Errorf("subscribe to an unknown method: %+v", o)
	}
	if o := got[unsubID]; o.Kind != "unsubscribe" || o.Method != "t/sub" || o.Status != 200 || o.Code != "" || o.Bytes != int64(len(unsubRaw)) {
		t.Errorf("unsubscribe: %+v (frame %d bytes)", o, len(unsubRaw))
	}
	if o := got[againID]; o.Kind != "unsubscribe" || o.Method != "" || o.Status != 422 || o.Code != "invalidParams" {
		t.Errorf("unsubscribe of an ended subscription: %+v", o)
	}
	if o := got[pingID]; o.Kind != "ping" || o.Method != "auth/ping" || o.Status != 200 || o.Bytes != int64(len(pingRaw)) {
		t.Errorf("ping: %+v", o)
	}
	rec.mu.Lock()
	n := len(rec.recs)
	rec.mu.Unlock()
	if n != 7 { // login, publish, 2 subscribes, 2 unsubscribes, ping
		t.Errorf("%d records, want 7: %+v", n, got)
	}
}
