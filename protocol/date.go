package protocol

import (
	"errors"
	"net/http"
	"time"
)

// DateFormat is the IMF-fixdate layout of envelope dates (RFC 7231), the
// same as http.TimeFormat: "Fri, 26 Jul 2019 15:59:00 GMT".
const DateFormat = http.TimeFormat

// FormatDate formats t in UTC as an IMF-fixdate.
func FormatDate(t time.Time) string { return t.UTC().Format(DateFormat) }

// ErrDate is returned by ParseDate for a value that is not an IMF-fixdate.
var ErrDate = errors.New(`date must be an IMF-fixdate in GMT, like "Fri, 26 Jul 2019 15:59:00 GMT" (JavaScript: new Date().toUTCString())`)

// ParseDate parses an IMF-fixdate strictly: the value must be exactly what
// FormatDate produces for the instant it names (two-digit day, GMT, correct
// weekday).
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateFormat, s)
	if err != nil || t.Format(DateFormat) != s {
		return time.Time{}, ErrDate
	}
	return t, nil
}
