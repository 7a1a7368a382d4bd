package qconnect

// The text parsers of PROTOCOL 4.2: long, timestamp, timespan.

import (
	"strconv"
	"strings"
	"time"
)

// parseLong converts the text of a JSON number to int64 when its value is a
// whole number within int64, whatever its notation (1.0, 1e3, 15e-1).
func parseLong(s string) (int64, string) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, ""
	}
	outOfRange := shortNumber(s) + " is out of range for a long (-9223372036854775808 to 9223372036854775807)"
	notInt := shortNumber(s) + " is not an integer; send a whole number"
	neg := strings.HasPrefix(s, "-")
	mant, exp := strings.TrimPrefix(s, "-"), ""
	if i := strings.IndexAny(mant, "eE"); i >= 0 {
		mant, exp = mant[:i], mant[i+1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	scale := -len(frac)
	if digits == "" {
		return 0, "" // zero, whatever the exponent
	}
	if exp != "" {
		e, err := strconv.Atoi(exp)
		if err != nil || e > 100 || e < -100 { // far beyond int64 either way
			if strings.HasPrefix(exp, "-") {
				return 0, notInt
			}
			return 0, outOfRange
		}
		scale += e
	}
	for strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		scale++
	}
	if scale < 0 {
		return 0, notInt
	}
	if len(digits)+scale > 19 {
		return 0, outOfRange
	}
	text := digits + strings.Repeat("0", scale)
	if neg {
		text = "-" + text
	}
	i, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, outOfRange
	}
	return i, ""
}

var (
	minTimestamp = time.Unix(0, -1<<63).UTC()
	maxTimestamp = time.Unix(0, 1<<63-1).UTC()
)

// parseTimestamp parses RFC 3339 with an optional offset (UTC when absent).
func parseTimestamp(s string) (time.Time, string) {
	bad := func() string { return quoteValue(s) + " is not an RFC 3339 timestamp (e.g. 2019-07-26T09:00:00Z)" }
	const shape = "dddd-dd-dd_dd:dd:dd"
	if len(s) < len(shape) || len(s) > 40 {
		return time.Time{}, bad()
	}
	for i := 0; i < len(shape); i++ {
		c := s[i]
		switch shape[i] {
		case 'd':
			if c < '0' || c > '9' {
				return time.Time{}, bad()
			}
		case '_':
			if c != 'T' && c != 't' && c != ' ' {
				return time.Time{}, bad()
			}
		default:
			if c != shape[i] {
				return time.Time{}, bad()
			}
		}
	}
	rest := s[19:] // [.fraction][offset]
	if strings.HasPrefix(rest, ".") {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return time.Time{}, bad()
		}
		if n > 10 {
			return time.Time{}, bad() + "; use at most 9 fraction digits"
		}
		rest = rest[n:]
	}
	offset := len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' && rest[1:3] <= "23" && rest[4:] <= "59"
	if !offset && rest != "" && rest != "Z" && rest != "z" {
		return time.Time{}, bad()
	}
	norm := s // as time.RFC3339Nano wants it: T, and Z or an offset
	if s[10] != 'T' || rest == "" || rest == "z" {
		norm = s[:10] + "T" + s[11:len(s)-len(rest)]
		if offset {
			norm += rest
		} else {
			norm += "Z"
		}
	}
	t, err := time.Parse(time.RFC3339Nano, norm)
	if err != nil {
		return time.Time{}, bad()
	}
	t = t.UTC()
	if t.Before(minTimestamp) || t.After(maxTimestamp) {
		return time.Time{}, quoteValue(s) + " is outside the supported range 1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z"
	}
	return t, ""
}

// parseTimespan parses a Go duration or an ISO 8601 duration.
func parseTimespan(s string) (time.Duration, string) {
	bad := func() string {
		return quoteValue(s) + " is not a duration; use Go form (90s, 1h30m) or ISO 8601 (PT1H30M)"
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 || len(s) > 64 {
		return 0, bad()
	}
	if body == "" || body[0] != 'P' && body[0] != 'p' {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad()
		}
		return d, ""
	}
	d, prob := parseISODuration(strings.ToUpper(body[1:]))
	if prob != "" {
		return 0, quoteValue(s) + prob
	}
	if s[0] == '-' {
		d = -d
	}
	return d, ""
}

// parseISODuration parses what follows the P of [nW][nD][T[nH][nM][n[.f]S]].
// It returns a problem that follows the quoted value in a message.
func parseISODuration(s string) (time.Duration, string) {
	const bad = " is not a duration; use Go form (90s, 1h30m) or ISO 8601 (PT1H30M)"
	units := map[byte]time.Duration{'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour,
		'H': time.Hour, 'M': time.Minute, 'S': time.Second}
	order := "WD" // designators still allowed, in order
	var total time.Duration
	inTime, seen := false, false
	for s != "" {
		if s[0] == 'T' && !inTime {
			inTime, order, s = true, "HMS", s[1:]
			if s == "" {
				return 0, bad
			}
			continue
		}
		n := 0
		for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '.') {
			n++
		}
		if n == 0 || n == len(s) || n > 30 {
			return 0, bad
		}
		num, unit := s[:n], s[n]
		s = s[n+1:]
		if !inTime && (unit == 'Y' || unit == 'M') {
			return 0, " uses years or months, which have no fixed length; use weeks or days (P30D)"
		}
		i := strings.IndexByte(order, unit)
		if i < 0 {
			return 0, bad
		}
		order = order[i+1:]
		whole, frac, hasFrac := strings.Cut(num, ".")
		if whole == "" || hasFrac && (unit != 'S' || frac == "" || len(frac) > 9 || strings.Contains(frac, ".")) {
			return 0, bad + "; only seconds may have a fraction, of at most 9 digits"
		}
		w, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || w > int64(1<<63-1)/int64(units[unit]) {
			return 0, " is too long; the longest timespan is about 292 years"
		}
		part := time.Duration(w) * units[unit]
		if hasFrac {
			f, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			part += time.Duration(f)
		}
		if part < 0 || total > 1<<63-1-part {
			return 0, " is too long; the longest timespan is about 292 years"
		}
		total += part
		seen = true
	}
	if !seen {
		return 0, bad
	}
	return total, ""
}
