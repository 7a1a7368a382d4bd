package client

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Publish sends rows to a publishing method ("group/name") with a signed
// REST call (PROTOCOL 7 publishing; msg [{"rows": rows}]) and returns the
// number of rows the gateway stored. Each row maps column names to values
// in the JSON form of PROTOCOL 4.3; time.Time values are sent as
// timestamps, time.Duration values as timespans and [16]byte values as
// GUIDs, other values as encoding/json writes them. A column left out is
// null.
//
// The gateway checks every row before storing any: a malformed batch is an
// *Error with Code invalidParams whose Details name the row and column, and
// nothing of it is stored or sent to subscribers. Publishing needs a write
// grant (forbidden otherwise). A batch larger than the gateway's body limit
// (1 MiB by default) is payloadTooLarge: send fewer rows per call.
func (s *Session) Publish(ctx context.Context, method string, rows []map[string]any) (int, error) {
	group, name, err := splitMethod(method)
	if err != nil {
		return 0, err
	}
	wire := make([]map[string]any, len(rows))
	for i, r := range rows {
		w := make(map[string]any, len(r))
		for k, v := range r {
			w[k] = rowValue(v)
		}
		wire[i] = w
	}
	body, id, err := s.c.envelope(name+"Req", []any{map[string]any{"rows": wire}})
	if err != nil {
		return 0, err
	}
	resp, err := s.c.post(ctx, s.hc, "/connect/api/"+group+"/"+name, body, FormatJSON)
	if err != nil {
		return 0, err
	}
	env, err := s.c.readEnvelope(resp, maxSmallBody, id, method)
	if err != nil {
		return 0, err
	}
	var m struct {
		Rows *int `json:"rows"`
	}
	if len(env.Msg) != 1 || json.Unmarshal(env.Msg[0], &m) != nil || m.Rows == nil {
		return 0, fmt.Errorf("%w: the publish response has no row count (msg [{\"rows\": N}])", ErrNotGateway)
	}
	return *m.Rows, nil
}

// rowValue converts the Go values whose PROTOCOL 4.3 form encoding/json
// does not write.
func rowValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		b, _ := protocol.AppendText(nil, qconnect.Timestamp, x)
		return string(b)
	case time.Duration:
		return string(protocol.AppendTimespan(nil, x))
	case [16]byte:
		b, _ := protocol.AppendText(nil, qconnect.GUID, x)
		return string(b)
	}
	return v
}
