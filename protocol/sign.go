package protocol

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"sync"
	"unsafe"
)

// SuffixLen is the number of trailing session-id characters carried in the
// Authorization value (PROTOCOL 3.1).
const SuffixLen = 5

// EmptyBodyMD5 is the BODY_MD5 of an empty body, used by the WebSocket AuthReq.
const EmptyBodyMD5 = "d41d8cd98f00b204e9800998ecf8427e"

// SignInput holds the elements of the string to sign (PROTOCOL 3.1), each
// exactly as sent.
type SignInput struct {
	Verb        string // "POST", or "GET" for the WebSocket AuthReq
	Path        string // request path without scheme, host or query
	Username    string
	BodyMD5     string // lower-case hex MD5 of the exact body bytes
	ContentType string // the Content-Type header exactly as sent
	Date        string // the envelope's date exactly as sent
}

// BodyMD5 returns the lower-case hex MD5 of body.
func BodyMD5(body []byte) string {
	sum := md5.Sum(body)
	return hex.EncodeToString(sum[:])
}

// StringToSign joins the elements and the session id with "\n".
func StringToSign(in SignInput, sessionID string) string {
	b := appendStringToSign(make([]byte, 0, stringToSignLen(in, sessionID)), in, sessionID)
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is not used again: one allocation
}

func stringToSignLen(in SignInput, sessionID string) int {
	return len(in.Verb) + len(in.Path) + len(in.Username) + len(in.BodyMD5) +
		len(in.ContentType) + len(in.Date) + len(sessionID) + 6
}

// appendStringToSign appends StringToSign(in, sessionID) to dst.
func appendStringToSign(dst []byte, in SignInput, sessionID string) []byte {
	for i, s := range [...]string{in.Verb, in.Path, in.Username, in.BodyMD5, in.ContentType, in.Date, sessionID} {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = append(dst, s...)
	}
	return dst
}

// mac returns the raw HMAC-SHA1 of the string to sign keyed by the session id.
func mac(in SignInput, sessionID string) []byte {
	h := hmac.New(sha1.New, []byte(sessionID))
	h.Write(appendStringToSign(make([]byte, 0, stringToSignLen(in, sessionID)), in, sessionID))
	return h.Sum(nil)
}

// Sign returns the Base64 (standard alphabet, padded) HMAC-SHA1 signature.
func Sign(in SignInput, sessionID string) string {
	return base64.StdEncoding.EncodeToString(mac(in, sessionID))
}

// Verify reports whether signature (as it appears in the Authorization
// value) is the signature of in under sessionID. The comparison of the
// decoded MAC is constant-time.
func Verify(in SignInput, sessionID, signature string) bool {
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(got) != sha1.Size {
		return false
	}
	return hmac.Equal(got, mac(in, sessionID))
}

// Authorization builds the Authorization value:
// username + last 5 characters of the session id + ":" + signature.
func Authorization(username, sessionID, signature string) string {
	return username + Suffix(sessionID) + ":" + signature
}

// Suffix returns the last SuffixLen characters of a session id.
func Suffix(sessionID string) string {
	if len(sessionID) <= SuffixLen {
		return sessionID
	}
	return sessionID[len(sessionID)-SuffixLen:]
}

// Credential is a parsed Authorization value.
type Credential struct {
	Username  string
	Suffix    string // last 5 characters of the session id
	Signature string // Base64, as sent
}

// ErrMalformedAuthorization is returned by ParseAuthorization for a value that
// does not have the form of PROTOCOL 3.1.
var ErrMalformedAuthorization = errors.New("the Authorization value must be <username><last 5 characters of the session id>:<Base64 HMAC-SHA1 signature>")

