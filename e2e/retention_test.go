package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

const retentionCatalog = `groups:
  r:
    methods:
      count:
        columns: [{name: n, type: long}, {name: oldest, type: timestamp}]
        query: SELECT count(*) AS n, min(time) AS oldest FROM monMem
      pub:
        columns:
          - {name: time, type: timestamp}
          - {name: sym, type: symbol}
          - {name: usedMB, type: float}
          - {name: freeMB, type: float}
          - {name: cpuLoad, type: float}
        publish:
          table: monMem
          retention: {maxRows: 50}
`

// TestRetentionUnderSteadyPublish: a publishing table declared with
// maxRows 50 loses the demo's 138,240 monMem rows at the first passes,
// comes back to its bound after every publish while rows are published
// steadily (it does not grow), and holds exactly the 50 newest rows once
// publishing stops.
func TestRetentionUnderSteadyPublish(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(cat, []byte(retentionCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	users := cliUsers(t, "groups:\n  g:\n    allow: [r]\n    write: [r/pub]\n", [3]string{"p", "g", "pw-publisher"})
	g := testenv.StartGateway(t, "--demo=true", "--demo-feed=false", "--catalog", cat, "--users", users, "--retention-interval", "100ms")
	s := login(t, g, "p", "pw-publisher")
	count := func() (int64, time.Time) {
		t.Helper()
		r := s.call("/connect/api/r/count", []any{map[string]any{}})
		expect(t, "count", r, 200, "")
		var row struct {
			N      int64     `json:"n"`
			Oldest time.Time `json:"oldest"`
		}
		if err := json.Unmarshal(r.Env.Msg[0], &row); err != nil {
			t.Fatalf("count row %s: %v", r.Env.Msg[0], err)
		}
		return row.N, row.Oldest
	}
	// The first passes delete the demo's 138,240 monMem rows.
	waitFor(t, "the first retention pass", func() bool { n, _ := count(); return n < 100 }) // demo samples tie by time
	base := time.Now().UTC().Truncate(time.Millisecond)
	const batches, per = 60, 10
	for b := range batches {
		rows := make([]any, per)
		for i := range rows {
			at := base.Add(time.Duration(b*per+i) * time.Millisecond)
			rows[i] = map[string]any{"time": at.Format(time.RFC3339Nano), "sym": "r", "usedMB": 1, "freeMB": 2, "cpuLoad": 0.1}
		}
		expect(t, "publish", s.call("/connect/api/r/pub", []any{map[string]any{"rows": rows}}), 200, "")
		// Each publish is brought back to the bound by the background
		// passes, publish after publish: the table does not grow.
		if b >= 5 {
			waitFor(t, "retention to bring the table back to its bound", func() bool { n, _ := count(); return n <= 50 })
		}
	}
	var n int64
	var oldest time.Time
	waitFor(t, "the table to shrink to its bound", func() bool { n, oldest = count(); return n == 50 })
	if want := base.Add((batches*per - 50) * time.Millisecond); !oldest.Equal(want) {
		t.Fatalf("the oldest row kept is %v, want %v (the 50 newest are kept)", oldest, want)
	}
}
