package apidoc

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// The fixed values of every example envelope. They are those of PROTOCOL 3.2,
// so the documentation and the test vector read alike.
const (
	exampleID   = "e133598e-7b9e-429a-b3e5-bda881c47024"
	exampleDate = "Fri, 26 Jul 2019 16:59:00 GMT"
	// exampleUser and exampleSession are the credentials of the worked
	// signing example (PROTOCOL 3.2); they open no real session.
	exampleUser    = "kxSupport"
	exampleSession = "3q2-7w_9ZkL0pXr4TtYb8MvN1cHfJs6QeWuAiDgKoPl"
	// exampleStart and exampleEnd are the window of example timestamps.
	exampleStart = "2019-07-26T09:00:00Z"
	exampleEnd   = "2019-07-26T16:00:00Z"
	exampleDay   = "2019-07-26"
	exampleSpan  = "5m"
	exampleText  = "example"
	contentType  = "application/json"
)

// paramJSON returns the PROTOCOL 4.2 JSON form of a typed parameter value
// (see the qconnect package doc for the Go forms): the form a client sends.
func paramJSON(p qconnect.Param, v any) (any, error) {
	if !p.List {
		return elemJSON(p.Type, v)
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	default:
		// PROTOCOL 4.2 accepts a single T as a one-element list.
		items = []any{v}
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		j, err := elemJSON(p.Type, it)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

func elemJSON(t qconnect.Type, v any) (any, error) {
	bad := fmt.Errorf("%v (%T) is not a %s value", v, v, t)
	switch t {
	case qconnect.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case qconnect.Long:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		}
	case qconnect.Float:
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, bad
			}
			return x, nil
		case int64:
			return float64(x), nil
		}
	case qconnect.String, qconnect.Symbol:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case qconnect.Timestamp:
		if tm, ok := v.(time.Time); ok {
			return tm.UTC().Format(time.RFC3339Nano), nil
		}
	case qconnect.Date:
		if tm, ok := v.(time.Time); ok {
			return tm.UTC().Format(protocol.DateLayout), nil
		}
	case qconnect.Timespan:
		if d, ok := v.(time.Duration); ok {
			return ShortDuration(d), nil
		}
	case qconnect.Dict:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	}
	return nil, bad
}

// ShortDuration is d in Go duration syntax without zero tails: 10s, 5m,
// 1h30m, 24h, 1.5s. The CLI prints durations the same way.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// endLike matches parameter names that name the end of a window.
var endLike = regexp.MustCompile(`(?i)(end|until|stop|upto|^to$|_to$|To$)`)

// exampleWindow is the time window of the example timestamps and dates.
type exampleWindow struct{ start, end, day string }

// fixedWindow is the window of PROTOCOL 3.2's example (26 July 2019), used
// when no clock is given (Options.Now zero): the output then depends on the
// catalog only.
var fixedWindow = exampleWindow{exampleStart, exampleEnd, exampleDay}

// windowAt is the example window for a page built at now: the last full
// hour before now, and the day before now's date. A gateway's live data
// (the demo's covers the 48 hours before its start) then answers examples
// copied from the page.
func windowAt(now time.Time) exampleWindow {
	if now.IsZero() {
		return fixedWindow
	}
	end := now.UTC().Truncate(time.Hour)
	return exampleWindow{start: end.Add(-time.Hour).Format(time.RFC3339), end: end.Format(time.RFC3339),
		day: now.UTC().AddDate(0, 0, -1).Format(protocol.DateLayout)}
}

// exampleParams is exampleParamsIn with the fixed 2019 window.
func exampleParams(m *qconnect.Method) (*object, error) { return exampleParamsIn(m, fixedWindow) }

// exampleParamsIn is the example parameter dictionary of m, in declaration
// order. It holds every parameter that is required, has a default, an enum
// or a time type, except optional time parameters whose default the server
// computes (DefaultDoc, e.g. "one hour before end"): that default is the
// sensible first call and finds data, where an invented window may not.
// Optional free-form filters are left out too (sending an invented filter
// value would only return an empty result). Every value satisfies the
// declaration: enum → first value, numbers clamped into [min, max], strings
// and lists within maxLen, timestamps and dates within w.
func exampleParamsIn(m *qconnect.Method, w exampleWindow) (*object, error) {
	o := &object{}
	for _, p := range m.Params {
		v, ok, err := exampleValue(p, w)
		if err != nil {
			return nil, fmt.Errorf("%s: parameter %q of %s: default %w; fix the catalog declaration", m.Pos, p.Name, m.FullName(), err)
		}
		if ok {
			o.set(p.Name, v)
		}
	}
	return o, nil
}

// exampleValue returns the example JSON value of p and whether the example
// dictionary includes it.
func exampleValue(p qconnect.Param, w exampleWindow) (any, bool, error) {
	if p.Default != nil {
		v, err := paramJSON(p, p.Default)
		return v, true, err
	}
	timeLike := p.Type == qconnect.Timestamp || p.Type == qconnect.Date || p.Type == qconnect.Timespan
	include := p.Required || len(p.Enum) > 0 || (timeLike && p.DefaultDoc == "")
	if !include {
		return nil, false, nil
	}
	e := exampleElem(p, w)
	if p.List {
		return []any{e}, true, nil
	}
	return e, true, nil
}

