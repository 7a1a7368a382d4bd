// Package signed builds signed requests for in-process tests. It is apart
// from testenv because protocol's own tests use testenv, and this package
// uses protocol.
package signed

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/qconnect/qconnect/protocol"
)

// Ping returns a REST PingReq (POST /connect/api/auth/ping) with
// request id id and the date of now, signed for user with the session
// sessionID (PROTOCOL 3), ready for a handler's ServeHTTP in a test.
func Ping(user, sessionID, id string, now time.Time) *http.Request {
	date := protocol.FormatDate(now)
	body := []byte(`{"type":"PingReq","id":"` + id + `","date":"` + date + `","msg":[]}`)
	in := protocol.SignInput{Verb: "POST", Path: "/connect/api/auth/ping", Username: user,
		BodyMD5: protocol.BodyMD5(body), ContentType: "application/json", Date: date}
	req := httptest.NewRequest("POST", "/connect/api/auth/ping", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", protocol.Authorization(user, sessionID, protocol.Sign(in, sessionID)))
	return req
}
