package encode

import (
	"bytes"
	"testing"

	"github.com/qconnect/qconnect"
)

// TestDictVectors: a symbol column given as a dictionary and codes (as the
// DuckDB engine decodes an ENUM) encodes to the same bytes in every format
// as the same values given as bytes, nulls and invalid UTF-8 included, and
// over several batches (the Arrow encoder's per-batch dictionary
// conversion).
func TestDictVectors(t *testing.T) {
	cols := []qconnect.Column{{Name: "n", Type: qconnect.Long}, {Name: "side", Type: qconnect.Symbol}}
	dict := []string{"buy", "sell", "bad\xffbyte", "a,\"q\""}
	codes := []uint32{0, 1, 1, 2, 0, 3, 0, 1, 2, 2}
	null := map[int]bool{4: true, 7: true}
	var rows [][]any
	for i, c := range codes {
		var v any = dict[c]
		if null[i] {
			v = nil
		}
		rows = append(rows, []any{int64(i), v})
	}
	for _, f := range []Format{Arrow, CSV, JSON, NDJSON} {
		encode := func(asDict bool) []byte {
			var buf bytes.Buffer
			w, err := New(f, &buf, Header{}, cols, Ending{})
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range [][2]int{{0, 6}, {6, 10}} {
				b, err := qconnect.BatchOf(cols, rows[part[0]:part[1]])
				if err != nil {
					t.Fatal(err)
				}
				if asDict {
					v := &b.Cols[1]
					v.Offsets, v.Data = nil, nil
					v.Dict, v.Codes = dict, append([]uint32(nil), codes[part[0]:part[1]]...)
					for i := range v.Codes {
						if null[part[0]+i] {
							v.Codes[i] = 99 // a null row's code is ignored
						}
					}
				}
				if err := w.WriteBatch(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Finish(Meta{}, nil); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		plain, asDict := encode(false), encode(true)
		if !bytes.Equal(plain, asDict) {
			t.Errorf("%v: a dictionary column encodes to %q, its values as bytes to %q", f, asDict, plain)
		}
	}
}
