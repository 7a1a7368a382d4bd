package apidoc

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/qconnect/qconnect/internal/testenv"
	tbrowser "github.com/qconnect/qconnect/internal/testenv/browser"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests run the page's own script in Debian's Chromium: MD5,
// WebCrypto HMAC-SHA1 and the Authorization value against the shared
// signing vectors, the CSV builder, the form reader and the layout.
const browserTimeout = 90 * time.Second

// browser starts one headless Chromium for the test, bounded by
// browserTimeout, and returns its tab's context.
func browser(t *testing.T) context.Context { return tbrowser.New(t, browserTimeout) }

// console collects what the page logs, at most 200 messages.
type console struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *console {
	c := &console{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			if len(c.msgs) < 200 {
				c.msgs = append(c.msgs, m)
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *console) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") {
			out = append(out, fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, m.Text))
		}
	}
	return out
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %.200s: %v", expr, err)
	}
	return v
}

func jsLiteral(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type vector = testenv.SigningVector

func TestBrowser(t *testing.T) {
	raw, err := os.ReadFile(testenv.SigningVectorsPath())
	if err != nil {
		t.Fatalf("reading the signing vectors: %v", err)
	}
	var vectors struct{ Cases []vector }
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors.Cases) < 5 {
		t.Fatalf("only %d signing vectors", len(vectors.Cases))
	}

	ctx := browser(t)
	cat := handCatalog(t)
	docs := newDocs(t, cat, Options{ProtocolDoc: []byte("# Protocol\n")})
	pub, _ := cat.Lookup("marketData", "publishTrade")
	gw := &fakeGateway{username: "tester", sessionID: exampleSession, publishPath: pub.Path()}
	srv := httptest.NewServer(gw.handler(docs.Handler()))
	t.Cleanup(srv.Close)
	con := watchConsole(ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+indexPath)); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.qconnect !== undefined && document.readyState === "complete"`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page script did not start (CSP, module loading?): %v; console: %v", err, con.problems())
	}

	t.Run("signing vectors", func(t *testing.T) {
		for _, v := range vectors.Cases {
			in := map[string]string{"verb": v.Verb, "path": v.Path, "username": v.Username,
				"body": v.Body, "contentType": v.ContentType, "date": v.Date}
			got := eval[vector](t, ctx, fmt.Sprintf("window.qconnect.sign(%s, %s)", jsLiteral(t, in), jsLiteral(t, v.SessionID)))
			if got.BodyMD5 != v.BodyMD5 {
				t.Errorf("%s: bodyMd5 %s, want %s", v.Name, got.BodyMD5, v.BodyMD5)
			}
			if got.StringToSign != v.StringToSign {
				t.Errorf("%s: stringToSign %q, want %q", v.Name, got.StringToSign, v.StringToSign)
			}
			if got.Signature != v.Signature {
				t.Errorf("%s: signature %s, want %s", v.Name, got.Signature, v.Signature)
			}
			if got.Authorization != v.Authorization {
				t.Errorf("%s: authorization %s, want %s", v.Name, got.Authorization, v.Authorization)
			}
		}
	})

	t.Run("md5", func(t *testing.T) {
		// Every length around the 56- and 64-byte padding boundaries, a few
		// large inputs, random bytes, checked against crypto/md5.
		rng := rand.New(rand.NewPCG(1, 2))
		var inputs [][]byte
		for n := 0; n <= 200; n++ {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			inputs = append(inputs, b)
		}
		for _, n := range []int{1000, 4095, 4096, 65537, 300000} {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			inputs = append(inputs, b)
		}
		enc := make([]string, len(inputs))
		for i, b := range inputs {
			enc[i] = base64.StdEncoding.EncodeToString(b)
		}
		got := eval[[]string](t, ctx, "("+jsLiteral(t, enc)+
			").map(s => window.qconnect.md5(Uint8Array.from(atob(s), c => c.charCodeAt(0))))")
		if len(got) != len(inputs) {
			t.Fatalf("%d digests for %d inputs", len(got), len(inputs))
		}
		for i, b := range inputs {
			sum := md5.Sum(b)
			if want := hex.EncodeToString(sum[:]); got[i] != want {
				t.Errorf("md5 of %d bytes: %s, want %s", len(b), got[i], want)
			}
		}
		for _, s := range []string{"", "abc", "message digest", "日本 ÉDF.PA \u2028 😀"} {
			sum := md5.Sum([]byte(s))
			if got := eval[string](t, ctx, "window.qconnect.md5("+jsLiteral(t, s)+")"); got != hex.EncodeToString(sum[:]) {
				t.Errorf("md5(%q) = %s, want %x (UTF-8 bytes)", s, got, sum)
			}
		}
	})

	t.Run("csv", func(t *testing.T) {
		cols := []string{"sym", "note", "n", "ok"}
		rows := []map[string]any{
			{"sym": "a,b", "note": `say "hi"`, "n": 1.5, "ok": true},
			{"sym": "line\nbreak", "note": nil, "n": -2, "ok": false},
			{"sym": "日本", "note": "plain", "n": nil, "ok": nil},
		}
		got := eval[string](t, ctx, fmt.Sprintf("window.qconnect.toCSV(%s, %s)", jsLiteral(t, cols), jsLiteral(t, rows)))
		// Read back with encoding/csv, an independent RFC 4180 reader.
		recs, err := csv.NewReader(strings.NewReader(got)).ReadAll()
		if err != nil {
			t.Fatalf("toCSV wrote unreadable CSV %q: %v", got, err)
		}
		want := [][]string{cols, {"a,b", `say "hi"`, "1.5", "true"}, {"line\nbreak", "", "-2", "false"}, {"日本", "plain", "", ""}}
		if fmt.Sprint(recs) != fmt.Sprint(want) {
			t.Errorf("toCSV %q reads back as %q, want %q", got, recs, want)
		}
		if !strings.HasPrefix(got, "sym,note,n,ok\r\n") || !strings.HasSuffix(got, "\r\n") {
			t.Errorf("toCSV %q: records must end in CRLF", got)
		}
	})

	t.Run("forms", func(t *testing.T) {
		type read struct {
			Params   map[string]any `json:"params"`
			Problems []string       `json:"problems"`
		}
		got := eval[read](t, ctx, `window.qconnect.readParams(document.querySelector('form[data-method="monPublic/allTypes"]'))`)
		if len(got.Problems) != 0 {
			t.Errorf("the prefilled allTypes form has problems: %v", got.Problems)
		}
		for name, want := range map[string]any{"flag": true, "count": 3.0, "ratio": 0.25, "label": "exam", "side": "buy",
			"day": nil, "ids": []any{10.0}, "tags": []any{"a'b", "c"}, "window": "1h"} {
			g, ok := got.Params[name]
			if !ok {
				t.Errorf("readParams left out %s", name)
				continue
			}
			if want != nil && fmt.Sprint(g) != fmt.Sprint(want) {
				t.Errorf("readParams %s = %#v, want %#v", name, g, want)
			}
		}
		if _, ok := got.Params["maybe"]; ok {
			t.Error("an unset optional boolean was sent")
		}
		// Timestamps are prefilled relative to the browser clock.
		until, _ := got.Params["until"].(string)
		ts, err := time.Parse(time.RFC3339, until)
		if err != nil || time.Since(ts) > 2*time.Minute || time.Until(ts) > time.Minute {
			t.Errorf("until = %q, want now in RFC 3339", until)
		}
		bad := eval[read](t, ctx, `(() => {
			const f = document.querySelector('form[data-method="monPublic/allTypes"]');
			f.querySelector('[data-param="count"]').value = '';
			f.querySelector('[data-param="ids"]').value = '1, x';
			return window.qconnect.readParams(f);
		})()`)
		if len(bad.Problems) != 2 || !strings.Contains(strings.Join(bad.Problems, "|"), "count is required") ||
			!strings.Contains(strings.Join(bad.Problems, "|"), `ids: "x" is not an integer`) {
			t.Errorf("problems = %q, want count required and ids not an integer", bad.Problems)
		}
	})

	t.Run("page", func(t *testing.T) {
		n := eval[int](t, ctx, `document.querySelectorAll("article.method").length`)
		if n != len(cat.Methods) {
			t.Errorf("%d method cards, want %d", n, len(cat.Methods))
		}
		if d := eval[bool](t, ctx, `[...document.querySelectorAll("form.try button.call")].every(b => b.disabled)`); !d {
			t.Error("Call buttons are enabled before login")
		}
		visible := eval[[]string](t, ctx, `(() => {
			const f = document.querySelector("#filter");
			f.value = "getmem";
			f.dispatchEvent(new Event("input"));
			const out = [...document.querySelectorAll(".toc-method:not([hidden]), article.method:not([hidden])")].map(e => e.tagName);
			f.value = "";
			f.dispatchEvent(new Event("input"));
			return out;
		})()`)
		if strings.Join(visible, ",") != "LI,ARTICLE" {
			t.Errorf("filtering for getmem leaves %v visible, want one sidebar entry and one card", visible)
		}
		layout := eval[map[string]float64](t, ctx, `(() => {
			const s = document.querySelector(".sidebar").getBoundingClientRect();
			const m = document.querySelector("main").getBoundingClientRect();
			return {sidebar: s.width, sidebarRight: s.right, mainLeft: m.left, mainWidth: m.width,
				scroll: document.documentElement.scrollWidth, inner: window.innerWidth};
		})()`)
		if layout["inner"] != 1366 {
			t.Logf("viewport is %v wide, not 1366", layout["inner"])
		}
		if layout["sidebar"] > 320 || layout["mainLeft"] < layout["sidebarRight"] || layout["mainWidth"] < 700 {
			t.Errorf("at 1366 px the sidebar and the main column do not sit side by side: %v", layout)
		}
		if layout["scroll"] > layout["inner"] {
			t.Errorf("the page scrolls sideways: %v", layout)
		}
		// Screenshots at 1366x768 for a human look: go test ./apidoc -run TestBrowser -artifacts -outputdir DIR
		if dir := t.ArtifactDir(); dir != "" {
			eval[bool](t, ctx, `(() => { for (const d of document.querySelectorAll("details.try-it")) d.open = true; return true; })()`)
			for name, sel := range map[string]string{"top": "#top", "method": "#m-monPublic-getMem h4:nth-of-type(3)",
				"try": "#m-monPublic-allTypes details.try-it", "publish": "#m-marketData-publishTrade details.try-it"} {
				eval[bool](t, ctx, `(() => { document.querySelector(`+jsLiteral(t, sel)+`).scrollIntoView(); return true; })()`)
				shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "apidoc-"+name+".png"), shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	})

	// Last: it logs in, which the checks above assume has not happened.
	t.Run("publish form", func(t *testing.T) {
		testPublishForm(t, ctx, gw, loadOpenAPI(t, docs.OpenAPI()), pub)
	})

	if p := con.problems(); len(p) > 0 {
		t.Errorf("the page logged errors: %v", p)
	}
}
