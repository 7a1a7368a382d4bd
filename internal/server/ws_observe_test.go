package server

import (
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
