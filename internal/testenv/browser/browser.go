// Package browser starts headless Debian Chromium for tests, with the flags
// this machine needs (no sandbox as root, no background networking on a
// closed network) and a fresh profile per test.
package browser

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qconnect/qconnect/internal/testenv"
)

// Path is where Debian's chromium package installs the browser.
const Path = "/usr/bin/chromium"

// Gate makes a missing Chromium a failure instead of a skip when set to 1
// (.ci/run sets it).
const Gate = "QCONNECT_REQUIRE_BROWSER"

// New starts one headless Chromium for the test (1366×768, everything
// bounded by timeout) and returns its tab's context; the browser is closed
// when the test ends. Without Chromium the test skips, or fails under Gate.
func New(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	_, err := os.Stat(Path)
	testenv.Require(t, err == nil, Gate, "Chromium at "+Path+" (Debian package chromium)")
	parent, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(Path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
	})
	return ctx
}
