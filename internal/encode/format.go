package encode

import (
	"fmt"
	"strconv"
	"strings"
)

// Format is a result body format of PROTOCOL 4.4.
type Format string

// The formats of PROTOCOL 4.4.
const (
	JSON   Format = "json"
	NDJSON Format = "ndjson"
	CSV    Format = "csv"
	Arrow  Format = "arrow"
)

// TrailerStatus is the HTTP trailer that carries the outcome of a CSV body:
// "ok" or "error <code> <message>".
const TrailerStatus = "Connect-Status"

// allFormats lists every format in preference order (ties in Negotiate).
func allFormats() [4]Format { return [4]Format{JSON, NDJSON, CSV, Arrow} }

// ParseFormat returns the format named "json", "ndjson", "csv" or "arrow"
// (case-insensitive, surrounding spaces ignored).
func ParseFormat(name string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(name)))
	for _, g := range allFormats() {
		if f == g {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: use json, ndjson, csv or arrow", name)
}

// ContentType is the media type of the format's body, exactly as sent in
// Content-Type; "" for an unknown format.
func (f Format) ContentType() string {
	switch f {
	case JSON:
		return "application/json"
	case NDJSON:
		return "application/x-ndjson"
	case CSV:
		return "text/csv"
	case Arrow:
		return "application/vnd.apache.arrow.stream"
	}
	return ""
}

// TrailerKeys are the HTTP trailers the format's Writer may set in Finish;
// the server declares them (the Trailer header) before writing the header.
// Only CSV has one, TrailerStatus; the other formats return nil.
func (f Format) TrailerKeys() []string {
	if f == CSV {
		return []string{TrailerStatus}
	}
	return nil
}

// maxRanges bounds the media ranges of an Accept header that are looked at;
// the ranges after it are ignored.
const maxRanges = 64

// Negotiate picks the format for an Accept header value (see the package doc
// for the rules). It never fails: anything it cannot use selects JSON.
func Negotiate(accept string) Format {
	type match struct {
		q    int // q-value in thousandths; -1: no range matched
		spec int // 3 exact, 2 type/*, 1 */*
		pos  int // index of the matching range in the header
	}
	formats := allFormats()
	var best [len(formats)]match
	for i := range best {
		best[i].q = -1
	}
	for pos, r := range splitUnquoted(accept, ',', maxRanges) {
		typ, sub, q, ok := parseRange(r)
		if !ok {
			continue
		}
		for i, f := range formats {
			ft, fs, _ := strings.Cut(f.ContentType(), "/")
			spec := 0
			switch {
			case typ == ft && sub == fs:
				spec = 3
			case typ == ft && sub == "*":
				spec = 2
			case typ == "*" && sub == "*":
				spec = 1
			}
			// The most specific range decides; among equally specific
			// ranges the first one does.
			if spec > best[i].spec {
				best[i] = match{q: q, spec: spec, pos: pos}
			}
		}
	}
	pick, pickQ, pickPos := JSON, 0, 0
	for i, m := range best {
		if m.q <= 0 {
			continue
		}
		if m.q > pickQ || m.q == pickQ && m.pos < pickPos {
			pick, pickQ, pickPos = formats[i], m.q, m.pos
		}
	}
	return pick
}

// parseRange parses one media range with its parameters, returning the
// lower-cased type and subtype and the q-value in thousandths. Malformed
// ranges and q-values report ok == false.
func parseRange(r string) (typ, sub string, q int, ok bool) {
	parts := splitUnquoted(r, ';', maxRanges)
	mt := strings.ToLower(strings.TrimSpace(parts[0]))
	typ, sub, found := strings.Cut(mt, "/")
	if !found || typ == "" || sub == "" || typ == "*" && sub != "*" {
		return "", "", 0, false
	}
	q = 1000
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		if q, ok = parseQ(strings.TrimSpace(v)); !ok {
			return "", "", 0, false
		}
		break // parameters after q are accept-ext (RFC 7231); ignore them
	}
	return typ, sub, q, true
}

// parseQ parses an RFC 9110 qvalue: "0" to "1" with up to three decimals.
func parseQ(v string) (int, bool) {
	if len(v) == 0 || len(v) > 5 || v[0] != '0' && v[0] != '1' {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 || len(v) > 1 && v[1] != '.' {
		return 0, false
	}
	return int(f*1000 + 0.5), true
}

// splitUnquoted splits s at sep, except inside double-quoted strings (with
// backslash escapes), returning at most max parts.
func splitUnquoted(s string, sep byte, max int) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s) && len(out) < max; i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if len(out) < max {
		out = append(out, s[start:])
	}
	return out
}
