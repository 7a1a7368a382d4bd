package protocol

import (
	"testing"

	"github.com/qconnect/qconnect"
)

// FuzzParseRequest checks that no input panics, that every rejection is a
// badRequest, and that an accepted envelope has its required keys.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"type":"getMemReq","msg":[{"start":"2019-07-26T09:00:00Z"}],"id":"e1","date":"Fri, 26 Jul 2019 16:59:00 GMT"}`))
	f.Add([]byte(`{"type":"LoginReq","id":"x","date":"d","msg":[{"username":"u","password":"p"}]}`))
	f.Add([]byte(`{"type":"a","type":"b"}`))
	f.Add([]byte(`[[[[{}]]]]`))
	f.Add([]byte("{\"type\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if r == nil {
			t.Fatal("nil request")
		}
		if err != nil {
			if qconnect.ErrorCode(err) != qconnect.CodeBadRequest {
				t.Fatalf("error %v is not badRequest", err)
			}
			return
		}
		if r.Type == "" || r.ID == "" || r.Date == "" || r.Msg == nil {
			t.Fatalf("accepted envelope missing keys: %+v", r)
		}
	})
}

// FuzzParseAuthorization checks that parsing never panics and that an
// accepted value round-trips through Authorization.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("kxSupportgKoPl:bZiT40pIQ9DGTJUTAlvUsnugo4Y=")
	f.Add("ops:eufXzEy:5NWh2Do1xssWJUuLJvGDzP9O24c=")
	f.Add(":::::::")
	f.Add("abcde:")
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseAuthorization(v)
		if err != nil {
			return
		}
		if c.Username == "" || len(c.Suffix) != SuffixLen {
			t.Fatalf("accepted %q as %+v", v, c)
		}
		if got := c.Username + c.Suffix + ":" + c.Signature; got != v {
			t.Fatalf("round trip %q != %q", got, v)
		}
	})
}
