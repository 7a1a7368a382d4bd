package ipc

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to ReadMessage and the decoder (both
// modes). It must never panic or hang, and whatever decodes must marshal
// and decode again to the same bytes.
//
//	go test ./kdb/ipc -run '^$' -fuzz FuzzDecode -fuzztime 60s
func FuzzDecode(f *testing.F) {
	for _, g := range golden {
		b := unhex(f, g.hex)
		f.Add(b)
		msg := append([]byte{1, 2, 0, 0, byte(len(b) + 8), 0, 0, 0}, b...)
		f.Add(msg)
	}
	syms := make([]string, 1000)
	for i := range syms {
		syms[i] = "q"
	}
	raw, _ := AppendMessage(nil, Response, syms)
	f.Add(Compress(raw))
	tm, _ := AppendMessage(nil, Response, tradeTable(300))
	f.Add(Compress(tm))
	f.Add(tm[8:])
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ReadMessage(bytes.NewReader(b), 1<<20); err == nil {
			m.Decode()
			m.DecodeColumnar()
		}
		v, err := Decoder{MaxDepth: 32}.Decode(b)
		Decoder{MaxDepth: 32, Columnar: true}.Decode(b)
		Decoder{MaxDepth: 32, BigEndian: true}.Decode(b)
		if err != nil {
			return
		}
		enc, err := Marshal(v)
		if err != nil {
			t.Fatalf("decoded %#v but cannot marshal it: %v", v, err)
		}
		v2, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		enc2, _ := Marshal(v2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("not stable: %x vs %x", enc, enc2)
		}
	})
}
