package ipc_test

import (
	"bytes"
	"fmt"

	"github.com/qconnect/qconnect/kdb/ipc"
)

// A message carrying a call of a q function with one dictionary argument,
// and the same bytes read back.
func Example() {
	call := []any{ipc.Symbol(".monPublic.getMem"), ipc.Dict{Key: []string{"syms"}, Value: []any{[]string{"server_A"}}}}
	msg, err := ipc.AppendMessage(nil, ipc.Sync, call)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", msg[:8])
	m, err := ipc.ReadMessage(bytes.NewReader(msg), 0)
	if err != nil {
		panic(err)
	}
	v, _ := m.Decode()
	fmt.Printf("%v %v\n", m.Type == ipc.Sync, v)
	// Output:
	// 01 01 00 00 42 00 00 00
	// true [.monPublic.getMem {[syms] [[server_A]]}]
}
