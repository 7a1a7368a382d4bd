package fakeq

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/nodeq"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// TestNodeQClient: node-q, a kdb+ client nobody here wrote, logs in to the
// fake q, calls functions with a dictionary argument and reads the tables,
// one of them a compressed reply.
func TestNodeQClient(t *testing.T) {
	t.Parallel()
	nodeq.Dir(t)
	s := start(t)
	s.SetUsers(map[string]string{"nodeuser": "nodepass"})
	out := nodeq.Run(t, "", "client.js", "127.0.0.1", portOf(s), "nodeuser", "nodepass")
	var got struct {
		Trades []struct {
			Time  time.Time
			Sym   string
			Price float64
			Size  float64
			Side  string
		}
		Mem   []map[string]any
		Error *string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	all := TradeTable()
	var want []int
	for i, s := range column[[]string](all, "sym") {
		if (s == "IBM" || s == "MSFT") && len(want) < 6 {
			want = append(want, i)
		}
	}
	if len(got.Trades) != 6 {
		t.Fatalf("node-q read %d trades", len(got.Trades))
	}
	for k, i := range want {
		tr := got.Trades[k]
		// node-q converts timestamps through floating-point days: within 1 ms.
		if d := tr.Time.Sub(column[[]ipc.Timestamp](all, "time")[i].Time()); d > time.Millisecond || d < -time.Millisecond || tr.Sym != column[[]string](all, "sym")[i] ||
			tr.Price != column[[]float64](all, "price")[i] || int64(tr.Size) != column[[]int64](all, "size")[i] ||
			tr.Side != column[[]string](all, "side")[i] {
			t.Errorf("trade %d: node-q read %+v", k, tr)
		}
	}
	if len(got.Mem) != MemRows/3 || got.Mem[0]["sym"] != "server_A" {
		t.Fatalf("node-q read %d mem rows (%v)", len(got.Mem), got.Mem[0])
	}
	if got.Error == nil || *got.Error != "type" {
		t.Fatalf("q error as node-q saw it: %v", got.Error)
	}
}

func portOf(s *Server) string {
	_, port, _ := splitHostPort(s.Addr())
	return port
}