// exampleElem is one example element of p's type.
func exampleElem(p qconnect.Param, w exampleWindow) any {
	if len(p.Enum) > 0 {
		return p.Enum[0]
	}
	switch p.Type {
	case qconnect.Boolean:
		return true
	case qconnect.Long:
		return int64(clamp(p, 10, true))
	case qconnect.Float:
		return clamp(p, 1.5, false)
	case qconnect.Timestamp:
		if endLike.MatchString(p.Name) {
			return w.end
		}
		return w.start
	case qconnect.Date:
		return w.day
	case qconnect.Timespan:
		if p.Min == nil && p.Max == nil {
			return exampleSpan
		}
		return ShortDuration(seconds(clamp(p, 300, false)))
	case qconnect.Dict:
		return map[string]any{}
	}
	s := exampleText
	if !p.List && p.MaxLen > 0 && len(s) > p.MaxLen {
		s = s[:p.MaxLen]
	}
	return s
}

// clamp moves v into p's [Min, Max]; integer bounds are rounded inwards.
func clamp(p qconnect.Param, v float64, integer bool) float64 {
	if p.Min != nil {
		lo := *p.Min
		if integer {
			lo = math.Ceil(lo)
		}
		v = math.Max(v, lo)
	}
	if p.Max != nil {
		hi := *p.Max
		if integer {
			hi = math.Floor(hi)
		}
		v = math.Min(v, hi)
	}
	return v
}

// requestType is the envelope type a client sends for m: the method name + "Req".
func requestType(m *qconnect.Method) string { return m.Name + "Req" }

// exampleEnvelope is the example request envelope of a REST call of m.
func exampleEnvelope(m *qconnect.Method, params *object) *object {
	msg := []any{}
	if params.len() > 0 {
		msg = []any{params}
	}
	return obj("type", requestType(m), "id", exampleID, "date", exampleDate, "msg", msg)
}

// subscribeFrame is the example WebSocket SubscribeReq frame of m (PROTOCOL 7).
func subscribeFrame(m *qconnect.Method, params *object) *object {
	return obj("type", "SubscribeReq", "id", exampleID, "date", exampleDate,
		"msg", []any{obj("method", m.FullName(), "params", params)})
}

// commandLine is the qconnect CLI invocation that makes the same call as the
// example envelope; login is "<host:port> <user> <password>" (cliLogin). The JSON goes in single quotes for POSIX shells.
func commandLine(m *qconnect.Method, params *object, login string) (string, error) {
	line := "qconnect call " + login + " " + m.FullName()
	if params.len() == 0 {
		return line, nil
	}
	js, err := marshal(params, false)
	if err != nil {
		return "", err
	}
	return line + " --params " + shellQuote(string(js)), nil
}

// cliLogin is the gateway arguments of the example command lines: the
// demo's credentials in demo mode, so that a copied line runs as is, else
// placeholders.
func cliLogin(opts Options) string {
	addr := opts.Addr
	if addr == "" {
		addr = "localhost:8080"
	}
	if opts.Demo != nil {
		return shellArg(addr) + " " + shellArg(opts.Demo.Username) + " " + shellArg(opts.Demo.Password)
	}
	return shellArg(addr) + " <user> <password>"
}

// defaultLogin is cliLogin of the zero Options.
const defaultLogin = "localhost:8080 <user> <password>"

// shellArg is s as one POSIX shell word: as is when it holds only safe
// characters, else single-quoted.
func shellArg(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_-/@%+=,") == "" {
		return s
	}
	return shellQuote(s)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// prettyEnvelope writes an envelope one key per line and the parameter
// dictionary of msg one parameter per line, with values compact: shorter
// than indented JSON, and still valid JSON equal to the compact form.
func prettyEnvelope(env *object) (string, error) {
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range env.keys {
		key, err := marshal(k, false)
		if err != nil {
			return "", err
		}
		b.WriteString("  " + string(key) + ": ")
		v := env.vals[i]
		if list, ok := v.([]any); ok && len(list) == 1 {
			if o, ok := list[0].(*object); ok && o.len() > 0 {
				b.WriteString("[{\n")
				for j, pk := range o.keys {
					kj, err := marshal(pk, false)
					if err != nil {
						return "", err
					}
					vj, err := marshal(o.vals[j], false)
					if err != nil {
						return "", err
					}
					b.WriteString("    " + string(kj) + ": " + string(vj))
					if j < o.len()-1 {
						b.WriteByte(',')
					}
					b.WriteByte('\n')
				}
				b.WriteString("  }]")
				v = nil
			}
		}
		if v != nil {
			js, err := marshal(v, false)
			if err != nil {
				return "", err
			}
			b.WriteString(string(js))
		}
		if i < env.len()-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}")
	return b.String(), nil
}
