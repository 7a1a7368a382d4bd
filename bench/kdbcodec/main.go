// Command kdbcodec measures kdb/ipc on a trade table (time, sym, price,
// size, side) of N rows: decode (generic Go values, and columnar into
// qconnect vectors as engine/kdb does), encode, and q's compression. It
// writes the serialized message to a file so that bench/kdbcodec.js times
// node-q on the same bytes. Run it through bench/kdbcodec.sh.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/qconnect/qconnect/kdb/ipc"
)

func main() {
	n := flag.Int("rows", 1000000, "rows of the trade table")
	runs := flag.Int("runs", 5, "runs per measurement (the best is reported)")
	out := flag.String("out", "", "write the whole message (header included) to this file")
	flag.Parse()
	tbl := trades(*n)
	msg, err := ipc.AppendMessage(nil, ipc.Response, tbl)
	if err != nil {
		fail(err)
	}
	body := msg[ipc.HeaderSize:]
	if *out != "" {
		if err := os.WriteFile(*out, msg, 0o644); err != nil {
			fail(err)
		}
	}
	mb := float64(len(msg)) / 1e6
	report := func(what string, f func()) {
		best := time.Duration(1 << 62)
		for i := 0; i < *runs; i++ {
			start := time.Now()
			f()
			if d := time.Since(start); d < best {
				best = d
			}
		}
		fmt.Printf("go\t%s\t%.1f MB\t%.1f ms\t%.0f MB/s\n", what, mb, float64(best.Microseconds())/1000, mb/best.Seconds())
	}
	report("decode (Go values)", func() {
		if _, err := ipc.Unmarshal(body); err != nil {
			fail(err)
		}
	})
	report("decode (columnar)", func() {
		if _, err := ipc.UnmarshalColumnar(body); err != nil {
			fail(err)
		}
	})
	report("encode", func() {
		if _, err := ipc.AppendMessage(nil, ipc.Response, tbl); err != nil {
			fail(err)
		}
	})
	var c []byte
	report("compress", func() { c = ipc.Compress(msg) })
	if c != nil {
		fmt.Printf("go\tcompressed size\t%.1f MB (%.0f%% of %.1f MB)\n", float64(len(c))/1e6, 100*float64(len(c))/float64(len(msg)), mb)
		report("decompress", func() {
			if _, err := ipc.Decompress(c[ipc.HeaderSize:], binary.LittleEndian, 1<<31-1); err != nil {
				fail(err)
			}
		})
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kdbcodec:", err)
	os.Exit(1)
}

// trades is the benchmark table: n trades, one every 100 ms, five syms.
func trades(n int) ipc.Table {
	names := []string{"AAPL", "AMZN", "GOOG", "IBM", "MSFT"}
	tm := make([]ipc.Timestamp, n)
	sym := make([]string, n)
	price := make([]float64, n)
	size := make([]int64, n)
	side := make([]string, n)
	open := ipc.TimestampOf(time.Date(2024, 1, 2, 9, 30, 0, 0, time.UTC))
	for i := 0; i < n; i++ {
		tm[i] = open + ipc.Timestamp(i)*100e6
		sym[i] = names[i%5]
		price[i] = 100 + float64(i%5)*50 + float64((i*7919)%1000)/100
		size[i] = int64(100 * (1 + (i*31)%10))
		side[i] = [2]string{"buy", "sell"}[(i/5)%2]
	}
	return ipc.Table{Columns: []string{"time", "sym", "price", "size", "side"}, Data: []any{tm, sym, price, size, side}}
}
