package e2e

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	jsclient "github.com/qconnect/qconnect/clients/js"
	"github.com/qconnect/qconnect/internal/testenv"
)

// pageShot saves the page as test-artifacts/<name>.png when the test runs
// with -artifacts.
func pageShot(t *testing.T, ctx context.Context, name, selector string) {
	t.Helper()
	dir := t.ArtifactDir()
	if dir == "" {
		return
	}
	js[bool](t, ctx, `(() => { document.querySelector(`+strconv.Quote(selector)+`).scrollIntoView({block: "start"}); return true; })()`)
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		t.Error(err)
	}
}

// waitJS polls a JavaScript condition.
func waitJS(t *testing.T, ctx context.Context, what, cond string, d time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(d))); err != nil {
		t.Fatalf("%s: not within %s: %v", what, d, err)
	}
}

// TestBrowserChartsAndLive uses the docs page in Chromium against the demo
// gateway, through the JavaScript SDK the page loads from /connect/assets/sdk/:
// getMem draws a uPlot chart with one line per server beside its table;
// getBars draws candles; monPublic/sub streams live rows with their seq into
// the table and the chart until Unsubscribe. Download CSV neutralises
// formulas unless the opt-out is checked.
func TestBrowserChartsAndLive(t *testing.T) {
	t.Parallel()
	ctx := chromium(t)
	g := testenv.StartGateway(t)
	exc := watchExceptions(ctx)
	do(t, ctx, "load the docs page", chromedp.Navigate(g.URL+"/connect/index.html"))
	waitJS(t, ctx, "the page script", `window.qconnect !== undefined && window.qconnect.sdk !== undefined`, 20*time.Second)
	js[bool](t, ctx, `(() => { for (const d of document.querySelectorAll("details.try-it")) d.open = true; return true; })()`)
	// Demo mode prefills the login box: replace its text, not append to it.
	js[bool](t, ctx, `(() => { for (const id of ["login-username", "login-password"]) document.getElementById(id).value = ""; return true; })()`)
	do(t, ctx, "log in",
		chromedp.SendKeys(chromedp.ID("login-username"), "kxSupport"),
		chromedp.SendKeys(chromedp.ID("login-password"), "12345678"),
		chromedp.Click(chromedp.ID("login-submit")))
	waitJS(t, ctx, "login", `!document.querySelector("#session").hidden`, 20*time.Second)

	t.Run("getMem chart", func(t *testing.T) {
		out := callForm(t, ctx, "monPublic/getMem")
		if out.Code != "" {
			t.Fatalf("getMem failed: %+v", out)
		}
		const form = `form[data-method="monPublic/getMem"]`
		waitJS(t, ctx, "the chart", `(() => { const c = document.querySelector('`+form+` .chart'); return c !== null && c.dataset.series !== "0" && c.querySelector("canvas") !== null; })()`, 20*time.Second)
		type chart struct {
			Kind     string   `json:"kind"`
			Series   int      `json:"series"`
			Legend   []string `json:"legend"`
			Syms     []string `json:"syms"`
			Canvas   []int    `json:"canvas"`
			Measures []string `json:"measures"`
		}
		c := js[chart](t, ctx, `(() => {
			const f = document.querySelector('`+form+`');
			const c = f.querySelector('.chart');
			const cv = c.querySelector('canvas');
			return {kind: c.dataset.kind, series: Number(c.dataset.series),
				legend: [...c.querySelectorAll('.u-legend .u-series')].slice(1).map(e => e.textContent.trim()),
				syms: [...new Set([...f.querySelectorAll('table.result-table tbody tr')].map(r => r.cells[1].textContent))].sort(),
				canvas: [cv.width, cv.height],
				measures: [...c.querySelectorAll('.chart-select option')].map(o => o.value)};
		})()`)
		if c.Kind != "lines" || len(c.Syms) < 2 || c.Series != len(c.Syms) || len(c.Legend) != len(c.Syms) {
			t.Errorf("chart %+v: want one line per symbol of the table", c)
		}
		for i, s := range c.Syms {
			if i < len(c.Legend) && !strings.HasPrefix(c.Legend[i], s) {
				t.Errorf("legend %q, want the symbols %q", c.Legend, c.Syms)
				break
			}
		}
		if c.Canvas[0] < 300 || c.Canvas[1] < 150 {
			t.Errorf("canvas %v is too small", c.Canvas)
		}
		if strings.Join(c.Measures, ",") != "usedMB,freeMB,cpuLoad" {
			t.Errorf("measures %v", c.Measures)
		}
		// The chart draws pixels: some of the canvas is not blank.
		if painted := js[int](t, ctx, `(() => {
			const cv = document.querySelector('`+form+` .chart canvas');
			const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
			let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++; return n; })()`); painted < 1000 {
			t.Errorf("only %d painted pixels on the chart", painted)
		}
		pageShot(t, ctx, "docs-chart-getMem", form+" .result")
	})

	t.Run("getBars candles", func(t *testing.T) {
		out := callForm(t, ctx, "marketData/getBars")
		if out.Code != "" {
			t.Fatalf("getBars failed: %+v", out)
		}
		waitJS(t, ctx, "the candles", `(() => { const c = document.querySelector('form[data-method="marketData/getBars"] .chart'); return c !== null && c.dataset.kind === "candles" && c.dataset.series === "1" && Number(c.dataset.points) > 0; })()`, 20*time.Second)
		pageShot(t, ctx, "docs-chart-getBars", `form[data-method="marketData/getBars"] .result`)
	})

	t.Run("live subscription", func(t *testing.T) {
		const form = `form[data-method="monPublic/sub"]`
		do(t, ctx, "type syms", chromedp.SendKeys(chromedp.CSS(form+` [data-param="syms"]`), "server_A,server_B"))
		do(t, ctx, "subscribe", chromedp.Click(chromedp.CSS(form+" button.call")))
		// The demo feed publishes a sample per server every second.
		waitJS(t, ctx, "three updates", `(() => { const s = document.querySelector('`+form+` .live-seq'); return s !== null && /^seq ([3-9]|\d\d+)$/.test(s.textContent); })()`, 30*time.Second)
		type live struct {
			Seqs   []string `json:"seqs"`
			Syms   []string `json:"syms"`
			Series int      `json:"series"`
			Unsub  bool     `json:"unsub"`
		}
		l := js[live](t, ctx, `(() => {
			const f = document.querySelector('`+form+`');
			const rows = [...f.querySelectorAll('table.live-table tbody tr')];
			return {seqs: rows.map(r => r.cells[0].textContent), syms: [...new Set(rows.map(r => r.cells[2].textContent))].sort(),
				series: Number((f.querySelector('.chart') || {dataset: {series: 0}}).dataset.series),
				unsub: !f.querySelector('button.unsubscribe').hidden};
		})()`)
		var updates []int
		for _, s := range l.Seqs {
			if s != "snapshot" {
				n, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("seq cell %q", s)
				}
				updates = append(updates, n)
			}
		}
		for i := 1; i < len(updates); i++ {
			if updates[i] != updates[i-1] && updates[i] != updates[i-1]+1 {
				t.Errorf("seq column %v is not contiguous", updates)
				break
			}
		}
		if len(updates) < 3 || updates[0] != 1 || strings.Join(l.Syms, ",") != "server_A,server_B" || !l.Unsub {
			t.Errorf("live table %+v, want updates from seq 1 for server_A and server_B and an Unsubscribe button", l)
		}
		waitJS(t, ctx, "the live chart", `Number(document.querySelector('`+form+` .chart').dataset.series) === 2`, 10*time.Second)
		pageShot(t, ctx, "docs-live-sub", form+" .result")
		do(t, ctx, "unsubscribe", chromedp.Click(chromedp.CSS(form+" button.unsubscribe")))
		waitJS(t, ctx, "unsubscribed", `document.querySelector('`+form+` .live-state').textContent === "unsubscribed" && document.querySelector('`+form+` button.unsubscribe').hidden`, 10*time.Second)
		pageShot(t, ctx, "docs-live-form", form)
		seq := js[string](t, ctx, `document.querySelector('`+form+` .live-seq').textContent`)
		// After Unsubscribe no more rows arrive: two more feed ticks change nothing.
		js[bool](t, ctx, `new Promise(r => setTimeout(() => r(true), 2500))`)
		if after := js[string](t, ctx, `document.querySelector('`+form+` .live-seq').textContent`); after != seq {
			t.Errorf("rows still arrive after Unsubscribe: %s then %s", seq, after)
		}
	})

	t.Run("csv formula guard", func(t *testing.T) {
		// The page's Download CSV writer: formulas neutralised by default
		// (OWASP), the exact values with the opt-out.
		type out struct{ Guarded, Exact string }
		o := js[out](t, ctx, `(() => {
			const cols = ['sym', 'n'];
			const rows = [{sym: '=HYPERLINK("http://x")', n: -2}, {sym: '+cmd|x', n: 1}, {sym: '@SUM(A1)', n: 0}, {sym: '-1+2', n: 3}, {sym: '\tx', n: 4}, {sym: 'AAPL', n: 5}];
			return {Guarded: window.qconnect.toCSV(cols, rows), Exact: window.qconnect.toCSV(cols, rows, {neutralize: false})};
		})()`)
		wantGuarded := "sym,n\r\n\"'=HYPERLINK(\"\"http://x\"\")\",-2\r\n\"'+cmd|x\",1\r\n\"'@SUM(A1)\",0\r\n\"'-1+2\",3\r\n\"'\tx\",4\r\nAAPL,5\r\n"
		wantExact := "sym,n\r\n\"=HYPERLINK(\"\"http://x\"\")\",-2\r\n+cmd|x,1\r\n@SUM(A1),0\r\n-1+2,3\r\n\tx,4\r\nAAPL,5\r\n"
		if o.Guarded != wantGuarded {
			t.Errorf("guarded CSV %q, want %q", o.Guarded, wantGuarded)
		}
		if o.Exact != wantExact {
			t.Errorf("exact CSV %q, want %q", o.Exact, wantExact)
		}
		if n := js[int](t, ctx, `document.querySelectorAll('form[data-method="monPublic/getMem"] input.csv-exact:not(:checked)').length`); n != 1 {
			t.Errorf("%d unchecked 'exact values' opt-outs beside Download CSV, want 1 (the guard is on by default)", n)
		}
	})

	if e := exc.get(); len(e) > 0 {
		t.Errorf("the page threw or violated its CSP: %v", e)
	}
}

