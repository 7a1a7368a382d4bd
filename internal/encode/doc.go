// Package encode writes method results in the four body formats of
// PROTOCOL 4.4 — the JSON envelope, NDJSON, CSV and the Arrow IPC stream —
// as the rows stream from a backend.
//
// # Use
//
// The server picks a Format with Negotiate (from the Accept header) or the
// CLI with ParseFormat, declares the format's TrailerKeys, sets
// Content-Type to Format.ContentType, then calls New, WriteBatch for every
// batch of rows and Finish exactly once:
//
//	w, err := encode.New(f, rw, encode.Header{Type: "getMemResp", ID: id, Date: date}, cols, setTrailer)
//	for each batch { err = w.WriteBatch(rows) }
//	err = w.Finish(meta, callErr) // callErr == nil: success
//
// New writes nothing. The first WriteBatch with rows, or Finish, writes the
// start of the body (the envelope keys, the CSV header row, the Arrow
// schema), so a server can still send a plain error response when the call
// fails before its first row.
//
// # Content negotiation
//
// Negotiate implements the Accept matching of RFC 9110 section 12.5.1 over
// the four media types of PROTOCOL 4.4: the most specific media range that
// matches a format gives its q-value, the highest q wins, and ties go to the
// format whose range comes first in the header, then to JSON, NDJSON, CSV,
// Arrow in that order. When nothing acceptable is supported (an Accept that
// names only other types, or gives every supported type q=0), the server
// answers with JSON rather than 406 Not Acceptable: RFC 9110 lets a server
// disregard Accept, and a JSON envelope carries a readable error or result
// that every client of the protocol can parse. An empty Accept, "*/*" and
// "application/*" all select JSON.
//
// # Values
//
// Values follow the convention of the qconnect package doc; int, int32 and
// int16 are accepted for integer columns, float32 and integers for float
// columns. A value whose Go type does not fit its column is a bug in the
// backend: WriteBatch returns an error and the server reports internal.
// Float NaN and ±Inf are null in every format (null in JSON and NDJSON, an
// empty CSV field, an Arrow null), so the four formats carry the same table.
// Invalid UTF-8 in strings becomes U+FFFD, byte by byte, in every format.
//
// # Failure after rows were sent
//
// Finish with a non-nil error reports it inside the body (PROTOCOL 4.4):
// JSON ends with "success":false and the error object after the rows,
// NDJSON's final line carries them, CSV sets the trailer
// "Connect-Status: error <code> <message>", and an Arrow stream is cut
// without its end-of-stream marker. Readers of the Arrow IPC stream format
// treat a stream that stops at a message boundary as complete (arrow-go's
// ipc.Reader does), so the cut stream ends with a lone continuation marker
// (0xFFFFFFFF) and no message length: a reader that follows the format
// needs the 4-byte length after the marker and fails with an unexpected end
// of stream (tested with arrow-go) instead of returning the rows as a whole
// result. The server should also abort the connection in this case.
//
// # Memory
//
// A Writer holds the encoded form of at most one batch (a batch that encodes
// to more than 1 MiB is written out in chunks of about 1 MiB), plus, for
// Arrow, that batch's arrays. Nothing grows with the number of rows in the
// result; BenchmarkEncodeResult shows the allocations per row do not change
// from 10 thousand to 1 million rows.
package encode
