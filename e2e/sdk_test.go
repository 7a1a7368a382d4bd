package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
	"github.com/qconnect/qconnect/internal/testenv"
)

// sdkFormats are the stream formats of the SDK, with the Accept values of
// the raw tests.
var sdkFormats = []string{client.FormatJSON, client.FormatNDJSON, client.FormatCSV, client.FormatArrow}

// wantSDKError asserts err is a *client.Error with code and HTTP status.
func wantSDKError(t *testing.T, what string, err error, code qconnect.Code, status int) *client.Error {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s: error %v (%T), want a *client.Error %s", what, err, err, code)
	}
	if ce.Code != code || ce.Status != status || ce.Message == "" {
		t.Fatalf("%s: %s (HTTP %d, message %q), want %s (HTTP %d) with a message", what, ce.Code, ce.Status, ce.Message, code, status)
	}
	return ce
}

// streamBody decodes a body the SDK streamed, in any format, to rows.
func streamBody(t *testing.T, accept string, data []byte, cols []qconnect.Column) [][]any {
	t.Helper()
	switch accept {
	case client.FormatJSON:
		_, rows := decodeJSONBody(t, data, cols)
		return rows
	case client.FormatNDJSON:
		_, rows := decodeNDJSONBody(t, data, cols)
		return rows
	case client.FormatCSV:
		return decodeCSVBody(t, data, cols)
	}
	rows, err := decodeArrowBody(t, data, cols)
	if err != nil {
		t.Fatalf("arrow-go: %v", err)
	}
	return rows
}

