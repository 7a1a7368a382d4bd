package protocol

import (
	"encoding/json"
	"strings"
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

// FuzzScanMatchesEncodingJSON checks the hand-written envelope scanner
// against encoding/json: everything it accepts is valid JSON, and every
// valid JSON object it rejects is rejected for a duplicate key or depth.
func FuzzScanMatchesEncodingJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,2.5e-3,-0,"x\u00e9\n"],"b":{"c":null,"d":true,"e":false}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"\u0061":1,"a":2}`))
	f.Add([]byte(`{"a":01}`))
	f.Add([]byte(` {"msg":[{},[]]} `))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := scanEnvelope(body)
		valid := json.Valid(body)
		if err == nil && !valid {
			t.Fatalf("scanner accepted invalid JSON %q", body)
		}
		var obj map[string]json.RawMessage
		if err != nil && valid && json.Unmarshal(body, &obj) == nil && obj != nil {
			msg := qconnect.AsError(err).Message
			if !strings.Contains(msg, "duplicate key") && !strings.Contains(msg, "nests deeper") {
				t.Fatalf("scanner rejected valid object %q: %s", body, msg)
			}
		}
	})
}
