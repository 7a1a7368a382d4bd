// Package ipc is a codec and client for the kdb+ IPC protocol (the wire
// format q processes speak to each other and to clients), written from the
// public description of the protocol. It has no dependency outside the
// standard library and the qconnect domain package, and can be used on its
// own.
//
// # Messages
//
// A message is an 8-byte header followed by one serialized value:
//
//	byte 0     endianness: 1 little-endian, 0 big-endian
//	byte 1     message type: 0 async, 1 sync, 2 response (MsgType)
//	byte 2     1 when the body is compressed
//	byte 3     reserved (0)
//	bytes 4-7  total length of the message, header included
//
// ReadMessage reads one message from an io.Reader, decoding either
// endianness and decompressing when needed; AppendMessage writes one,
// always little-endian. A compressed message carries the uncompressed total
// length in bytes 8-11 and then q's byte-oriented LZ-style stream (one flag
// byte per 8 tokens; a token is a literal byte or a 2-byte back reference
// found through a 256-entry table hashed on the XOR of two adjacent bytes);
// Compress and Decompress implement it exactly as q does, byte for byte.
//
// # Values
//
// Each q type has one Go representation, used both ways (see Marshal and
// Unmarshal):
//
//	q type          atom (negative type)      vector (positive type)
//	boolean   1     bool                      []bool
//	guid      2     GUID                      []GUID
//	byte      4     byte                      []byte
//	short     5     int16                     []int16
//	int       6     int32                     []int32
//	long      7     int64                     []int64
//	real      8     float32                   []float32
//	float     9     float64                   []float64
//	char     10     Char                      string
//	symbol   11     Symbol                    []string
//	timestamp 12    Timestamp                 []Timestamp
//	month    13     Month                     []Month
//	date     14     Date                      []Date
//	datetime 15     Datetime                  []Datetime
//	timespan 16     Timespan                  []Timespan
//	minute   17     Minute                    []Minute
//	second   18     Second                    []Second
//	time     19     Time                      []Time
//	general list 0                            []any
//	table   98      Table
//	dict    99      Dict (a keyed table is a Dict of two Tables)
//	error  -128     *Error
//	::      101     Identity (nil marshals as ::)
//	lambda  100     Lambda
//
// Temporal values keep q's own encoding (epoch 2000.01.01); their methods
// convert to time.Time and time.Duration. Nulls and infinities are q's
// in-band values (NullLong, InfLong, ...); IsNull tells them apart.
//
// For results meant for the gateway, UnmarshalColumnar decodes typed
// vectors straight into qconnect.Vector values, converting q's epoch and
// nulls once per vector (see ToVector for the type mapping).
//
// # Hostile input
//
// No length field is trusted. ReadMessage refuses a declared length above
// the configured maximum and otherwise grows its buffer with the bytes that
// actually arrive (at most twice them plus 64 KiB), so a peer announcing a
// large message and sending little costs little memory. Decompress grows
// its output with what the stream really produces, refuses a declared size
// that the compressed bytes cannot expand to (at most 129 times) and checks
// every back reference. The decoder checks each count against the bytes
// left before it allocates, so what it allocates is a small constant
// multiple of the message (at most 16 bytes per byte, for a vector of empty
// symbols); nesting depth is bounded (Decoder.MaxDepth); malformed input is
// an error, never a panic or a hang (FuzzDecode).
//
// # Connections
//
// Dial opens a connection and performs the handshake: the client sends
// "user:password", one capability byte and a NUL; q answers with one byte,
// the capability it accepts, or closes the socket to refuse the login. This
// package asks for capability 3 (compression, timestamps, timespans and
// guids, messages up to 2 GB). Capability 6 would add messages larger than
// 2 GB, including compressed ones, which this package does not implement.
package ipc
