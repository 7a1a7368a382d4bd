package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qconnect/qconnect/internal/testenv/browser"
)

// chromium starts one headless Debian Chromium for the test (a fresh
// profile, 1366x768, everything bounded by two minutes) and returns its
// tab's context.
func chromium(t *testing.T) context.Context { return browser.New(t, 2*time.Minute) }

// pageExceptions collects uncaught exceptions and CSP violations of the
// page (at most 100). Failed HTTP statuses are expected here (403, 422) and
// not collected.
type pageExceptions struct {
	mu   sync.Mutex
	list []string
}

func watchExceptions(ctx context.Context) *pageExceptions {
	p := &pageExceptions{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				p.mu.Lock()
				if len(p.list) < 100 {
					p.list = append(p.list, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m.Text))
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *pageExceptions) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %.120s: %v", expr, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// callOutcome is what a Try-it form shows after Call.
type callOutcome struct {
	Summary string     `json:"summary"`
	Code    string     `json:"code"`
	Status  string     `json:"status"`
	Message string     `json:"message"`
	Details []string   `json:"details"`
	Headers []string   `json:"headers"`
	Rows    [][]string `json:"rows"`
	Stray   []string   `json:"stray"` // text directly in the result box: a rendering slip
}

// callForm clicks the form's Call button and waits for its result.
func callForm(t *testing.T, ctx context.Context, method string) callOutcome {
	t.Helper()
	form := `form[data-method="` + method + `"]`
	js[bool](t, ctx, `(() => { document.querySelector('`+form+` .result').replaceChildren(); return true; })()`)
	do(t, ctx, "click Call of "+method, chromedp.Click(chromedp.CSS(form+" button.call")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('`+form+` .result .result-summary, `+form+` .result .error') !== null`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("%s: no result within 30 s: %v", method, err)
	}
	out := js[callOutcome](t, ctx, `(() => {
		const box = document.querySelector('`+form+` .result');
		const text = (sel) => { const e = box.querySelector(sel); return e ? e.textContent.trim() : ''; };
		return {
			summary: text('.result-summary'), code: text('.error-code'), status: text('.error-status'),
			message: text('.error-message'),
			details: [...box.querySelectorAll('.error-details li')].map(e => e.textContent),
			headers: [...box.querySelectorAll('table.result-table thead th')].map(e => e.textContent),
			rows: [...box.querySelectorAll('table.result-table tbody tr')].map(r => [...r.cells].map(c => c.textContent)),
			stray: [...box.childNodes].filter(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== '').map(n => n.textContent),
		};
	})()`)
	if len(out.Stray) > 0 {
		t.Errorf("%s: stray text in the result: %q", method, out.Stray)
	}
	return out
}

// TestBrowserDocs uses the docs page the way a person does, in Debian's
// Chromium against the real gateway: log in, call getMem with a form
// parameter and read the rows, be refused a forbidden method and bad
// parameters, log out. The page signs in the browser (its own MD5 and
// WebCrypto HMAC-SHA1), so a success here is also a signature the server
// accepted.
func TestBrowserDocs(t *testing.T) {
	t.Parallel()
	ctx := chromium(t)
	g, _ := testGateway(t)
	exc := watchExceptions(ctx)
	do(t, ctx, "load the docs page", chromedp.Navigate(g.URL+"/connect/index.html"))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.qconnect !== undefined`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page script did not start: %v; exceptions: %v", err, exc.get())
	}
	js[bool](t, ctx, `(() => { for (const d of document.querySelectorAll("details.try-it")) d.open = true; return true; })()`)
	if js[bool](t, ctx, `!document.querySelector('form[data-method="monPublic/getMem"] button.call').disabled`) {
		t.Fatal("Call is enabled before login")
	}

	do(t, ctx, "log in",
		chromedp.SendKeys(chromedp.ID("login-username"), "alice"),
		chromedp.SendKeys(chromedp.ID("login-password"), "alice-password"),
		chromedp.Click(chromedp.ID("login-submit")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#session").hidden`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#login-status").textContent`))
		t.Fatalf("login did not complete: %v; the page says %q", err, status)
	}
	if u := js[string](t, ctx, `document.querySelector("#session-user").textContent`); u != "alice" {
		t.Errorf("signed in as %q", u)
	}
	if js[string](t, ctx, `document.querySelector("#login-password").value`) != "" {
		t.Error("the password stays in the form after login")
	}
	// The session id lives in a script variable only.
	if stored := js[string](t, ctx, `JSON.stringify([localStorage.length, sessionStorage.length, document.cookie, location.href])`); stored != `[0,0,"","`+g.URL+`/connect/index.html"]` {
		t.Errorf("the page stored something: %s", stored)
	}

	// getMem with syms typed into its form: an hour of 10 s samples of one server.
	do(t, ctx, "type syms", chromedp.SendKeys(chromedp.CSS(`form[data-method="monPublic/getMem"] [data-param="syms"]`), "server_A"))
	out := callForm(t, ctx, "monPublic/getMem")
	if out.Code != "" {
		t.Fatalf("getMem failed: %s%s %s %v", out.Code, out.Status, out.Message, out.Details)
	}
	m := regexp.MustCompile(`^(\d+) rows$`).FindStringSubmatch(out.Summary)
	if m == nil {
		t.Fatalf("summary %q, want \"N rows\"", out.Summary)
	}
	n, _ := strconv.Atoi(m[1])
	if n < 300 || n > 361 || len(out.Rows) != n {
		t.Errorf("%d rows (%d drawn); one hour of 10 s samples of one server is about 360", n, len(out.Rows))
	}
	if strings.Join(out.Headers, ",") != "time,sym,usedMB,freeMB,cpuLoad" {
		t.Errorf("columns %v", out.Headers)
	}
	for i, r := range out.Rows {
		if len(r) != 5 || r[1] != "server_A" {
			t.Fatalf("row %d = %v, want server_A only", i, r)
		}
		if _, err := time.Parse(time.RFC3339Nano, r[0]); err != nil {
			t.Fatalf("row %d: time %q is not RFC 3339", i, r[0])
		}
	}
	if js[int](t, ctx, `document.querySelectorAll('form[data-method="monPublic/getMem"] button.download-csv').length`) != 1 {
		t.Error("no Download CSV button after a result")
	}
	if dir := t.ArtifactDir(); dir != "" {
		js[bool](t, ctx, `(() => { document.querySelector('form[data-method="monPublic/getMem"] .result').scrollIntoView(); return true; })()`)
		if shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
			t.Errorf("screenshot: %v", err)
		} else if err := os.WriteFile(filepath.Join(dir, "docs-getMem.png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}

	// alice's group denies test/secret.
	out = callForm(t, ctx, "test/secret")
	if out.Code != "forbidden" || out.Status != "HTTP 403" || out.Message == "" {
		t.Errorf("test/secret: %+v, want forbidden HTTP 403 with a message", out)
	}

	// A bad parameter comes back as invalidParams with one detail per problem.
	do(t, ctx, "set n", chromedp.SetValue(chromedp.CSS(`form[data-method="test/rows"] [data-param="n"]`), "-1"))
	out = callForm(t, ctx, "test/rows")
	if out.Code != "invalidParams" || out.Status != "HTTP 422" || len(out.Details) == 0 || !strings.HasPrefix(out.Details[0], "n") {
		t.Errorf("test/rows n=-1: %+v, want invalidParams naming n", out)
	}
	// and a good one gives rows, cut at the method's row cap.
	do(t, ctx, "set n", chromedp.SetValue(chromedp.CSS(`form[data-method="test/rows"] [data-param="n"]`), "25"))
	if out = callForm(t, ctx, "test/rows"); out.Summary != "10 rows (truncated)" {
		t.Errorf("test/rows n=25: summary %q, want \"10 rows (truncated)\" (row cap 10)", out.Summary)
	}

	do(t, ctx, "log out", chromedp.Click(chromedp.ID("logout")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#login-form").hidden`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("logout did not complete: %v", err)
	}
	if !js[bool](t, ctx, `window.qconnect.username() === null && [...document.querySelectorAll("form.try button.call")].every(b => b.disabled)`) {
		t.Error("after logout the page still holds a session or enables Call")
	}
	if e := exc.get(); len(e) > 0 {
		t.Errorf("the page threw or violated its CSP: %v", e)
	}
}