// ParseAuthorization splits an Authorization value at its last ':'. The part
// before it is the username followed by the 5-character session suffix and
// must hold at least one username character; the part after it must be the
// Base64 encoding of a 20-byte HMAC-SHA1. Only printable ASCII is accepted.
func ParseAuthorization(v string) (Credential, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return Credential{}, ErrMalformedAuthorization
		}
	}
	i := strings.LastIndexByte(v, ':')
	if i < SuffixLen+1 {
		return Credential{}, ErrMalformedAuthorization
	}
	head, sig := v[:i], v[i+1:]
	if len(sig) != base64.StdEncoding.EncodedLen(sha1.Size) {
		return Credential{}, ErrMalformedAuthorization
	}
	var raw [sigLen]byte // DecodedLen(28) = 21
	if n, err := base64.StdEncoding.Decode(raw[:], []byte(sig)); err != nil || n != sha1.Size {
		return Credential{}, ErrMalformedAuthorization
	}
	return Credential{
		Username:  head[:len(head)-SuffixLen],
		Suffix:    head[len(head)-SuffixLen:],
		Signature: sig,
	}, nil
}

// Key is a session id prepared for HMAC-SHA1: the hash states after the
// inner and outer key blocks, computed once, so that checking a signature
// hashes only the string to sign (two blocks fewer, and no allocation per
// call). Verify gives the same answers as the function Verify. Safe for
// concurrent use.
type Key struct {
	inner, outer []byte // marshalled sha1 states
}

// NewKey prepares sessionID as an HMAC-SHA1 key (RFC 2104: a key longer
// than the block is hashed first).
func NewKey(sessionID string) *Key {
	key := []byte(sessionID)
	if len(key) > sha1.BlockSize {
		s := sha1.Sum(key)
		key = s[:]
	}
	var ipad, opad [sha1.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	state := func(pad []byte) []byte {
		h := sha1.New()
		h.Write(pad)
		b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic("protocol: sha1 state cannot be marshalled: " + err.Error())
		}
		return b
	}
	return &Key{inner: state(ipad[:]), outer: state(opad[:])}
}

// sigLen is the length of a Base64 HMAC-SHA1 signature.
const sigLen = 28

// macState is a SHA-1 hash with the buffers one HMAC needs, pooled so that
// a check allocates nothing.
type macState struct {
	h        hash.Hash
	msg      []byte
	inner    [sha1.Size]byte
	out      [sha1.Size]byte
	restorer encoding.BinaryUnmarshaler
}

var macStates = sync.Pool{New: func() any {
	h := sha1.New()
	return &macState{h: h, restorer: h.(encoding.BinaryUnmarshaler), msg: make([]byte, 0, 512)}
}}

// Verify reports whether signature (Base64, as in the Authorization value)
// is the HMAC-SHA1 of in's string to sign under this key, whose session id
// is sessionID (the last line of the string to sign). The comparison is
// constant-time.
func (k *Key) Verify(in SignInput, sessionID, signature string) bool {
	if len(signature) != sigLen {
		return false
	}
	var got [sigLen]byte // DecodedLen(28) = 21 ≥ 20
	n, err := base64.StdEncoding.Decode(got[:], []byte(signature))
	if err != nil || n != sha1.Size {
		return false
	}
	mac := k.mac(in, sessionID)
	return subtle.ConstantTimeCompare(got[:n], mac[:]) == 1
}

// mac is the HMAC-SHA1 of in's string to sign.
func (k *Key) mac(in SignInput, sessionID string) [sha1.Size]byte {
	st := macStates.Get().(*macState)
	defer macStates.Put(st)
	if err := st.restorer.UnmarshalBinary(k.inner); err != nil {
		panic("protocol: sha1 state cannot be restored: " + err.Error())
	}
	msg := appendStringToSign(st.msg[:0], in, sessionID)
	st.h.Write(msg)
	if cap(msg) <= 4096 {
		st.msg = msg[:0]
	}
	inner := st.h.Sum(st.inner[:0])
	_ = st.restorer.UnmarshalBinary(k.outer)
	st.h.Write(inner)
	st.h.Sum(st.out[:0])
	return st.out
}
