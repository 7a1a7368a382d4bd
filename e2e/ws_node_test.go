package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestNodeWebSocketClient runs e2e/node/wsClient.js, a client written from
// PROTOCOL 7 with npm ws and crypto-js, against the real gateway in demo
// mode (the demo feed on, publishing other symbols meanwhile): LoginReq over
// the socket, a subscription, publishes over the socket and over REST,
// updates with seq 1 and 2, unsubscribe, logout with close 1000.
func TestNodeWebSocketClient(t *testing.T) {
	t.Parallel()
	dir := nodeDir(t)
	g := testenv.StartGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "wsClient.js", g.Addr, "kxSupport", "12345678", "NODEWS")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node wsClient.js: %v\n%s", err, stderr.String())
	}
	var sum struct {
		Seqs      []int     `json:"seqs"`
		Prices    []float64 `json:"prices"`
		CloseCode int       `json:"closeCode"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if len(sum.Seqs) != 2 || sum.Seqs[0] != 1 || sum.Seqs[1] != 2 || len(sum.Prices) != 4 || sum.CloseCode != 1000 {
		t.Fatalf("summary %+v", sum)
	}
	// The socket's LoginReq session is bound to it: logged out now.
	// Log lines reach stderr up to --log-delay after the event.
	waitFor(t, "the gateway to log the socket's close", func() bool { return strings.Contains(g.Stderr(), "websocket closed") })
}
