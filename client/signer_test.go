package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/qconnect/qconnect/internal/testenv"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qconnect/qconnect/protocol"
)

type vector = testenv.SigningVector

func loadVectors(t testing.TB) []vector { return testenv.SigningVectors(t) }

// recorder is the http.RoundTripper under the Signer: it stands in for the
// network only, capturing the request exactly as it would be sent.
type recorder struct {
	req  *http.Request
	body []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.req = req
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		r.body = b
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: req}, nil
}

func TestSignerMatchesEveryVector(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			rec := &recorder{}
			s := NewSigner(rec, v.Username, v.SessionID)

			var body io.Reader
			if v.Body != "" {
				body = strings.NewReader(v.Body)
			}
			req, err := http.NewRequest(v.Verb, "http://gateway.test"+v.Path, body)
			if err != nil {
				t.Fatal(err)
			}
			if v.ContentType != "" {
				req.Header.Set("Content-Type", v.ContentType)
			}
			if v.Body == "" {
				req.Header.Set("Date", v.Date) // a bodiless request dates itself by header
			}
			if _, err := s.RoundTrip(req); err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			if got := rec.req.Header.Get("Authorization"); got != v.Authorization {
				t.Errorf("Authorization = %q, want %q", got, v.Authorization)
			}
			if got := string(rec.body); got != v.Body {
				t.Errorf("body passed on = %q, want the exact bytes %q", got, v.Body)
			}
			if v.Body != "" {
				if rec.req.ContentLength != int64(len(v.Body)) {
					t.Errorf("ContentLength = %d, want %d", rec.req.ContentLength, len(v.Body))
				}
				rc, err := rec.req.GetBody()
				if err != nil {
					t.Fatal(err)
				}
				again, _ := io.ReadAll(rc)
				if string(again) != v.Body {
					t.Errorf("GetBody = %q, want %q", again, v.Body)
				}
			}
			if req.Header.Get("Authorization") != "" {
				t.Error("the caller's request was modified: it has an Authorization header")
			}
			if got := protocol.BodyMD5([]byte(v.Body)); got != v.BodyMD5 {
				t.Errorf("body MD5 = %s, want %s", got, v.BodyMD5)
			}
			if got := s.Authorization(v.Verb, v.Path, v.ContentType, v.Date, []byte(v.Body)); got != v.Authorization {
				t.Errorf("Signer.Authorization = %q, want %q", got, v.Authorization)
			}
		})
	}
}

func TestSignerRejectsBodyWithoutDate(t *testing.T) {
	rec := &recorder{}
	s := NewSigner(rec, "alice", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo")
	for _, body := range []string{`{"type":"xReq","id":"1","msg":[]}`, `not json`, `{"date":5}`} {
		req, _ := http.NewRequest("POST", "http://gateway.test/connect/api/g/x", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if _, err := s.RoundTrip(req); err == nil || !strings.Contains(err.Error(), `"date"`) {
			t.Errorf("body %s: err = %v, want an error about the date key", body, err)
		}
	}
	if rec.req != nil {
		t.Error("an unsigned request was passed on")
	}
}

func TestSignerNeverPrintsSessionID(t *testing.T) {
	const sid = "SECRETsessionIDthatMustNeverBePrinted_0123"
	s := NewSigner(nil, "alice", sid)
	sess := &Session{Username: "alice", signer: s}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{s, *s, sess, *sess} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, sid) || strings.Contains(out, fmt.Sprintf("%x", sid)) {
				t.Errorf("fmt %s of %T prints the session id: %s", verb, v, out)
			}
			if !strings.Contains(out, "alice") {
				t.Errorf("fmt %s of %T = %q, want the username shown", verb, v, out)
			}
		}
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(sess); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), sid) {
		t.Errorf("JSON of a Session holds the session id: %s", buf.String())
	}
}
