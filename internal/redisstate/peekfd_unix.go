//go:build unix && !linux

package redisstate

import "syscall"

// peekFD makes the non-blocking MSG_PEEK read of peekDead: true unless it
// would block.
func peekFD(fd uintptr) bool {
	var buf [1]byte
	_, _, e := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return e != syscall.EAGAIN && e != syscall.EWOULDBLOCK
}
