package encode

import (
	"fmt"
	"runtime"
	"testing"
)

// benchBatch is the batch size of the benchmarks, about what a backend hands
// over at a time.
const benchBatch = 1024

// BenchmarkEncode encodes a trade-like table, one batch of benchBatch rows
// per op through a counting writer; the Writer lives across ops, so allocs/op
// and B/op are per batch and must not grow with b.N.
func BenchmarkEncode(b *testing.B) {
	rows := tradeRows(benchBatch)
	for _, f := range everyFormat {
		b.Run(string(f), func(b *testing.B) {
			cw := &countingWriter{}
			w, err := New(f, cw, Header{Type: "getTradesResp", ID: "bench", Date: "Fri, 26 Jul 2019 15:59:00 GMT"}, tradeCols, Ending{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := writeRows(w, rows); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Finish(Meta{RowCount: int64(b.N) * benchBatch}, nil); err != nil {
				b.Fatal(err)
			}
			n := float64(b.N) * benchBatch
			b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(cw.n)/n, "out-B/row")
		})
	}
}

// BenchmarkEncodeResult encodes whole results of 10k and 1M rows per op, in
// batches of benchBatch. alloc-B/row and allocs/row staying the same from
// 10k to 1M rows shows that the cost per row is constant and nothing is
// kept per row; the retained buffer is checked by TestAllocsPerBatchBounded.
// Run with -benchtime=1x for the 1M case on a shared machine.
func BenchmarkEncodeResult(b *testing.B) {
	rows := tradeRows(benchBatch)
	for _, f := range everyFormat {
		for _, total := range []int{10_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/rows=%d", f, total), func(b *testing.B) {
				b.ReportAllocs()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					cw := &countingWriter{}
					w, err := New(f, cw, Header{Type: "getTradesResp", ID: "bench", Date: "d"}, tradeCols, Ending{})
					if err != nil {
						b.Fatal(err)
					}
					for left := total; left > 0; left -= benchBatch {
						if err := writeRows(w, rows[:min(left, benchBatch)]); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Finish(Meta{RowCount: int64(total)}, nil); err != nil {
						b.Fatal(err)
					}
				}
				runtime.ReadMemStats(&after)
				n := float64(b.N) * float64(total)
				b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "alloc-B/row")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/row")
			})
		}
	}
}
