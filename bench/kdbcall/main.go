// Command kdbcall serves the fake q process of the tests (internal/fakeq,
// not kdb+: a stand-in speaking the real IPC protocol, with the example's
// 100,000 fixed trades) on 127.0.0.1 until killed, and prints its address.
// bench/kdbcall.sh points a gateway at it.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/qconnect/qconnect/internal/fakeq"
)

func main() {
	s, err := fakeq.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kdbcall:", err)
		os.Exit(1)
	}
	s.Example()
	fmt.Println(s.Addr())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
	s.Close()
}
