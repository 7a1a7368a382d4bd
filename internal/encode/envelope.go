package encode

import (
	"encoding/json"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// The response envelope (PROTOCOL 1 and 4.3) is written here and only here:
// by the REST responses of the server, by the JSON and NDJSON result
// writers, and by the WebSocket's response frames. Its keys are in wire
// order: type, id, date, msg, meta (when there is one), success, error
// (when there is one).

// AppendHead appends the start every envelope shares: `{"type":…,"id":…,
// "date":…`. An empty h.ID is written as null (the request's id could not be
// read).
func AppendHead(dst []byte, h Header) []byte {
	dst = append(dst, `{"type":`...)
	dst = protocol.AppendJSONString(dst, h.Type)
	dst = append(dst, `,"id":`...)
	if h.ID == "" {
		dst = append(dst, "null"...)
	} else {
		dst = protocol.AppendJSONString(dst, h.ID)
	}
	dst = append(dst, `,"date":`...)
	return protocol.AppendJSONString(dst, h.Date)
}

// AppendMsgKey appends the head of an envelope whose msg follows, up to and
// including `"msg":` (a result streamed into the envelope).
func AppendMsgKey(dst []byte, h Header) []byte {
	return append(AppendHead(dst, h), `,"msg":`...)
}

// AppendEnvelope appends a complete envelope: msg (encoded by encoding/json;
// a nil msg is written as []), meta when not empty (raw JSON, e.g. from
// AppendMeta), then "success": true when err is nil, else "success": false
// and the error object. It fails only when msg cannot be encoded.
func AppendEnvelope(dst []byte, h Header, msg any, meta []byte, err *qconnect.Error) ([]byte, error) {
	// nil and an empty []any (errors, empty results) need no reflection;
	// a json.RawMessage is already encoded (a hot-path handler builds it
	// with append).
	body := []byte("[]")
	if m, ok := msg.(json.RawMessage); ok {
		body = m
	} else if l, ok := msg.([]any); msg != nil && (!ok || len(l) > 0) {
		var merr error
		if body, merr = json.Marshal(msg); merr != nil {
			return dst, merr
		}
	}
	dst = append(AppendMsgKey(dst, h), body...)
	if len(meta) > 0 {
		dst = append(append(dst, `,"meta":`...), meta...)
	}
	return AppendEnd(dst, err), nil
}

// AppendEnd appends what closes every envelope: the success key, the error
// object when err is not nil, and the closing brace.
func AppendEnd(dst []byte, err *qconnect.Error) []byte {
	if err == nil {
		return append(dst, `,"success":true}`...)
	}
	dst = append(dst, `,"success":false,"error":`...)
	return append(appendError(dst, err), '}')
}

// AppendMeta appends the meta object of PROTOCOL 4.3 for m (m.Columns must
// be set).
func AppendMeta(dst []byte, m Meta) []byte { return appendMeta(dst, m, m.Columns) }
