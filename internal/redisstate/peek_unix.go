//go:build unix

package redisstate

import (
	"net"
	"syscall"
	"unsafe"
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
	// Control, not Read: the peek never waits, so neither the poller nor
	// the connection's deadline has a part in it; a raw system call, as
	// for the guard's writes (rawwrite_linux.go).
	err = rc.Control(func(fd uintptr) {
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		dead = e != syscall.EAGAIN && e != syscall.EWOULDBLOCK // 0: data or the end of the stream
	})
	return dead || err != nil
}
