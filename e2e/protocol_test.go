package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/protocol"
)

// TestCheckOrder covers every row of the PROTOCOL 3.3 table against the
// real gateway, asserting the exact status and code, and that the gateway
// still answers a good call afterwards.
func TestCheckOrder(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t, "--max-body", "4096", "--max-concurrent", "1")
	alice := login(t, g, "alice", "alice-password")
	const path = "/connect/api/test/rows"
	now := func() string { return protocol.FormatDate(time.Now()) }
	good := func() []byte { return envelope("rowsReq", freshID(), now(), []any{map[string]any{"n": 3}}) }

	stillServing := func(t *testing.T) {
		t.Helper()
		r := alice.call(path, []any{map[string]any{"n": 3}})
		expect(t, "a good call afterwards", r, 200, "")
		if len(r.Env.Msg) != 3 {
			t.Fatalf("good call returned %d rows: %s", len(r.Env.Msg), r.Body)
		}
	}

	cases := []struct {
		name   string
		do     func() *result
		status int
		code   string
	}{
		{"payloadTooLarge", func() *result {
			body := envelope("rowsReq", freshID(), now(), []any{map[string]any{"n": 3, "pad": strings.Repeat("x", 5000)}})
			return alice.send(path, body, nil)
		}, 413, "payloadTooLarge"},
		{"missingAuthorization", func() *result {
			return post(t, g.URL+path, nil, good())
		}, 401, "missingAuthorization"},
		{"malformedAuthorization", func() *result {
			return post(t, g.URL+path, map[string]string{"Authorization": "alice:not-base64"}, good())
		}, 401, "malformedAuthorization"},
		{"badRequest (not JSON)", func() *result {
			return alice.send(path, []byte("not json"), nil)
		}, 400, "badRequest"},
		{"badRequest (duplicate key)", func() *result {
			body := []byte(`{"type":"rowsReq","id":"` + freshID() + `","date":"` + now() + `","msg":[{"n":1,"n":2}]}`)
			return alice.send(path, body, nil)
		}, 400, "badRequest"},
		{"badRequest (date format)", func() *result {
			return alice.send(path, envelope("rowsReq", freshID(), time.Now().UTC().Format(time.RFC3339), []any{}), nil)
		}, 400, "badRequest"},
		{"invalidSession (unknown suffix)", func() *result {
			other := *alice
			other.sid = strings.Repeat("A", 43)
			return other.send(path, good(), nil)
		}, 401, "invalidSession"},
		{"invalidSignature (tampered body)", func() *result {
			body := good()
			auth := alice.sign(path, "application/json", body)
			tampered := bytes.Replace(body, []byte(`"n":3`), []byte(`"n":4`), 1)
			return post(t, g.URL+path, map[string]string{"Authorization": auth}, tampered)
		}, 401, "invalidSignature"},
		{"invalidSignature (other content type)", func() *result {
			return alice.send(path, good(), map[string]string{"Content-Type": "text/plain"})
		}, 401, "invalidSignature"},
		{"clockSkew", func() *result {
			return alice.send(path, envelope("rowsReq", freshID(), protocol.FormatDate(time.Now().Add(-10*time.Minute)), []any{}), nil)
		}, 401, "clockSkew"},
		{"replayedRequest", func() *result {
			body := good()
			if r := alice.send(path, body, nil); r.Status != 200 {
				t.Fatalf("first send: %d %s", r.Status, r.Body)
			}
			return alice.send(path, body, nil)
		}, 409, "replayedRequest"},
		{"unknownMethod", func() *result {
			return alice.call("/connect/api/test/nope", []any{})
		}, 404, "unknownMethod"},
		{"unknownMethod (bad path)", func() *result {
			return alice.call("/connect/api/test", []any{})
		}, 404, "unknownMethod"},
		{"forbidden (deny wins)", func() *result {
			return alice.call("/connect/api/test/secret", []any{})
		}, 403, "forbidden"},
		{"invalidParams", func() *result {
			return alice.call("/connect/api/test/typed", []any{map[string]any{"l": 1.5, "colour": "blue", "zzz": 1, "s": "toolong"}})
		}, 422, "invalidParams"},
		{"invalidParams (missing required)", func() *result {
			return alice.call(path, []any{})
		}, 422, "invalidParams"},
		{"timeout", func() *result {
			return alice.call("/connect/api/test/slow", []any{})
		}, 504, "timeout"},
		{"analyticError", func() *result {
			return alice.call("/connect/api/test/fail", []any{})
		}, 502, "analyticError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.do()
			expect(t, c.name, r, c.status, c.code)
			stillServing(t)
		})
	}

	t.Run("invalidParams details", func(t *testing.T) {
		r := alice.call("/connect/api/test/typed", []any{map[string]any{"l": 1.5, "colour": "blue", "zzz": 1, "s": "toolong"}})
		if len(r.Env.Error.Details) != 4 {
			t.Fatalf("want one detail per problem (l, s, colour, zzz), got %q", r.Env.Error.Details)
		}
		for i, p := range []string{"l", "s", "colour", "zzz"} {
			if !strings.HasPrefix(r.Env.Error.Details[i], p) {
				t.Errorf("detail %d = %q, want it to name %s", i, r.Env.Error.Details[i], p)
			}
		}
	})

	t.Run("busy", func(t *testing.T) {
		// --max-concurrent 1: a second call while one runs is busy.
		r, done := slotHeld(t, func() bool {
			return alice.call("/connect/api/test/slowish", []any{}).Status == 503
		}, func() *result { return alice.call(path, []any{map[string]any{"n": 1}}) })
		expect(t, "busy", r, 503, "busy")
		if r.Header.Get("Retry-After") == "" {
			t.Error("busy without Retry-After")
		}
		<-done
		stillServing(t)
	})

	t.Run("response envelope", func(t *testing.T) {
		body := good()
		var req struct{ ID string }
		_ = json.Unmarshal(body, &req)
		r := alice.send(path, body, nil)
		if r.Env.Type != "rowsResp" || r.Env.ID == nil || *r.Env.ID != req.ID || !r.Env.Success {
			t.Fatalf("envelope: %s", r.Body)
		}
		if _, err := protocol.ParseDate(r.Env.Date); err != nil {
			t.Errorf("response date %q: %v", r.Env.Date, err)
		}
		// msg comes before meta and success on the wire (PROTOCOL 1).
		if i, j := bytes.Index(r.Body, []byte(`"msg"`)), bytes.Index(r.Body, []byte(`"success"`)); i < 0 || j < i {
			t.Errorf("msg must precede success: %s", r.Body)
		}
	})

	t.Run("wrong verb", func(t *testing.T) {
		resp, err := http.Get(g.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("GET %s = %d, want 405", path, resp.StatusCode)
		}
	})
}

