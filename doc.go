// Package qconnect holds the domain of the qconnect gateway: the declared
// methods of the catalog, their typed parameters and result columns, the
// Backend contract that engines implement, and the one error type that carries
// a wire code (PROTOCOL.md section 8).
//
// This package imports only the standard library. Adapters (catalog loading,
// engines, encoders, the HTTP server, the SDK) import it; it imports none of
// them. Only cmd/qconnect wires concrete types together.
//
// # Values
//
// Typed values travel between the server, the engines and the encoders as
// plain Go values, one convention for every package:
//
//	boolean                  bool
//	long, int, short         int64
//	float, real              float64 (NaN and ±Inf are encoded as null)
//	string, symbol, char     string
//	timestamp                time.Time (UTC, nanosecond precision)
//	date                     time.Time (midnight UTC of that day)
//	time                     time.Duration since midnight
//	timespan                 time.Duration
//	guid                     [16]byte
//	dict                     map[string]any (decoded JSON, passed through)
//	T[] (parameters only)    []any of the element convention
//	null                     nil
package qconnect
