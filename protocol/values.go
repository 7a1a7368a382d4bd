package protocol

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qconnect/qconnect"
)

// The text layouts of PROTOCOL 4.3.
const (
	TimestampLayout = "2006-01-02T15:04:05.000000000Z"
	DateLayout      = "2006-01-02"
)

// AppendText appends the PROTOCOL 4.3 text form of v (declared type t) to
// dst, without JSON quoting: the form used inside JSON strings and as a CSV
// field. It reports false, appending nothing, when the value is null (nil,
// NaN or ±Inf for floats).
func AppendText(dst []byte, t qconnect.Type, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return dst, false
	case bool:
		return strconv.AppendBool(dst, x), true
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), true
	case float64:
		return appendFloat(dst, x, 64)
	case float32:
		return appendFloat(dst, float64(x), 32)
	case string:
		return append(dst, x...), true
	case time.Time:
		if t == qconnect.Date {
			return x.UTC().AppendFormat(dst, DateLayout), true
		}
		return x.UTC().AppendFormat(dst, TimestampLayout), true
	case time.Duration:
		if t == qconnect.Time {
			return appendTimeOfDay(dst, x), true
		}
		return AppendTimespan(dst, x), true
	case [16]byte:
		return appendGUID(dst, x), true
	case []byte:
		return append(dst, x...), true
	}
	return fmt.Appendf(dst, "%v", v), true
}

// appendFloat formats like encoding/json: shortest representation, exponent
// form only for very small or very large magnitudes.
func appendFloat(dst []byte, f float64, bits int) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			fmtc = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, fmtc, -1, bits)
	if fmtc == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

func appendTimeOfDay(dst []byte, d time.Duration) []byte {
	if d < 0 {
		dst = append(dst, '-')
		d = -d
	}
	ms := int64(d / time.Millisecond)
	h, m, s, f := ms/3600000, ms/60000%60, ms/1000%60, ms%1000
	dst = appendPad(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, m, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, s, 2)
	dst = append(dst, '.')
	return appendPad(dst, f, 3)
}

// AppendTimespan appends d in q style: [-]NDHH:MM:SS.nnnnnnnnn.
func AppendTimespan(dst []byte, d time.Duration) []byte {
	u := uint64(d)
	if d < 0 {
		dst = append(dst, '-')
		u = uint64(-(d + 1)) + 1 // also correct for math.MinInt64
	}
	const day = uint64(24 * time.Hour)
	days, rest := u/day, u%day
	dst = strconv.AppendUint(dst, days, 10)
	dst = append(dst, 'D')
	ns := rest % 1e9
	secs := rest / 1e9
	dst = appendPad(dst, int64(secs/3600), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, int64(secs/60%60), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, int64(secs%60), 2)
	dst = append(dst, '.')
	return appendPad(dst, int64(ns), 9)
}

func appendPad(dst []byte, v int64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

func appendGUID(dst []byte, g [16]byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], g[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], g[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], g[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], g[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], g[10:])
	return append(dst, buf[:]...)
}

// AppendJSON appends the PROTOCOL 4.3 JSON value of v (declared type t):
// numbers and booleans bare, null for nulls, every other type as a string.
func AppendJSON(dst []byte, t qconnect.Type, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool, int64, int, int32, int16, float64, float32:
		out, ok := AppendText(dst, t, x)
		if !ok {
			return append(dst, "null"...)
		}
		return out
	case string:
		return AppendJSONString(dst, x)
	case []byte:
		return AppendJSONString(dst, string(x))
	}
	dst = append(dst, '"')
	dst, _ = AppendText(dst, t, v) // text forms of the other types need no escaping
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// control characters, U+2028 and U+2029 are escaped.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// DecodeValue converts a JSON value of a result row (as decoded by
// encoding/json with UseNumber) to the Go value of the declared column type
// (see the qconnect package doc). It is the inverse of AppendJSON.
func DecodeValue(t qconnect.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case qconnect.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case qconnect.Long, qconnect.Int, qconnect.Short:
		if n, ok := v.(json.Number); ok {
			return strconv.ParseInt(string(n), 10, 64)
		}
	case qconnect.Float, qconnect.Real:
		if n, ok := v.(json.Number); ok {
			return strconv.ParseFloat(string(n), 64)
		}
	default:
		s, ok := v.(string)
		if !ok {
			break
		}
		return ParseText(t, s)
	}
	return nil, fmt.Errorf("a %s value cannot be %T", t, v)
}

// ParseText parses the PROTOCOL 4.3 text form of a value of type t.
func ParseText(t qconnect.Type, s string) (any, error) {
	switch t {
	case qconnect.Boolean:
		return strconv.ParseBool(s)
	case qconnect.Long, qconnect.Int, qconnect.Short:
		return strconv.ParseInt(s, 10, 64)
	case qconnect.Float, qconnect.Real:
		return strconv.ParseFloat(s, 64)
	case qconnect.Timestamp:
		return time.Parse(time.RFC3339Nano, s)
	case qconnect.Date:
		return time.Parse(DateLayout, s)
	case qconnect.Time:
		tt, err := time.Parse("15:04:05.000", s)
		if err != nil {
			return nil, err
		}
		return time.Duration(tt.Hour())*time.Hour + time.Duration(tt.Minute())*time.Minute +
			time.Duration(tt.Second())*time.Second + time.Duration(tt.Nanosecond()), nil
	case qconnect.Timespan:
		return ParseTimespan(s)
	case qconnect.GUID:
		var g [16]byte
		h := strings.ReplaceAll(s, "-", "")
		if len(h) != 32 || len(s) != 36 {
			return nil, fmt.Errorf("guid %q is not a canonical UUID", s)
		}
		if _, err := hex.Decode(g[:], []byte(h)); err != nil {
			return nil, fmt.Errorf("guid %q is not a canonical UUID", s)
		}
		return g, nil
	}
	return s, nil
}

// ParseTimespan parses the q-style form written by AppendTimespan.
func ParseTimespan(s string) (time.Duration, error) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	dstr, clock, ok := strings.Cut(body, "D")
	if !ok {
		return 0, fmt.Errorf("timespan %q is not of the form NDHH:MM:SS.nnnnnnnnn", s)
	}
	days, err := strconv.ParseUint(dstr, 10, 32)
	if err != nil || len(clock) != 18 || clock[2] != ':' || clock[5] != ':' || clock[8] != '.' {
		return 0, fmt.Errorf("timespan %q is not of the form NDHH:MM:SS.nnnnnnnnn", s)
	}
	var parts [4]uint64
	for i, p := range []string{clock[0:2], clock[3:5], clock[6:8], clock[9:]} {
		if parts[i], err = strconv.ParseUint(p, 10, 64); err != nil {
			return 0, fmt.Errorf("timespan %q is not of the form NDHH:MM:SS.nnnnnnnnn", s)
		}
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(parts[0])*time.Hour +
		time.Duration(parts[1])*time.Minute + time.Duration(parts[2])*time.Second + time.Duration(parts[3])
	if neg {
		d = -d
	}
	return d, nil
}

// JSONRowKeys returns, per column, what precedes its value in a JSON row
// object (PROTOCOL 4.3): the column's name as a JSON string and ':', with
// a ',' in front of every key but the first.
func JSONRowKeys(cols []qconnect.Column) [][]byte {
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = AppendJSONString(k, c.Name)
		keys[i] = append(k, ':')
	}
	return keys
}