// TestRateLimited: a user over the request rate gets 429 rateLimited with
// Retry-After, and is served again after waiting.
func TestRateLimited(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t, "--rate-per-user", "5", "--rate-burst", "3")
	alice := login(t, g, "alice", "alice-password")
	var r *result
	for i := 0; i < 10; i++ {
		r = alice.call("/connect/api/auth/ping", []any{})
		if r.Status == 429 {
			break
		}
	}
	expect(t, "rate", r, 429, "rateLimited")
	if r.Header.Get("Retry-After") == "" {
		t.Error("rateLimited without Retry-After")
	}
	// The bucket refills at 5/s: polled until served (a refused request
	// takes no token).
	deadline := time.Now().Add(10 * time.Second)
	for r = alice.call("/connect/api/auth/ping", []any{}); r.Status == 429 && time.Now().Before(deadline); r = alice.call("/connect/api/auth/ping", []any{}) {
		time.Sleep(20 * time.Millisecond) // polling tick
	}
	expect(t, "after waiting", r, 200, "")
}

// TestTypedValues checks PROTOCOL 4.2 conversions and 4.3 encodings end to
// end: each parameter is echoed back as a column.
func TestTypedValues(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	alice := login(t, g, "alice", "alice-password")
	r := alice.call("/connect/api/test/typed", []any{map[string]any{
		"b": false, "l": 9007199254740993, "f": 2.5, "s": "a\"b", "ts": "2019-07-26T09:00:00.5",
		"d": "2020-02-29", "span": "PT1H2M3.5S", "colour": "green"}})
	expect(t, "typed", r, 200, "")
	var row map[string]json.RawMessage
	if err := json.Unmarshal(r.Env.Msg[0], &row); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"b": `false`, "l": `9007199254740993`, "f": `2.5`, "s": `"a\"b"`,
		"ts": `"2019-07-26T09:00:00.500000000Z"`, "d": `"2020-02-29"`, "span": `"0D01:02:03.500000000"`, "colour": `"green"`}
	for k, v := range want {
		if string(row[k]) != v {
			t.Errorf("%s = %s, want %s", k, row[k], v)
		}
	}
	// Defaults and nulls: f has no default and is null.
	r = alice.call("/connect/api/test/typed", []any{})
	expect(t, "typed defaults", r, 200, "")
	row = nil
	if err := json.Unmarshal(r.Env.Msg[0], &row); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"f": "null", "l": "7", "ts": `"2019-07-26T09:00:00.123456789Z"`, "span": `"0D00:01:30.000000000"`} {
		if string(row[k]) != v {
			t.Errorf("default %s = %s, want %s", k, row[k], v)
		}
	}
	var meta struct {
		Columns []struct{ Name, Type string }
	}
	_ = json.Unmarshal(r.Env.Meta, &meta)
	if len(meta.Columns) != 8 || meta.Columns[6].Type != "timespan" {
		t.Errorf("meta.columns = %+v", meta.Columns)
	}
}

// TestRowCap: a result longer than the cap is cut there and says so.
func TestRowCap(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	alice := login(t, g, "alice", "alice-password")
	for _, c := range []struct {
		n, rows   int
		truncated bool
	}{{5, 5, false}, {10, 10, false}, {11, 10, true}, {100000, 10, true}} {
		r := alice.call("/connect/api/test/rows", []any{map[string]any{"n": c.n}})
		expect(t, "rows", r, 200, "")
		var meta struct {
			RowCount  int  `json:"rowCount"`
			Truncated bool `json:"truncated"`
		}
		_ = json.Unmarshal(r.Env.Meta, &meta)
		if len(r.Env.Msg) != c.rows || meta.RowCount != c.rows || meta.Truncated != c.truncated {
			t.Errorf("n=%d: %d rows, meta %+v; want %d rows, truncated=%v", c.n, len(r.Env.Msg), meta, c.rows, c.truncated)
		}
	}
}
