package encode

import (
	"encoding/json"
	"testing"

	"github.com/qconnect/qconnect"
)

// TestAppendEnvelope pins the envelope's bytes (PROTOCOL 1, 4.3): keys in
// wire order, a missing id as null, meta only when given, the error object
// only on failure; and the REST, JSON-result and WebSocket forms are this
// one writer's.
func TestAppendEnvelope(t *testing.T) {
	h := Header{Type: "PingResp", ID: "r\"1", Date: "Tue, 01 Dec 2026 09:00:00 GMT"}
	cases := []struct {
		name string
		h    Header
		msg  any
		meta []byte
		err  *qconnect.Error
		want string
	}{
		{"ok", h, []any{map[string]int{"rows": 2}}, nil, nil,
			`{"type":"PingResp","id":"r\"1","date":"Tue, 01 Dec 2026 09:00:00 GMT","msg":[{"rows":2}],"success":true}`},
		{"no id, nil msg", Header{Type: "ErrorResp", Date: "d"}, nil, nil, nil,
			`{"type":"ErrorResp","id":null,"date":"d","msg":[],"success":true}`},
		{"meta", h, []any{}, AppendMeta(nil, Meta{Columns: []qconnect.Column{{Name: "x", Type: qconnect.Long}}, RowCount: 0}), nil,
			`{"type":"PingResp","id":"r\"1","date":"Tue, 01 Dec 2026 09:00:00 GMT","msg":[],"meta":{"columns":[{"name":"x","type":"long"}],"rowCount":0,"truncated":false,"elapsedMs":0},"success":true}`},
		{"error", h, []any{}, nil, &qconnect.Error{Code: qconnect.CodeInvalidParams, Message: "bad <x>", Details: []string{"a", "b"}},
			`{"type":"PingResp","id":"r\"1","date":"Tue, 01 Dec 2026 09:00:00 GMT","msg":[],"success":false,"error":{"code":"invalidParams","message":"bad <x>","details":["a","b"]}}`},
	}
	for _, c := range cases {
		got, err := AppendEnvelope(nil, c.h, c.msg, c.meta, c.err)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: not JSON", c.name)
		}
	}
	if _, err := AppendEnvelope(nil, h, func() {}, nil, nil); err == nil {
		t.Fatal("a msg encoding/json cannot encode gave no error")
	}
}
