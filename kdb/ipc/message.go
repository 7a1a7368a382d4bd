package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxMessage is the default bound on a message's size, compressed
// or not: 256 MiB.
const DefaultMaxMessage = 256 << 20

// Message is one received message. Body is the serialized value (after
// the header, decompressed).
type Message struct {
	Type       MsgType
	BigEndian  bool
	Compressed bool // it arrived compressed
	Body       []byte
}

// Decode decodes the message's value. A q error reply is returned as a
// *Error error.
func (m Message) Decode() (any, error) { return Decoder{BigEndian: m.BigEndian}.Decode(m.Body) }

// DecodeColumnar decodes the message's value with tables in columnar form.
func (m Message) DecodeColumnar() (any, error) {
	return Decoder{BigEndian: m.BigEndian, Columnar: true}.Decode(m.Body)
}

// readChunk is the step by which ReadMessage grows its buffer: memory
// follows the bytes that arrive, never a length field alone.
const readChunk = 64 << 10

// ReadMessage reads one message from r. max bounds the message's declared
// length and, for a compressed message, its uncompressed length (0 means
// DefaultMaxMessage). The buffer grows with the bytes that have actually
// arrived (at most twice them plus 64 KiB), so a peer that announces a
// large message and sends little costs little memory.
func ReadMessage(r io.Reader, max int) (Message, error) {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Message{}, err
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch h[0] {
	case 0:
		order = binary.BigEndian
	case 1:
	default:
		return Message{}, fmt.Errorf("ipc: bad header: endianness byte %d", h[0])
	}
	if h[1] > 2 {
		return Message{}, fmt.Errorf("ipc: bad header: message type %d", h[1])
	}
	if h[2] > 1 {
		return Message{}, fmt.Errorf("ipc: bad header: compression byte %d", h[2])
	}
	n := int(order.Uint32(h[4:]))
	if n < HeaderSize || n > maxWireLen {
		return Message{}, fmt.Errorf("ipc: bad header: message length %d", n)
	}
	if n > max {
		return Message{}, &TooLargeError{Size: n, Max: max}
	}
	body := make([]byte, 0, min(n-HeaderSize, readChunk))
	for len(body) < n-HeaderSize {
		want := n - HeaderSize
		if cap(body) == len(body) {
			grown := make([]byte, len(body), min(want, 2*len(body)+readChunk))
			copy(grown, body)
			body = grown
		}
		k, err := io.ReadFull(r, body[len(body):min(want, cap(body))])
		body = body[:len(body)+k]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Message{}, err
		}
	}
	m := Message{Type: MsgType(h[1]), BigEndian: h[0] == 0, Compressed: h[2] == 1, Body: body}
	if m.Compressed {
		b, err := Decompress(body, order, max)
		if err != nil {
			return Message{}, err
		}
		m.Body = b
	}
	return m, nil
}

// EncodeMessage returns a whole message of type t carrying v. When
// compressAbove is positive and the message is larger than that many bytes,
// it is compressed if that halves it at least (q's rule; see Compress).
func EncodeMessage(t MsgType, v any, compressAbove int) ([]byte, error) {
	b, err := AppendMessage(nil, t, v)
	if err != nil {
		return nil, err
	}
	if compressAbove > 0 && len(b) > compressAbove {
		if c := Compress(b); c != nil {
			return c, nil
		}
	}
	return b, nil
}
