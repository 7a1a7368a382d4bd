package protocol

import (
	"encoding/json"
	"fmt"
)

// span is a half-open byte range of the body.
type span struct{ start, end int }

// envelopeScan is what one pass over a request body finds: the spans of the
// top-level values of interest and of each msg element.
type envelopeScan struct {
	fields map[string]span // top-level key → value span, for type, id, date, msg
	msg    []span          // elements of the top-level msg array, if it is one
}

// scanner validates JSON in one pass without building values: syntax (RFC
// 8259), nesting depth and duplicate keys in every object. It is the hot
// path of every request, so it does not allocate per value.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) fail() error { return errSyntax }

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// scanEnvelope checks that body is exactly one JSON object and records the
// spans of its top-level "type", "id", "date" and "msg" values.
func scanEnvelope(body []byte) (*envelopeScan, error) {
	s := &scanner{data: body}
	s.ws()
	if s.pos >= len(body) || body[s.pos] != '{' {
		return nil, badRequest("the body must be one JSON object (the request envelope)")
	}
	out := &envelopeScan{fields: make(map[string]span, 4)}
	if err := s.object(1, out); err != nil {
		return nil, err
	}
	s.ws()
	if s.pos != len(body) {
		return nil, badRequest("the body must hold exactly one JSON object, with nothing after it")
	}
	return out, nil
}

// value scans any JSON value at the given depth.
func (s *scanner) value(depth int) error {
	if s.pos >= len(s.data) {
		return s.fail()
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(depth+1, nil)
	case c == '[':
		return s.array(depth+1, nil)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.fail()
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.fail()
	}
	s.pos += len(lit)
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
		n++
	}
	return n
}

func (s *scanner) number() error {
	if s.data[s.pos] == '-' {
		s.pos++
	}
	if s.pos < len(s.data) && s.data[s.pos] == '0' {
		s.pos++
	} else if s.digits() == 0 {
		return s.fail()
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return s.fail()
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return s.fail()
		}
	}
	return nil
}

// str scans a string starting at its opening quote and returns the span of
// its content (without quotes) and whether it holds escapes.
func (s *scanner) str() (strSpan, error) {
	s.pos++ // opening quote
	start := s.pos
	escaped := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			sp := strSpan{span{start, s.pos}, escaped}
			s.pos++
			return sp, nil
		case c == '\\':
			escaped = true
			s.pos++
			if s.pos >= len(s.data) {
				return strSpan{}, s.fail()
			}
			switch s.data[s.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos++
			case 'u':
				if len(s.data)-s.pos < 5 {
					return strSpan{}, s.fail()
				}
				for _, h := range s.data[s.pos+1 : s.pos+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return strSpan{}, s.fail()
					}
				}
				s.pos += 5
			default:
				return strSpan{}, s.fail()
			}
		case c < 0x20:
			return strSpan{}, s.fail()
		default:
			s.pos++
		}
	}
	return strSpan{}, s.fail()
}

type strSpan struct {
	span
	escaped bool
}

// text returns the decoded string.
func (s *scanner) text(sp strSpan) string {
	if !sp.escaped {
		b := s.data[sp.start:sp.end]
		// The envelope's keys and the common request types, without
		// allocating a copy (a switch on string(b) does not allocate).
		switch string(b) {
		case "type":
			return "type"
		case "id":
			return "id"
		case "date":
			return "date"
		case "msg":
			return "msg"
		case "PingReq":
			return "PingReq"
		case "ExecuteReq":
			return "ExecuteReq"
		case "SubscribeReq":
			return "SubscribeReq"
		case "UnsubscribeReq":
			return "UnsubscribeReq"
		case "LoginReq":
			return "LoginReq"
		case "LogoutReq":
			return "LogoutReq"
		case "AuthReq":
			return "AuthReq"
		}
		return string(b)
	}
	var out string
	_ = json.Unmarshal(s.data[sp.start-1:sp.end+1], &out)
	return out
}

func tooDeep() error {
	return badRequest(fmt.Sprintf("the body nests deeper than %d levels", maxDepth))
}

// object scans an object at depth; when top is non-nil (the envelope) it
// records the spans of the keys of interest.
func (s *scanner) object(depth int, top *envelopeScan) error {
	if depth > maxDepth {
		return tooDeep()
	}
	s.pos++ // '{'
	var small [8]string
	keys := small[:0]
	var many map[string]struct{}
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.fail()
		}
		ks, err := s.str()
		if err != nil {
			return err
		}
		key := s.text(ks)
		dup := false
		if many != nil {
			_, dup = many[key]
			many[key] = struct{}{}
		} else {
			for _, k := range keys {
				if k == key {
					dup = true
					break
				}
			}
			if keys = append(keys, key); len(keys) > 16 {
				many = make(map[string]struct{}, 32)
				for _, k := range keys {
					many[k] = struct{}{}
				}
			}
		}
		if dup {
			return badRequest(fmt.Sprintf("duplicate key %q in a JSON object; send each key once", key))
		}
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.fail()
		}
		s.pos++
		s.ws()
		start := s.pos
		if top != nil && key == "msg" && s.pos < len(s.data) && s.data[s.pos] == '[' {
			err = s.array(depth+1, &top.msg)
		} else {
			err = s.value(depth)
		}
		if err != nil {
			return err
		}
		if top != nil {
			switch key {
			case "type", "id", "date", "msg":
				top.fields[key] = span{start, s.pos}
			}
		}
		s.ws()
		if s.pos >= len(s.data) {
			return s.fail()
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.fail()
		}
	}
}

// array scans an array at depth, recording element spans in elems if non-nil.
func (s *scanner) array(depth int, elems *[]span) error {
	if depth > maxDepth {
		return tooDeep()
	}
	s.pos++ // '['
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		if elems != nil && *elems == nil {
			*elems = []span{}
		}
		return nil
	}
	for {
		s.ws()
		start := s.pos
		if err := s.value(depth); err != nil {
			return err
		}
		if elems != nil {
			*elems = append(*elems, span{start, s.pos})
		}
		s.ws()
		if s.pos >= len(s.data) {
			return s.fail()
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.fail()
		}
	}
}
