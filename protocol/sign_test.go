package protocol

import (
	"github.com/qconnect/qconnect/internal/testenv"
	"strings"
	"testing"
)

type vector = testenv.SigningVector

func loadVectors(t testing.TB) []vector { return testenv.SigningVectors(t) }

func input(v vector) SignInput {
	return SignInput{Verb: v.Verb, Path: v.Path, Username: v.Username,
		BodyMD5: BodyMD5([]byte(v.Body)), ContentType: v.ContentType, Date: v.Date}
}

func TestSigningVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			in := input(v)
			if in.BodyMD5 != v.BodyMD5 {
				t.Errorf("BodyMD5 = %s, want %s", in.BodyMD5, v.BodyMD5)
			}
			if got := StringToSign(in, v.SessionID); got != v.StringToSign {
				t.Errorf("StringToSign = %q, want %q", got, v.StringToSign)
			}
			sig := Sign(in, v.SessionID)
			if sig != v.Signature {
				t.Errorf("Sign = %s, want %s", sig, v.Signature)
			}
			if got := Authorization(v.Username, v.SessionID, sig); got != v.Authorization {
				t.Errorf("Authorization = %s, want %s", got, v.Authorization)
			}
			// The verifier side: parse the vector's Authorization and verify it.
			cred, err := ParseAuthorization(v.Authorization)
			if err != nil {
				t.Fatalf("ParseAuthorization(%q): %v", v.Authorization, err)
			}
			if cred.Username != v.Username || cred.Suffix != Suffix(v.SessionID) || cred.Signature != v.Signature {
				t.Errorf("ParseAuthorization = %+v", cred)
			}
			if !Verify(in, v.SessionID, cred.Signature) {
				t.Error("Verify rejected the vector's signature")
			}
			// Any change to any element must fail verification.
			bad := in
			bad.Date += " "
			if Verify(bad, v.SessionID, cred.Signature) {
				t.Error("Verify accepted a changed date")
			}
			bad = in
			bad.BodyMD5 = BodyMD5([]byte(v.Body + " "))
			if Verify(bad, v.SessionID, cred.Signature) {
				t.Error("Verify accepted a changed body")
			}
			if Verify(in, v.SessionID+"x", cred.Signature) {
				t.Error("Verify accepted another session id")
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	sig := "bZiT40pIQ9DGTJUTAlvUsnugo4Y="
	good := []struct{ in, user, suffix string }{
		{"kxSupportgKoPl:" + sig, "kxSupport", "gKoPl"},
		{"ops:eufXzEy:" + sig, "ops:eu", "fXzEy"},
		{"aBCDEF:" + sig, "a", "BCDEF"},
	}
	for _, g := range good {
		c, err := ParseAuthorization(g.in)
		if err != nil || c.Username != g.user || c.Suffix != g.suffix || c.Signature != sig {
			t.Errorf("ParseAuthorization(%q) = %+v, %v", g.in, c, err)
		}
	}
	bad := []string{
		"", ":", "abc", "ABCDE:" + sig, // no username character
		"kxSupportgKoPl:", "kxSupportgKoPl:notbase64!!", "kxSupportgKoPl:" + sig[:len(sig)-1],
		"kxSupportgKoPl:" + "AAAA", "kx Support:" + sig, "kxSupportgKoPl:" + sig + "\n",
		"kxSupportgKoPl:" + "bZiT40pIQ9DGTJUTAlvUsnugo4Y", // missing padding
	}
	for _, b := range bad {
		if c, err := ParseAuthorization(b); err == nil {
			t.Errorf("ParseAuthorization(%q) = %+v, want error", b, c)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	v := loadVectors(b)[0]
	body := []byte(v.Body)
	b.ReportAllocs()
	for b.Loop() {
		in := input(v)
		in.BodyMD5 = BodyMD5(body)
		_ = Sign(in, v.SessionID)
	}
}

func BenchmarkVerify(b *testing.B) {
	v := loadVectors(b)[0]
	body := []byte(v.Body)
	b.ReportAllocs()
	for b.Loop() {
		c, err := ParseAuthorization(v.Authorization)
		if err != nil {
			b.Fatal(err)
		}
		in := input(v)
		in.BodyMD5 = BodyMD5(body)
		if !Verify(in, v.SessionID, c.Signature) {
			b.Fatal("verify failed")
		}
	}
}

// Key.Verify answers as Verify does: for right and wrong signatures, for
// keys shorter and longer than the SHA-1 block, and for malformed Base64.
func TestKeyVerifyMatchesVerify(t *testing.T) {
	in := SignInput{Verb: "POST", Path: "/connect/api/auth/ping", Username: "alice",
		BodyMD5: BodyMD5([]byte(`{"type":"PingReq"}`)), ContentType: "application/json", Date: "Fri, 26 Jul 2019 15:59:00 GMT"}
	for _, id := range []string{"", "k", "0123456789abcdef0123456789abcdef0123456789A", strings.Repeat("x", 64), strings.Repeat("long", 40)} {
		k := NewKey(id)
		good := Sign(in, id)
		if !k.Verify(in, id, good) || !Verify(in, id, good) {
			t.Fatalf("key %q: the right signature is refused", id)
		}
		other := in
		other.Date = "Fri, 26 Jul 2019 15:59:01 GMT"
		bad := Sign(other, id)
		for _, sig := range []string{bad, good[:27] + "A", "", "not base64 at all!!!!!!!!!!!", good + "="} {
			if k.Verify(in, id, sig) != Verify(in, id, sig) {
				t.Fatalf("key %q, signature %q: Key.Verify %v, Verify %v", id, sig, k.Verify(in, id, sig), Verify(in, id, sig))
			}
		}
		if k.Verify(in, id, bad) {
			t.Fatalf("key %q: a signature of another date was accepted", id)
		}
		if k.Verify(in, id+"x", good) {
			t.Fatalf("key %q: a signature was accepted with another session id in the string to sign", id)
		}
	}
}
