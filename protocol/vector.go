package protocol

import (
	"strconv"
	"time"

	"github.com/qconnect/qconnect"
)

// VectorAppender appends the form of row i of a Vector to dst; see
// TextAppender and JSONAppender. It is chosen once per column, so that
// encoding a batch switches on the type once per column, not per value.
type VectorAppender func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool)

// TextAppender returns the appender of the PROTOCOL 4.3 text form of a
// column of type t (as AppendText): it reports false, appending nothing,
// for a null (including NaN and ±Inf floats). Strings are appended as they
// are (no quoting, no UTF-8 repair). It is safe for concurrent use.
func TextAppender(t qconnect.Type) VectorAppender { return textAppender(t, nil) }

// SerialTextAppender is TextAppender for one goroutine at a time (an
// encoder of one response): a timestamp column keeps the date text of its
// last value (DayCache), so that values of the same day format only their
// time. It appends exactly what TextAppender appends.
func SerialTextAppender(t qconnect.Type) VectorAppender {
	if t == qconnect.Timestamp {
		return textAppender(t, new(DayCache))
	}
	return textAppender(t, nil)
}

// textAppender is TextAppender, with timestamps through days when it is
// not nil.
func textAppender(t qconnect.Type, days *DayCache) VectorAppender {
	switch t {
	case qconnect.Boolean:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return strconv.AppendBool(dst, v.Bools[i]), true
		}
	case qconnect.Long, qconnect.Int, qconnect.Short:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return strconv.AppendInt(dst, v.Ints[i], 10), true
		}
	case qconnect.Float, qconnect.Real:
		// Reals are held as float64 too and formatted as such, so that
		// every value round-trips exactly.
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return AppendFloat(dst, v.Floats[i])
		}
	case qconnect.Timestamp:
		if days != nil {
			return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
				if v.IsNull(i) {
					return dst, false
				}
				return AppendTimestampCached(dst, v.Ints[i], days), true
			}
		}
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return AppendTimestamp(dst, v.Ints[i]), true
		}
	case qconnect.Date:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return AppendDate(dst, v.Ints[i]), true
		}
	case qconnect.Time:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return appendTimeOfDay(dst, time.Duration(v.Ints[i])), true
		}
	case qconnect.Timespan:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return AppendTimespan(dst, time.Duration(v.Ints[i])), true
		}
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return append(dst, v.Bytes(i)...), true
		}
	case qconnect.GUID:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return dst, false
			}
			return appendGUID(dst, v.GUIDs[i]), true
		}
	}
	return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) { return dst, false }
}

// JSONAppender returns the appender of the PROTOCOL 4.3 JSON value of a
// column of type t (as AppendJSON): numbers and booleans bare, null for
// nulls, every other type as a JSON string. It always reports true. It is
// safe for concurrent use.
func JSONAppender(t qconnect.Type) VectorAppender { return jsonAppender(t, TextAppender(t)) }

// SerialJSONAppender is JSONAppender for one goroutine at a time, as
// SerialTextAppender is TextAppender.
func SerialJSONAppender(t qconnect.Type) VectorAppender {
	return jsonAppender(t, SerialTextAppender(t))
}

// jsonAppender is JSONAppender on the text appender text of type t.
func jsonAppender(t qconnect.Type, text VectorAppender) VectorAppender {
	switch t.Storage() {
	case qconnect.StorageBool, qconnect.StorageFloat:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			out, ok := text(dst, v, i)
			if !ok {
				return append(dst, "null"...), true
			}
			return out, true
		}
	case qconnect.StorageInt:
		if t == qconnect.Long || t == qconnect.Int || t == qconnect.Short {
			return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
				if v.IsNull(i) {
					return append(dst, "null"...), true
				}
				return strconv.AppendInt(dst, v.Ints[i], 10), true
			}
		}
	case qconnect.StorageBytes:
		return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
			if v.IsNull(i) {
				return append(dst, "null"...), true
			}
			return appendJSONBytes(dst, v.Bytes(i)), true
		}
	}
	// Temporal types and guid: a string whose text needs no escaping.
	return func(dst []byte, v *qconnect.Vector, i int) ([]byte, bool) {
		if v.IsNull(i) {
			return append(dst, "null"...), true
		}
		dst = append(dst, '"')
		dst, _ = text(dst, v, i)
		return append(dst, '"'), true
	}
}

// appendJSONBytes is AppendJSONString for bytes, without a copy for the
// common case of bytes that need no escaping.
func appendJSONBytes(dst []byte, b []byte) []byte {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return AppendJSONString(dst, string(b))
		}
	}
	dst = append(dst, '"')
	dst = append(dst, b...)
	return append(dst, '"')
}
