//go:build !linux

package redisstate

import "net"

// writeRequest writes b to c.
func writeRequest(c net.Conn, b []byte) error {
	_, err := c.Write(b)
	return err
}
