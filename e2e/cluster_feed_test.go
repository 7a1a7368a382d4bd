package e2e

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestClusterDemoFeedOnce: three demo gateways sharing one redis-server,
// with the demo feed on: one gateway (the holder of the Redis lease) runs
// the feed, and every gateway streams the same trades in the same order
// (three feeds would stream three different random streams). When the
// holder is killed, another gateway takes the lease over and the trades
// continue.
func TestClusterDemoFeedOnce(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	args := []string{"--demo=true", "--users", wsUsersFile(t), "--redis", r.URL(), "--demo-feed-rate", "20", "--demo-feed-lease", "1s"}
	var gws []*testenv.Gateway
	for range 3 {
		gws = append(gws, testenv.StartGateway(t, args...))
	}
	holders := func() []int {
		var out []int
		for i, g := range gws {
			if strings.Count(g.Stderr(), `msg="lease taken"`) > 0 {
				out = append(out, i)
			}
		}
		return out
	}
	waitFor(t, "a gateway to take the demo feed's lease", func() bool { return len(holders()) > 0 })
	if h := holders(); len(h) != 1 {
		t.Fatalf("gateways %v hold the demo feed's lease, want one", h)
	}
	holder := holders()[0]
	running := func(among []int) (n int) { // gateways that started the feed
		for _, i := range among {
			if strings.Contains(gws[i].Stderr(), `msg="demo feed on"`) {
				n++
			}
		}
		return n
	}
	var others []int
	for i := range gws {
		if i != holder {
			others = append(others, i)
		}
	}

	// trades reads n trades (as "time sym price size" strings) from a
	// subscription of every symbol on gateway g.
	subscribe := func(g *testenv.Gateway) *rawWS {
		w := dialRaw(t, g, 0)
		w.login("trader", "pw-trader")
		w.subscribe("marketData/subTrades", map[string]any{})
		return w
	}
	trades := func(w *rawWS, n int) []string {
		var out []string
		for seq := uint64(1); len(out) < n; seq++ {
			f := w.expect("UpdateMsg")
			if f.Seq != seq {
				t.Fatalf("UpdateMsg seq %d, want %d", f.Seq, seq)
			}
			for _, r := range rowsOf(t, f) {
				out = append(out, fmt.Sprint(r["time"], r["sym"], r["price"], r["size"]))
			}
		}
		return out
	}
	w1, w2 := subscribe(gws[others[0]]), subscribe(gws[others[1]])
	a, b := trades(w1, 40), trades(w2, 40)
	// The two subscriptions started at different instants: compare from
	// the first trade both have.
	i := slices.Index(a, b[0])
	j := 0
	if i < 0 {
		i, j = 0, slices.Index(b, a[0])
	}
	if j < 0 || i < 0 {
		t.Fatalf("the subscribers of two gateways share no trade: two different feeds\n%v\n%v", a[:3], b[:3])
	}
	n := min(len(a)-i, len(b)-j)
	if n < 20 || !slices.Equal(a[i:i+n], b[j:j+n]) {
		t.Fatalf("the subscribers of two gateways got different trades (%d in common): more than one feed", n)
	}

	if n := running([]int{0, 1, 2}); n != 1 {
		t.Fatalf("%d gateways run the demo feed, want 1", n)
	}

	// The holder dies: another gateway takes the lease over and the
	// trades go on.
	if err := gws[holder].Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "another gateway to take the lease over", func() bool {
		for _, k := range others {
			if strings.Contains(gws[k].Stderr(), `msg="lease taken"`) {
				return true
			}
		}
		return false
	})
	w3 := subscribe(gws[others[0]])
	if got := trades(w3, 5); len(got) < 5 {
		t.Fatalf("no trades after the takeover")
	}
	if n := running(others); n != 1 {
		t.Fatalf("after the takeover %d of the two gateways left run the demo feed, want 1", n)
	}
}
