package kdb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/qconnect/qconnect"
)

// ProbeParam is the parameter through which a function allows a zero-row
// call: a method that declares a long parameter of this name is called at
// start-up with it set to 0 (every other parameter null), and the columns
// of the empty reply are checked against the declaration.
const ProbeParam = "limit"

// CheckMethods runs the start-up check of the methods bound to this
// connection: a zero-row call for each function method that allows one
// (see ProbeParam). Methods that do not allow one are checked at their
// first call (every reply is checked). It returns the mismatches, one line
// per method naming its position and the column; a connection that is down
// is not a mismatch and is returned as ErrNotChecked wrapped, so the caller
// can start anyway and let the first call check.
func (e *Engine) CheckMethods(ctx context.Context, methods []*qconnect.Method) error {
	var problems []string
	for _, m := range methods {
		if m.Backend != e.cfg.Name || m.Query == "" || m.Streaming || m.Publish {
			continue
		}
		p, ok := m.Param(ProbeParam)
		if !ok || p.Type != qconnect.Long || p.List {
			continue
		}
		params := map[string]any{ProbeParam: int64(0)}
		r, err := e.QueryRows(ctx, qconnect.Call{Method: m, Params: params})
		if err != nil {
			code := qconnect.ErrorCode(err)
			if code == qconnect.CodeUnavailable || code == qconnect.CodeTimeout || code == qconnect.CodeBusy || errors.Is(err, context.Canceled) {
				return fmt.Errorf("%w: %v", ErrNotChecked, err)
			}
			problems = append(problems, fmt.Sprintf("%s: method %s: %s", m.Pos, m.FullName(), qconnect.AsError(err).Message))
			continue
		}
		r.Close()
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// ErrNotChecked reports that the start-up check could not reach q.
var ErrNotChecked = errors.New("kdb+ not reachable at start-up; the columns will be checked at the first call")