// TestSDK drives the Go SDK against the real gateway: login, ping, the
// method list, typed calls, the wire errors as *client.Error, streams in
// every format, logout.
func TestSDK(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	c, err := client.New(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	_, err = c.Login(ctx, "alice", "wrong-password")
	if ce := wantSDKError(t, "bad password", err, qconnect.CodeInvalidCredentials, 401); !ce.IsAuth() {
		t.Error("invalidCredentials: IsAuth() = false")
	}
	s, err := c.Login(ctx, "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if s.Username != "alice" || s.IdleTimeout != 30*time.Minute || !s.Expires.After(time.Now()) || time.Until(s.Expires) > 12*time.Hour+time.Minute {
		t.Errorf("session %s: idle %v, expires %v", s.Username, s.IdleTimeout, s.Expires)
	}
	info, err := s.Ping(ctx)
	if err != nil || info.IdleTimeout != 30*time.Minute || !info.Expires.After(time.Now()) {
		t.Errorf("Ping = %+v, %v", info, err)
	}

	t.Run("Methods", func(t *testing.T) {
		ms, err := s.Methods(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]client.MethodInfo{}
		for _, m := range ms {
			byName[m.FullName()] = m
		}
		if _, ok := byName["test/secret"]; ok {
			t.Error("the method list shows test/secret, which alice is denied")
		}
		m, ok := byName["test/allTypes"]
		if !ok || m.Path != "/connect/api/test/allTypes" || len(m.Params) != 1 {
			t.Fatalf("test/allTypes in the method list: %+v", m)
		}
		p := m.Params[0]
		if p.Name != "n" || p.Type != "long" || p.Required || p.Min == nil || *p.Min != 0 || p.Max == nil || *p.Max != 1e6 ||
			p.Default == nil || p.Default.(interface{ String() string }).String() != "100" {
			t.Errorf("parameter n = %+v", p)
		}
		if !reflect.DeepEqual(m.Columns, allTypesCols) {
			t.Errorf("columns = %v", m.Columns)
		}
	})

	var typed *client.Result
	t.Run("Call typed values", func(t *testing.T) {
		res, err := s.Call(ctx, "test/allTypes", map[string]any{"n": 300})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res.Columns, allTypesCols) || res.RowCount != 300 || res.Truncated || len(res.Rows) != 300 {
			t.Fatalf("result: columns %v, rowCount %d, truncated %v, %d rows", res.Columns, res.RowCount, res.Truncated, len(res.Rows))
		}
		for k, row := range res.Rows {
			checkAllTypesRow(t, k, row)
		}
		typed = res

		// Parameters given as Go values: time.Time, time.Duration, int64
		// beyond 2^53, echoed back typed.
		ts := time.Date(2019, 7, 26, 9, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
		res, err = s.Call(ctx, "test/typed", map[string]any{"b": false, "l": int64(1<<53 + 1), "f": 2.5, "s": "héllo",
			"ts": ts, "d": "2020-02-29", "span": 90*time.Minute + 500*time.Millisecond, "colour": "green"})
		if err != nil {
			t.Fatal(err)
		}
		want := []any{false, int64(1<<53 + 1), 2.5, "héllo", ts, time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC),
			90*time.Minute + 500*time.Millisecond, "green"}
		if len(res.Rows) != 1 {
			t.Fatalf("typed: %d rows", len(res.Rows))
		}
		for i, w := range want {
			if !sameValue(res.Rows[0][i], w) {
				t.Errorf("typed %s = %#v, want %#v", res.Columns[i].Name, res.Rows[0][i], w)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := s.Call(ctx, "test/secret", nil)
		if ce := wantSDKError(t, "denied method", err, qconnect.CodeForbidden, 403); ce.Method != "test/secret" {
			t.Errorf("Error.Method = %q", ce.Method)
		}
		_, err = s.Call(ctx, "test/typed", map[string]any{"l": 1.5, "zzz": 1})
		if ce := wantSDKError(t, "bad parameters", err, qconnect.CodeInvalidParams, 422); len(ce.Details) != 2 {
			t.Errorf("invalidParams details %q, want one per problem (l, zzz)", ce.Details)
		}
		_, err = s.Call(ctx, "test/nope", nil)
		wantSDKError(t, "unknown method", err, qconnect.CodeUnknownMethod, 404)
		_, err = s.Stream(ctx, "test/typed", map[string]any{"colour": "blue"}, client.FormatCSV)
		wantSDKError(t, "bad parameters (Stream)", err, qconnect.CodeInvalidParams, 422)
		bob, err := c.Login(ctx, "bob", "bob-password")
		if err != nil {
			t.Fatal(err)
		}
		_, err = bob.Call(ctx, "test/rows", map[string]any{"n": 1})
		wantSDKError(t, "bob without grants", err, qconnect.CodeForbidden, 403)
		_ = bob.Logout(ctx)
	})

	t.Run("Stream every format", func(t *testing.T) {
		if typed == nil {
			t.Skip("needs the typed call")
		}
		for _, f := range sdkFormats {
			st, err := s.Stream(ctx, "test/allTypes", map[string]any{"n": 300}, f)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if st.ContentType() != f {
				t.Errorf("%s: content type %q", f, st.ContentType())
			}
			data, err := io.ReadAll(st)
			if cerr := st.Close(); err != nil || cerr != nil {
				t.Fatalf("%s: read %v, close %v", f, err, cerr)
			}
			sameRows(t, f+" stream vs Call", streamBody(t, f, data, allTypesCols), typed.Rows)
		}
	})

	if err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = s.Ping(ctx)
	wantSDKError(t, "ping after logout", err, qconnect.CodeInvalidSession, 401)
}

// TestSDKMidStreamFailure: a backend error after rows were sent makes the
// SDK's Call and every Stream fail; the partial result is never a success.
func TestSDKMidStreamFailure(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	s := sdkSession(t, g, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	params := map[string]any{"ok": 300000}
	notStreaming := "the gateway answered HTTP %d before any row: the engine does not stream results yet, so the failure after rows cannot be tested"

	_, err := s.Call(ctx, "test/midFail", params)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status != 200 {
		t.Fatalf(notStreaming, ce.Status)
	}
	wantSDKError(t, "Call", err, qconnect.CodeAnalyticError, 200)
	for _, f := range sdkFormats {
		t.Run(f, func(t *testing.T) {
			st, err := s.Stream(ctx, "test/midFail", params, f)
			var ce *client.Error
			if errors.As(err, &ce) && ce.Status != 200 {
				t.Fatalf(notStreaming, ce.Status)
			}
			if err != nil {
				t.Fatal(err)
			}
			n, rerr := io.Copy(io.Discard, st)
			cerr := st.Close()
			if n == 0 || rerr == nil || cerr == nil {
				t.Fatalf("read %d bytes, read error %v, Close %v: want rows, then the failure from both", n, rerr, cerr)
			}
			if f == client.FormatArrow {
				if !errors.Is(cerr, client.ErrIncomplete) {
					t.Fatalf("Close = %v, want ErrIncomplete for the cut Arrow stream", cerr)
				}
				return
			}
			wantSDKError(t, "Close", cerr, qconnect.CodeAnalyticError, 200)
		})
	}
}

// TestBusyPerUser: with max-concurrent-per-user 1 (from the config file) a
// user's second call while the first runs is busy (503, Retry-After), while
// another user is served.
func TestBusyPerUser(t *testing.T) {
	t.Parallel()
	users := makeUsers(t, "groups:\n  analysts:\n    allow: [test]\n", [2]string{"alice", "analysts"}, [2]string{"carol", "analysts"})
	cfg := filepath.Join(t.TempDir(), "qconnect.yaml")
	if err := os.WriteFile(cfg, []byte("max-concurrent-per-user: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := testenv.StartGateway(t, "--demo=true", "--catalog", filepath.Join("e2e", "testdata", "catalog.yaml"), "--users", users, "--config", cfg)
	alice, carol := login(t, g, "alice", "alice-password"), login(t, g, "carol", "carol-password")
	aliceSDK := sdkSession(t, g, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// alice's slow call (it runs until its 4 s timeout) takes her only slot.
	r, done := slotHeld(t, func() bool {
		_, err := aliceSDK.Call(ctx, "test/slowish", nil)
		var ce *client.Error
		return errors.As(err, &ce) && ce.Code == qconnect.CodeBusy
	}, func() *result { return alice.call("/connect/api/test/rows", []any{map[string]any{"n": 1}}) })
	expect(t, "alice's second call", r, 503, "busy")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("busy with Retry-After %q, want a number of seconds", r.Header.Get("Retry-After"))
	}
	expect(t, "carol while alice is busy", carol.call("/connect/api/test/rows", []any{map[string]any{"n": 1}}), 200, "")
	_, err := aliceSDK.Call(ctx, "test/rows", map[string]any{"n": 1})
	if ce := wantSDKError(t, "SDK call while busy", err, qconnect.CodeBusy, 503); ce.RetryAfter < time.Second {
		t.Errorf("client.Error.RetryAfter = %v", ce.RetryAfter)
	}
	<-done
	expect(t, "alice after her call ended", alice.call("/connect/api/test/rows", []any{map[string]any{"n": 1}}), 200, "")
}

// TestTimeoutMidStream: a method's timeout that strikes after rows were
// sent is reported in the body as timeout (NDJSON status line, CSV trailer).
func TestTimeoutMidStream(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	alice := login(t, g, "alice", "alice-password")
	cols := []qconnect.Column{{Name: "i", Type: qconnect.Long}, {Name: "h", Type: qconnect.String}}
	// The two formats run at once (each waits out the 3 s timeout).
	var wg sync.WaitGroup
	for _, accept := range []string{acceptNDJSON, acceptCSV} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			b := alice.fetch("/connect/api/test/pacedShort", nil, accept)
			if b.status != 200 {
				t.Errorf("%s: HTTP %d before any row (%.300s): the engine does not stream results yet, so a timeout after rows cannot be tested", accept, b.status, b.data)
				return
			}
			if el := time.Since(start); el < 3*time.Second || el > 20*time.Second {
				t.Errorf("%s: the call took %v; its timeout is 3s", accept, el)
			}
			rows, meta, code := decodeAny(t, accept, b, cols)
			if len(rows) == 0 || code != "timeout" || meta.RowCount != int64(len(rows)) {
				t.Errorf("%s: %d rows, outcome %q, meta %+v; want rows then timeout", accept, len(rows), code, meta)
			}
		}()
	}
	wg.Wait()
}

// logLine waits up to 10 s for a log line of the gateway that matches the
// pattern, and returns it.
func logLine(t *testing.T, g *testenv.Gateway, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	var line string
	waitFor(t, "the log line "+pattern, func() bool {
		line = re.FindString(g.Stderr())
		return line != ""
	})
	return line
}

// notBusyWithin polls a small call until it is served (200), for up to d,
// and returns how long that took.
func notBusyWithin(t *testing.T, s *session, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := s.call("/connect/api/test/rows", []any{map[string]any{"n": 1}})
		if r.Status == 200 {
			return time.Since(start)
		}
		if r.Status != 503 || time.Since(start) > d {
			t.Fatalf("the call slot was not released within %v: %d %s", d, r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClientGoneCancels(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t, "--max-concurrent", "1")
	alice := login(t, g, "alice", "alice-password")

	t.Run("before the first row", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		// The query is running once it holds the only call slot.
		_, done := slotHeld(t, func() bool {
			resp, err := alice.openCtx(ctx, "/connect/api/test/slowLong", nil, acceptJSON)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			return resp.StatusCode == 503
		}, func() *result { return alice.call("/connect/api/test/rows", []any{map[string]any{"n": 1}}) })
		cancel()
		<-done
		took := notBusyWithin(t, alice, 10*time.Second)
		// The slot is freed when the handler returns, which waits for the
		// interrupted query; the log line says how long the call lasted
		// (slowLong computes for minutes unless it is interrupted).
		line := logLine(t, g, `path=/connect/api/test/slowLong [^\n]*`)
		ms, _ := strconv.ParseFloat(regexp.MustCompile(`ms=([0-9.]+)`).FindStringSubmatch(line)[1], 64)
		if ms > 15000 {
			t.Errorf("the cancelled call lasted %v ms: %s", ms, line)
		}
		t.Logf("slot free %v after the disconnect; %s", took, line)
	})

	t.Run("mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := alice.openCtx(ctx, "/connect/api/test/paced", nil, acceptNDJSON)
		if err != nil {
			t.Fatalf("no response within 20 s (%v): the engine does not stream the first rows of a long result", err)
		}
		buf := make([]byte, 4096)
		if n, err := io.ReadAtLeast(resp.Body, buf, 100); err != nil || !strings.HasPrefix(string(buf[:n]), `{"i":0,`) {
			t.Fatalf("first bytes %q, %v", buf[:n], err)
		}
		cancel() // the client goes away mid-stream
		resp.Body.Close()
		took := notBusyWithin(t, alice, 10*time.Second)
		line := logLine(t, g, `path=/connect/api/test/paced [^\n]*code=clientGone[^\n]*`)
		t.Logf("slot free %v after the disconnect; %s", took, line)
	})
}
