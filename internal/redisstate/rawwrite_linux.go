package redisstate

import (
	"net"
	"syscall"
	"unsafe"
)

// writeRequest writes b to c. On a plain socket it makes the write(2)
// calls itself as raw system calls (what Go does for other short calls):
// a write to a local Redis hands the request to Redis inside the call,
// which can take long enough for the scheduler to treat the caller's P as
// stuck in a system call and hand it to another thread, a costly switch
// measured at every batch under load. The socket is non-blocking, so the
// call never waits: when Redis's buffer is full it waits in the poller
// (bounded by the write deadline) like net.Conn.Write.
func writeRequest(c net.Conn, b []byte) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		_, err := c.Write(b)
		return err
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(b) > 0 {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false // wait until writable
			case e != 0:
				werr = e
				return true
			}
			b = b[n:]
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}
