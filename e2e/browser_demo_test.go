package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestBrowserDemoLogin: in demo mode the page shows the demo login next to
// its login box, prefilled, so that one click on "Log in" signs in; the
// example command lines carry the bound address and the demo login.
func TestBrowserDemoLogin(t *testing.T) {
	t.Parallel()
	ctx := chromium(t)
	g := testenv.StartGateway(t)
	do(t, ctx, "load the docs page", chromedp.Navigate(g.URL+"/connect/index.html"))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.qconnect !== undefined`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page script did not start: %v", err)
	}
	if txt := js[string](t, ctx, `document.querySelector("#demo-credentials").textContent`); !strings.Contains(txt, "kxSupport") || !strings.Contains(txt, "12345678") {
		t.Errorf("demo credentials shown as %q", txt)
	}
	cli := js[string](t, ctx, `document.querySelector('article[data-method="marketData/getVwap"] .example-cli').textContent`)
	if want := "qconnect call " + g.Addr + " kxSupport 12345678 marketData/getVwap"; !strings.HasPrefix(cli, want) {
		t.Errorf("command line %q, want %q...", cli, want)
	}
	do(t, ctx, "log in with the prefilled demo login", chromedp.Click(chromedp.ID("login-submit")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#session").hidden`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#login-status").textContent`))
		t.Fatalf("login did not complete: %v; the page says %q", err, status)
	}
	if u := js[string](t, ctx, `document.querySelector("#session-user").textContent`); u != "kxSupport" {
		t.Errorf("signed in as %q", u)
	}
}
