package ipc

import "testing"

func benchTrades(b *testing.B) []byte {
	msg, err := AppendMessage(nil, Response, tradeTable(1000000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	return msg
}

func BenchmarkDecodeTrades(b *testing.B) {
	msg := benchTrades(b)
	for i := 0; i < b.N; i++ {
		if _, err := Unmarshal(msg[8:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeColumnarTrades(b *testing.B) {
	msg := benchTrades(b)
	for i := 0; i < b.N; i++ {
		if _, err := UnmarshalColumnar(msg[8:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeTrades(b *testing.B) {
	tbl := tradeTable(1000000)
	msg := benchTrades(b)
	_ = msg
	for i := 0; i < b.N; i++ {
		if _, err := AppendMessage(nil, Response, tbl); err != nil {
			b.Fatal(err)
		}
	}
}
