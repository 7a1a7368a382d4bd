// Package client is the Go SDK of the qconnect gateway: it speaks the Connect
// wire protocol of PROTOCOL.md (login with a LoginReq envelope, HMAC-SHA1
// signed calls to /connect/api/<group>/<method>, JSON table results, and the
// NDJSON, CSV and Arrow streaming formats).
//
//	c, err := client.New("localhost:8080")
//	s, err := c.Login(ctx, "kxSupport", "12345678")
//	defer s.Logout(ctx)
//	res, err := s.Call(ctx, "monPublic/getMem", map[string]any{"syms": []string{"server_A"}})
//
// Results decode to the Go values of the qconnect package doc. Failures the
// gateway reports are *Error values carrying the wire code; ErrUnreachable,
// ErrNotGateway and ErrIncomplete tell a missing gateway, a wrong address and
// a cut result apart. The session id, which is the HMAC key, never leaves the
// Session: it is not exported, not printed and not sent after login.
//
// The package imports only the standard library, the domain package and
// protocol: no cgo and nothing of the server.
package client
