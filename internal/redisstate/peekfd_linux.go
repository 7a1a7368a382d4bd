package redisstate

import (
	"syscall"
	"unsafe"
)

// peekFD makes the non-blocking MSG_PEEK read of peekDead as a raw system
// call (as for the guard's writes, rawwrite_linux.go): true unless it would
// block.
func peekFD(fd uintptr) bool {
	var buf [1]byte
	_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return e != syscall.EAGAIN && e != syscall.EWOULDBLOCK
}
