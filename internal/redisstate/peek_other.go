//go:build !unix

package redisstate

import "net"

// peekDead: without a non-blocking peek, an idle connection counts as open
// (a dead one fails its next call, which is answered unavailable).
func peekDead(net.Conn) bool { return false }
