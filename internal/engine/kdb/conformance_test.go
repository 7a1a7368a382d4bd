package kdb

import (
	"context"
	"testing"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/engine/enginetest"
)

// TestConformance runs the backend conformance suite (engine/enginetest)
// against the engine on the fake q (internal/fakeq: not kdb+, a stand-in
// speaking the real IPC protocol), or on a real q that loaded
// examples/kdb/example.q when QCONNECT_TEST_KDB is set. The .ct functions
// and the ctLive tickerplant table are defined by both.
func TestConformance(t *testing.T) {
	long := func(name string) []qconnect.Param { return []qconnect.Param{{Name: name, Type: qconnect.Long}} }
	liveCols := []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
		{Name: "i", Type: qconnect.Long}, {Name: "x", Type: qconnect.Float}}
	var eng *Engine
	enginetest.RunBackend(t, enginetest.Harness{
		Open: func(t testing.TB) qconnect.Backend {
			cfg := newTarget(t.(*testing.T)).cfg
			cfg.BatchRows = 4096 // many batches for the cancellation and Close cases
			e, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			eng = e
			return e
		},
		AllTypes: &qconnect.Method{Group: "ct", Name: "allTypes", Backend: "q", Query: ".ct.allTypes", Columns: enginetest.AllTypesCols},
		Range: &qconnect.Method{Group: "ct", Name: "range", Backend: "q", Query: ".ct.range", Params: long("n"),
			Columns: []qconnect.Column{{Name: "i", Type: qconnect.Long}, {Name: "s", Type: qconnect.Symbol}}},
		MidFail: &qconnect.Method{Group: "ct", Name: "midFail", Backend: "q", Query: ".ct.midFail", Params: long("ok"),
			Columns: []qconnect.Column{{Name: "i", Type: qconnect.Long}}},
		Live: &qconnect.Method{Group: "ct", Name: "live", Backend: "q", Streaming: true, Columns: liveCols,
			Stream: &qconnect.StreamSpec{Table: "ctLive", Key: "sym"}},
		// Updates are published the way the gateway publishes: .u.upd on the
		// engine's pool; the tickerplant pushes them as upd messages.
		Publish: func(ctx context.Context, rows [][]any) error { return eng.Append(ctx, "ctLive", liveCols, rows) },
		// ctLive is empty: the snapshot is its schema, zero rows.
		Snapshot: [][]any{},
		WholeReplies: "a synchronous kdb+ reply arrives as one IPC message; its memory is bounded " +
			"by the connection's maxMessage and the method's row cap (engine/kdb package doc)",
		Unrepresentable: map[string]string{
			"1/b":   "kdb+ booleans have no null (0b)",
			"0/h":   "-32768h is kdb+'s short null 0Nh",
			"1/s":   "a kdb+ string (char vector) cannot be null; it is \"\"",
			"2/sym": "the empty symbol ` is kdb+'s symbol null",
			"2/c":   `" " is kdb+'s char null`,
			"2/g":   "the zero guid is kdb+'s guid null 0Ng",
		},
	})
}