// TestBrowserCrossOrigin serves a dashboard page from a second origin (a
// server of this test) that loads the SDK and calls the gateway, which
// lists that origin in --cors-origins: login, a call, and a live
// subscription over the WebSocket succeed. The same page from a third
// origin, not on the list, is refused by the browser (no CORS headers) and
// by the gateway (WebSocket Origin check).
func TestBrowserCrossOrigin(t *testing.T) {
	t.Parallel()
	ctx := chromium(t)
	dash := func() *httptest.Server {
		sdk, err := fs.Sub(jsclient.Source, "src")
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/sdk/", http.StripPrefix("/sdk/", http.FileServerFS(sdk)))
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!DOCTYPE html><title>dashboard</title><script type="module" src="/dash.js"></script>`))
		})
		mux.HandleFunc("/dash.js", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte(`import { login } from '/sdk/index.js';
window.tryGateway = async (url) => {
  const out = {};
  try {
    const s = await login(url, 'kxSupport', '12345678');
    const r = await s.call('monPublic/getMem', { syms: ['server_A'] });
    out.rows = r.rowCount;
    out.firstTime = r.rows[0][0];
    const sub = s.subscribe('monPublic/sub', { syms: ['server_A'] });
    for await (const m of sub) { if (m.type === 'update') { out.seq = m.seq; break; } }
    await s.logout();
    out.ok = true;
  } catch (e) {
    out.code = e.code; out.message = e.message;
  }
  return out;
};
window.tryWebSocket = (url) => new Promise((resolve) => {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/connect/ws');
  ws.onopen = () => { ws.close(); resolve('open'); };
  ws.onerror = () => resolve('refused');
});
`))
		})
		s := httptest.NewServer(mux)
		t.Cleanup(s.Close)
		return s
	}
	allowed, other := dash(), dash()
	g := testenv.StartGateway(t, "--cors-origins", allowed.URL)

	type result struct {
		OK        bool    `json:"ok"`
		Rows      int     `json:"rows"`
		FirstTime string  `json:"firstTime"`
		Seq       float64 `json:"seq"`
		Code      string  `json:"code"`
		Message   string  `json:"message"`
	}
	do(t, ctx, "load the allowed dashboard", chromedp.Navigate(allowed.URL+"/"))
	waitJS(t, ctx, "the dashboard script", `typeof window.tryGateway === "function"`, 20*time.Second)
	r := js[result](t, ctx, `window.tryGateway(`+strconv.Quote(g.URL)+`)`)
	if !r.OK || r.Rows < 100 || r.Seq != 1 || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`).MatchString(r.FirstTime) {
		t.Errorf("from %s (allowed): %+v, want rows, nanosecond timestamps and update seq 1", allowed.URL, r)
	}

	do(t, ctx, "load the other dashboard", chromedp.Navigate(other.URL+"/"))
	waitJS(t, ctx, "the dashboard script", `typeof window.tryGateway === "function"`, 20*time.Second)
	r = js[result](t, ctx, `window.tryGateway(`+strconv.Quote(g.URL)+`)`)
	if r.OK || r.Code != "network" {
		t.Errorf("from %s (not allowed): %+v, want the browser to refuse (network)", other.URL, r)
	}
	if ws := js[string](t, ctx, `window.tryWebSocket(`+strconv.Quote(g.URL)+`)`); ws != "refused" {
		t.Errorf("a WebSocket from %s: %s, want refused", other.URL, ws)
	}
	// Log lines reach stderr up to --log-delay after the event.
	waitFor(t, "the gateway to log the refused upgrade", func() bool { return strings.Contains(g.Stderr(), "websocket upgrade refused") })
}
