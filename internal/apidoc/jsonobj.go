package apidoc

import (
	"bytes"
	"encoding/json"
)

// object is a JSON object that keeps its keys in insertion order, so that the
// OpenAPI document and the examples are byte-for-byte deterministic and read
// in a sensible order (type, id, date, msg; properties in declaration order).
type object struct {
	keys []string
	vals []any
}

// obj builds an object from key, value pairs. It panics on an odd argument
// count or a non-string key: both are programming errors in this package.
func obj(kv ...any) *object {
	if len(kv)%2 != 0 {
		panic("apidoc: obj needs key, value pairs")
	}
	o := &object{}
	for i := 0; i < len(kv); i += 2 {
		o.set(kv[i].(string), kv[i+1])
	}
	return o
}

// set adds or replaces key; a new key goes last.
func (o *object) set(key string, v any) *object {
	for i, k := range o.keys {
		if k == key {
			o.vals[i] = v
			return o
		}
	}
	o.keys = append(o.keys, key)
	o.vals = append(o.vals, v)
	return o
}

// get returns the value of key.
func (o *object) get(key string) (any, bool) {
	for i, k := range o.keys {
		if k == key {
			return o.vals[i], true
		}
	}
	return nil, false
}

func (o *object) len() int { return len(o.keys) }

// MarshalJSON writes the keys in insertion order, without HTML escaping
// (descriptions hold "<user>" and "&" and must stay readable).
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encodeJSON(&b, k, ""); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := encodeJSON(&b, o.vals[i], ""); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encodeJSON appends v to b as JSON without HTML escaping and without a
// trailing newline; indent "" means compact.
func encodeJSON(b *bytes.Buffer, v any, indent string) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode appends '\n'
	return nil
}

// marshal returns v as compact JSON, or indented by two spaces.
func marshal(v any, indented bool) ([]byte, error) {
	var b bytes.Buffer
	indent := ""
	if indented {
		indent = "  "
	}
	if err := encodeJSON(&b, v, indent); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
