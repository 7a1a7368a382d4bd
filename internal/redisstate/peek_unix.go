//go:build unix

package redisstate

import (
	"net"
	"syscall"
)

// peekDead reports whether Redis has closed c or sent something on it
// (nothing is expected on an idle connection): a non-blocking MSG_PEEK
// read that finds the end of the stream, data or an error. Connections
// that are not sockets count as open.
func peekDead(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	dead := false
	// Control, not Read: the peek never waits, so neither the poller nor
	// the connection's deadline has a part in it.
	err = rc.Control(func(fd uintptr) {
		dead = peekFD(fd) // also when it reads: data, or the end of the stream
	})
	return dead || err != nil
}
