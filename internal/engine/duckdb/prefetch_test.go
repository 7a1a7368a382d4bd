package duckdb

import (
	"context"
	"strconv"
	"testing"

	"github.com/qconnect/qconnect"
)

// TestPrefetchAlternatesSlots: after the first batch the next one is
// decoded ahead into the other slot, so consecutive batches are two
// alternating Batch values; the batch a caller holds is never written
// until it calls Next again (each batch is checked whole after the
// producer has had time to fill the other slot, and -race watches the
// accesses), and every row arrives once, in order.
func TestPrefetchAlternatesSlots(t *testing.T) {
	t.Parallel()
	e := openEngine(t, Config{BatchSize: 1000})
	rs, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod(
		"SELECT i, 'row ' || i AS s FROM range(50000) r(i) ORDER BY i", nil, col("i", qconnect.Long), col("s", qconnect.String))})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	c := rs.(*rows).cursor
	var seen []*qconnect.Batch
	next := int64(0)
	eachBatch(t, rs, func(batch *qconnect.Batch) {
		seen = append(seen, batch)
		first := next
		check := func() {
			t.Helper()
			for i := 0; i < batch.Len; i++ {
				want := first + int64(i)
				if batch.Cols[0].Ints[i] != want || batch.Cols[1].Str(i) != "row "+strconv.FormatInt(want, 10) {
					t.Fatalf("row %d of a batch: %d %q, want %d", i, batch.Cols[0].Ints[i], batch.Cols[1].Str(i), want)
				}
			}
		}
		check()
		if len(seen) > 1 && batch.Len == 1000 && next+1000 < 50000 {
			// Wait for the producer to finish the batch ahead, then check
			// this one again: it must be untouched.
			c.mu.Lock()
			if c.inflight {
				d := <-c.done
				c.done <- d
			}
			c.mu.Unlock()
			check()
		}
		next += int64(batch.Len)
	})
	if next != 50000 {
		t.Fatalf("%d rows, want 50000", next)
	}
	if len(seen) < 3 {
		t.Fatalf("%d batches, want 50", len(seen))
	}
	if seen[0] == seen[1] || seen[0] != seen[2] || seen[1] != seen[3] {
		t.Errorf("batches do not alternate between two slots: %p %p %p %p", seen[0], seen[1], seen[2], seen[3])
	}
}

// TestPrefetchCloseMidStream: closing (or cancelling) while the producer
// decodes ahead stops it and returns the connection; the engine then
// serves another call.
func TestPrefetchCloseMidStream(t *testing.T) {
	t.Parallel()
	e := openEngine(t, Config{BatchSize: 100, MaxConns: 1})
	m := sqlMethod("SELECT i FROM range(1000000) r(i) ORDER BY i DESC", nil, col("i", qconnect.Long))
	for _, cancelFirst := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		rs, err := e.Query(ctx, qconnect.Call{Method: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Next(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Next(ctx); err != nil {
			t.Fatal(err)
		}
		if cancelFirst {
			cancel()
			if _, err := rs.Next(ctx); err == nil {
				t.Error("Next after cancel succeeded")
			}
		}
		rs.Close()
		cancel()
	}
	// One connection: it must be free again.
	rs, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod("SELECT 1 AS i", nil, col("i", qconnect.Long))})
	if err != nil {
		t.Fatal(err)
	}
	b, err := rs.Next(context.Background())
	if err != nil || b.Len != 1 {
		t.Fatalf("a call after the closed ones: %v, %v", b, err)
	}
	rs.Close()
}
