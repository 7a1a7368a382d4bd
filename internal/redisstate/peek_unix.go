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
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		dead = e != syscall.EAGAIN && e != syscall.EWOULDBLOCK // nil: data or the end of the stream
		return true
	})
	return dead || err != nil
}
