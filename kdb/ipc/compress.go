package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Compress returns msg (a whole little-endian message, header included)
// compressed with q's IPC compression, or nil when compression does not
// reduce it to less than half its size, which is q's own rule: q then
// sends the message as it is. The output is byte for byte what q writes.
func Compress(msg []byte) []byte {
	t := len(msg)
	if t < HeaderSize+4 || t > maxWireLen {
		return nil
	}
	e := t / 2
	y := make([]byte, e)
	copy(y, msg[:4])
	y[2] = 1
	binary.LittleEndian.PutUint32(y[8:], uint32(t))
	var a [256]int
	var i byte
	f, h0, h := 0, 0, 0
	c, d, s0, s := 12, 12, 0, 8
	for s < t {
		if i == 0 {
			if d > e-17 {
				return nil
			}
			i = 1
			y[c] = byte(f)
			c = d
			d++
			f = 0
		}
		g := s > t-3
		var p int
		if !g {
			h = int(msg[s] ^ msg[s+1])
			p = a[h]
			g = p == 0 || msg[s] != msg[p]
		}
		if s0 > 0 {
			a[h0] = s0
			s0 = 0
		}
		if g {
			h0, s0 = h, s
			y[d] = msg[s]
			d++
			s++
		} else {
			a[h] = s
			f |= int(i)
			p += 2
			s += 2
			r := s
			q := min(s+255, t)
			for s < q && msg[p] == msg[s] {
				p++
				s++
			}
			y[d] = byte(h)
			y[d+1] = byte(s - r)
			d += 2
		}
		i <<= 1
	}
	y[c] = byte(f)
	binary.LittleEndian.PutUint32(y[4:], uint32(d))
	return y[:d]
}

// ErrCorrupt is returned (wrapped) for a compressed message that does not
// decompress to its declared length.
var ErrCorrupt = errors.New("ipc: corrupt compressed message")

// Decompress expands a compressed message body: b is the whole message
// after the 8-byte header (the uncompressed length, then the compressed
// stream). It returns the uncompressed message without its header. max
// bounds the declared uncompressed length; memory grows with the output
// actually produced, not with the declared length.
func Decompress(b []byte, order binary.ByteOrder, max int) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: no uncompressed length", ErrCorrupt)
	}
	total := int(int32(order.Uint32(b)))
	if total < HeaderSize {
		return nil, fmt.Errorf("%w: uncompressed length %d", ErrCorrupt, total)
	}
	if total > max {
		return nil, &TooLargeError{Size: total, Max: max}
	}
	// Each 2-byte back reference expands to at most 257 bytes.
	if total > HeaderSize+129*(len(b)-4) {
		return nil, fmt.Errorf("%w: %d compressed bytes cannot expand to %d", ErrCorrupt, len(b)-4, total)
	}
	dst := make([]byte, HeaderSize, min(total, HeaderSize+4*len(b)+64))
	var aa [256]int
	src := b[4:]
	dpos, s, p := 0, HeaderSize, HeaderSize
	var f, i int
	for s < total {
		if i == 0 {
			if dpos >= len(src) {
				return nil, fmt.Errorf("%w: stream ends early", ErrCorrupt)
			}
			f = int(src[dpos])
			dpos++
			i = 1
		}
		n := 0
		if f&i != 0 {
			if dpos+2 > len(src) {
				return nil, fmt.Errorf("%w: stream ends early", ErrCorrupt)
			}
			r := aa[src[dpos]]
			n = int(src[dpos+1])
			dpos += 2
			if s+2+n > total {
				return nil, fmt.Errorf("%w: back reference past the declared length", ErrCorrupt)
			}
			// Forward copy byte by byte: source and destination may overlap.
			for m := 0; m < 2+n; m++ {
				dst = append(dst, dst[r+m])
			}
			s += 2
		} else {
			if dpos >= len(src) {
				return nil, fmt.Errorf("%w: stream ends early", ErrCorrupt)
			}
			dst = append(dst, src[dpos])
			dpos++
			s++
		}
		for p < s-1 {
			aa[dst[p]^dst[p+1]] = p
			p++
		}
		if f&i != 0 {
			s += n
			p = s
		}
		i <<= 1
		if i == 256 {
			i = 0
		}
	}
	return dst[HeaderSize:], nil
}

// TooLargeError reports a message above the configured maximum size.
type TooLargeError struct{ Size, Max int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("ipc: message of %d bytes exceeds the maximum message size of %d bytes (raise it in the connection's settings)", e.Size, e.Max)
}
