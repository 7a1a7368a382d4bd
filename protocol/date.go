package protocol

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// DateFormat is the IMF-fixdate layout of envelope dates (RFC 7231), the
// same as http.TimeFormat: "Fri, 26 Jul 2019 15:59:00 GMT".
const DateFormat = http.TimeFormat

// FormatDate formats t in UTC as an IMF-fixdate.
func FormatDate(t time.Time) string { return t.UTC().Format(DateFormat) }

// dateCache is the last date ParseDate accepted: a gateway parses the same
// date (the current second's) thousands of times a second.
type dateCache struct {
	s string
	t time.Time
}

var lastParsed atomic.Pointer[dateCache]

// ErrDate is returned by ParseDate for a value that is not an IMF-fixdate.
var ErrDate = errors.New(`date must be an IMF-fixdate in GMT, like "Fri, 26 Jul 2019 15:59:00 GMT" (JavaScript: new Date().toUTCString())`)

// ParseDate parses an IMF-fixdate strictly: the value must be exactly what
// FormatDate produces for the instant it names (two-digit day, GMT, correct
// weekday).
func ParseDate(s string) (time.Time, error) {
	if c := lastParsed.Load(); c != nil && c.s == s {
		return c.t, nil
	}
	t, err := time.Parse(DateFormat, s)
	if err != nil || t.Format(DateFormat) != s {
		return time.Time{}, ErrDate
	}
	lastParsed.Store(&dateCache{s: s, t: t})
	return t, nil
}
