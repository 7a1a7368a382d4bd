package apidoc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// fakeGateway answers the two endpoints the publish Try-it form talks to,
// login and one publishing method, beside the docs handler. It is a fake:
// the real gateway (package server, with a DuckDB backend) belongs to
// another package and cannot run here; e2e/ drives the page against it. It
// checks what only the page decides: the signature and the body it sends.
type fakeGateway struct {
	username, sessionID string
	publishPath         string

	mu   sync.Mutex
	last *publishRequest // the last publish received
}

type publishRequest struct {
	contentType, authorization string
	body                       []byte
}

func (g *fakeGateway) handler(docs http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", docs)
	reply := func(w http.ResponseWriter, typ string, msg any) {
		w.Header().Set("Content-Type", contentType)
		json.NewEncoder(w).Encode(map[string]any{"type": typ, "id": "x", "date": exampleDate, "msg": msg, "success": true})
	}
	mux.HandleFunc("POST /connect/api/auth/login", func(w http.ResponseWriter, r *http.Request) {
		reply(w, "LoginResp", []any{map[string]any{"sessionId": g.sessionID, "username": g.username,
			"idleTimeout": 1800, "expires": "Sat, 27 Jul 2019 04:59:00 GMT"}})
	})
	mux.HandleFunc("POST "+g.publishPath, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		g.mu.Lock()
		g.last = &publishRequest{contentType: r.Header.Get("Content-Type"), authorization: r.Header.Get("Authorization"), body: b}
		g.mu.Unlock()
		var env struct{ Msg []struct{ Rows []any } }
		n := 0
		if json.Unmarshal(b, &env) == nil && len(env.Msg) == 1 {
			n = len(env.Msg[0].Rows)
		}
		reply(w, "publishTradeResp", []any{map[string]int{"rows": n}})
	})
	return mux
}

func (g *fakeGateway) lastPublish() *publishRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// testPublishForm checks the publish Try-it form of marketData/publishTrade:
// readRows turns the prefilled textarea into msg [{"rows": <example rows>}]
// and names each mistake; after a login, the Publish button sends that msg
// in a signed envelope the request schema accepts, and shows "N rows
// published".
func testPublishForm(t *testing.T, ctx context.Context, g *fakeGateway, doc *openapi3.T, m *qconnect.Method) {
	form := `document.querySelector('form[data-method="` + m.FullName() + `"]')`
	type read struct {
		Msg      json.RawMessage `json:"msg"`
		Problems []string        `json:"problems"`
	}
	rows, err := exampleRows(m)
	if err != nil {
		t.Fatal(err)
	}
	rowsJS, _ := marshal(rows, false)
	wantMsg := `[{"rows":` + string(rowsJS) + `}]`
	got := eval[read](t, ctx, `window.qconnect.readRows(`+form+`)`)
	if len(got.Problems) != 0 || !jsonEqual(got.Msg, []byte(wantMsg)) {
		t.Errorf("readRows of the prefilled form = %s %v, want %s", got.Msg, got.Problems, wantMsg)
	}
	for text, want := range map[string]string{
		`{"sym":"AAPL"}`:                      "rows: write a JSON array",
		`[]`:                                  "at least one row",
		`[{"sym":"AAPL"}, 5]`:                 "rows[1]: must be an object",
		`[{"sym": "AAPL"`:                     "not valid JSON",
		`[{"size": 9007199254740993}]`:        "size: 9007199254740993 is too large",
		`[{"sym":"AAPL"}, {"sym":null}, [1]]`: "rows[2]: must be an object",
	} {
		bad := eval[read](t, ctx, `(() => {
			const f = `+form+`;
			const ta = f.querySelector('[data-rows]');
			const keep = ta.value;
			ta.value = `+jsLiteral(t, text)+`;
			const out = window.qconnect.readRows(f);
			ta.value = keep;
			return out;
		})()`)
		if string(bad.Msg) != "null" || !strings.Contains(strings.Join(bad.Problems, "|"), want) {
			t.Errorf("readRows(%s) = %s %q, want no msg and a problem %q", text, bad.Msg, bad.Problems, want)
		}
	}

	// Log in through the page, then publish the prefilled rows.
	eval[bool](t, ctx, `(() => {
		document.querySelector('#login-username').value = `+jsLiteral(t, g.username)+`;
		document.querySelector('#login-password').value = 'pw';
		document.querySelector('#login-form').requestSubmit();
		return true;
	})()`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector('#session').hidden && !`+form+`.querySelector('button.call').disabled`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the page did not log in: %v", err)
	}
	eval[bool](t, ctx, `(() => { `+form+`.querySelector('button.call').click(); return true; })()`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](form+`.querySelector('.result .result-summary, .result .error') !== null`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("no result after Publish: %v", err)
	}
	if s := eval[string](t, ctx, form+`.querySelector('.result').textContent`); !strings.HasPrefix(s, "2 rows published") {
		t.Errorf("the result reads %q, want 2 rows published", s)
	}

	req := g.lastPublish()
	if req == nil {
		t.Fatal("the form sent no publish request")
	}
	env, err := protocol.ParseRequest(req.body)
	if err != nil || env.Type != m.Name+"Req" {
		t.Fatalf("the body is not a %sReq envelope: %v %s", m.Name, err, req.body)
	}
	var body any
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatal(err)
	}
	s, _ := requestSchema(t, doc, m.Path())
	if err := validate(doc, s, body); err != nil {
		t.Errorf("the sent body does not satisfy the request schema: %v\n%s", err, req.body)
	}
	msg, _ := json.Marshal(env.Msg)
	if !jsonEqual(msg, []byte(wantMsg)) {
		t.Errorf("sent msg %s, want %s", msg, wantMsg)
	}
	cred, err := protocol.ParseAuthorization(req.authorization)
	in := protocol.SignInput{Verb: "POST", Path: m.Path(), Username: g.username,
		BodyMD5: protocol.BodyMD5(req.body), ContentType: req.contentType, Date: env.Date}
	if err != nil || cred.Username != g.username || cred.Suffix != protocol.Suffix(g.sessionID) ||
		req.contentType != contentType || !protocol.Verify(in, g.sessionID, cred.Signature) {
		t.Errorf("the publish is not signed as PROTOCOL 3.1 says: Authorization %q, Content-Type %q (%v)", req.authorization, req.contentType, err)
	}
}
