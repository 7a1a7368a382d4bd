// Package protocol is the Connect wire protocol of PROTOCOL.md, shared by the
// server and the SDK: the request and response envelopes (section 1), the
// IMF-fixdate clock format, the request signature and the Authorization
// value (section 3), the error code to HTTP status table (section 8) and the
// JSON and text forms of typed values (section 4.3).
//
// It imports only the standard library and the domain package.
package protocol
