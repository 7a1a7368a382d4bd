package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is the bcrypt cost HashPassword uses when given cost 0.
const DefaultCost = bcrypt.DefaultCost

// Password length limits enforced by HashPassword. bcrypt only looks at the
// first 72 bytes, so a longer password is refused rather than cut silently.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 72
)

// MaxCost is the highest bcrypt cost accepted, in HashPassword and in a users
// file: each step doubles the time of every login, and cost 16 already takes
// seconds, so a higher one would let a few logins occupy the gateway.
const MaxCost = 16

// Bounds on argon2id parameters accepted from a users file, so that one
// hand-written hash cannot make every login allocate gigabytes.
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 64
	minArgonSalt      = 8
	minArgonKey       = 16
	maxArgonKey       = 128
)

// HashPassword returns the bcrypt hash of password at the given cost (0 means
// DefaultCost; bcrypt.MinCost..MaxCost otherwise). It refuses
// passwords shorter than MinPasswordLength or longer than MaxPasswordLength
// bytes.
func HashPassword(password string, cost int) (string, error) {
	if cost == 0 {
		cost = DefaultCost
	}
	if cost < bcrypt.MinCost || cost > MaxCost {
		return "", fmt.Errorf("bcrypt cost %d is out of range; use %d to %d (default %d)", cost, bcrypt.MinCost, MaxCost, DefaultCost)
	}
	if err := checkPasswordLength(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return string(h), nil
}

func checkPasswordLength(password string) error {
	if len(password) < MinPasswordLength {
		return fmt.Errorf("the password is too short: use at least %d characters", MinPasswordLength)
	}
	if len(password) > MaxPasswordLength {
		return fmt.Errorf("the password is too long: bcrypt uses at most %d bytes; choose a shorter one", MaxPasswordLength)
	}
	return nil
}

// hashKind describes the algorithm and work factor of a stored hash, so that
// the dummy hash used for unknown users costs the same to check.
type hashKind struct {
	alg    string // "bcrypt" or "argon2id"
	cost   int    // bcrypt
	time   uint32 // argon2id
	memory uint32
	par    uint8
	keyLen uint32
}

// argonHash is a parsed argon2id PHC string.
type argonHash struct {
	time, memory uint32
	par          uint8
	salt, key    []byte
}

var errNotAHash = errors.New("not a recognised hash")

// parseHash checks that s is a bcrypt hash or an argon2id PHC string and
// returns its kind.
func parseHash(s string) (hashKind, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if len(s) != 60 {
			return hashKind{}, fmt.Errorf("a bcrypt hash is 60 characters long, this one has %d", len(s))
		}
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return hashKind{}, fmt.Errorf("invalid bcrypt hash: %v", err)
		}
		if cost > MaxCost {
			return hashKind{}, fmt.Errorf("bcrypt cost %d is above %d and would make every login take too long", cost, MaxCost)
		}
		return hashKind{alg: "bcrypt", cost: cost}, nil
	case strings.HasPrefix(s, "$argon2id$"):
		a, err := parseArgon2id(s)
		if err != nil {
			return hashKind{}, err
		}
		return hashKind{alg: "argon2id", time: a.time, memory: a.memory, par: a.par, keyLen: uint32(len(a.key))}, nil
	case strings.HasPrefix(s, "$argon2i$"), strings.HasPrefix(s, "$argon2d$"):
		return hashKind{}, errors.New("only the argon2id variant of argon2 is supported")
	}
	return hashKind{}, errNotAHash
}

// parseArgon2id parses "$argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<hash>"
// with salt and hash in unpadded standard Base64 (the PHC string format).
func parseArgon2id(s string) (argonHash, error) {
	bad := func(why string) (argonHash, error) {
		return argonHash{}, fmt.Errorf(`invalid argon2id hash (%s); expected "$argon2id$v=19$m=<KiB>,t=<iterations>,p=<threads>$<salt>$<hash>"`, why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("wrong number of $-separated fields")
	}
	if parts[2] != "v=19" {
		return bad("only version v=19 is supported")
	}
	var a argonHash
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return bad("parameter " + strconv.Quote(kv) + " is not key=value")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + k + " is not a number")
		}
		switch k {
		case "m":
			a.memory, seen[0] = uint32(n), true
		case "t":
			a.time, seen[1] = uint32(n), true
		case "p":
			if n > 255 {
				return bad("p must be 1 to 255")
			}
			a.par, seen[2] = uint8(n), true
		default:
			return bad("unknown parameter " + strconv.Quote(k))
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return bad("m, t and p are all required")
	}
	if a.time < 1 || a.time > maxArgonTime || a.par < 1 || a.memory < 8*uint32(a.par) || a.memory > maxArgonMemoryKiB {
		return bad(fmt.Sprintf("parameters out of range: need 1 <= t <= %d, 1 <= p, 8*p <= m <= %d KiB", maxArgonTime, maxArgonMemoryKiB))
	}
	var err error
	if a.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(a.salt) < minArgonSalt {
		return bad(fmt.Sprintf("the salt must be unpadded Base64 of at least %d bytes", minArgonSalt))
	}
	if a.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(a.key) < minArgonKey || len(a.key) > maxArgonKey {
		return bad(fmt.Sprintf("the hash must be unpadded Base64 of %d to %d bytes", minArgonKey, maxArgonKey))
	}
	return a, nil
}

// verifyHash reports whether password matches the stored hash. The
// comparison of the derived keys is constant-time.
func verifyHash(hash, password string) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		a, err := parseArgon2id(hash)
		if err != nil {
			return false
		}
		k := argon2.IDKey([]byte(password), a.salt, a.time, a.memory, a.par, uint32(len(a.key)))
		return subtle.ConstantTimeCompare(k, a.key) == 1
	}
	// bcrypt ignores bytes past the 72nd; refuse such passwords rather than
	// accept a longer one that shares the prefix, after the same work.
	ok := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	return ok && len(password) <= MaxPasswordLength
}

// dummyHash returns a hash of a random password with the same algorithm and
// work factor as kind, for checking passwords of unknown users.
func dummyHash(kind hashKind) string {
	secret := make([]byte, 32)
	rand.Read(secret) // never fails (crypto/rand)
	if kind.alg == "argon2id" {
		salt := make([]byte, 16)
		rand.Read(salt)
		key := argon2.IDKey(secret, salt, kind.time, kind.memory, kind.par, kind.keyLen)
		return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", kind.memory, kind.time, kind.par,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	}
	cost := kind.cost
	if cost == 0 {
		cost = DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword(secret[:24], cost)
	if err != nil { // not reached: cost came from a parsed hash, so it is in range
		h, _ = bcrypt.GenerateFromPassword(secret[:24], DefaultCost)
	}
	return string(h)
}
