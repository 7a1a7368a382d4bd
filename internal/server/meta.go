package server

import (
	"context"
	"net/http"
	"time"

	"github.com/qconnect/qconnect"
)

// methodInfo is one entry of meta/methods (PROTOCOL 6).
type methodInfo struct {
	Group       string            `json:"group"`
	Name        string            `json:"name"`
	Path        string            `json:"path"`
	Description string            `json:"description"`
	Streaming   bool              `json:"streaming"`
	Publish     bool              `json:"publish,omitempty"`
	Params      []paramInfo       `json:"params"`
	Columns     []qconnect.Column `json:"columns"`
}

type paramInfo struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Required    bool     `json:"required"`
	Default     any      `json:"default,omitempty"`
	DefaultDoc  string   `json:"defaultDoc,omitempty"`
	Description string   `json:"description"`
	Enum        []string `json:"enum,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	MaxLen      int      `json:"maxLen,omitempty"`
}

// handleMethods lists the methods the caller may call.
func (s *Server) handleMethods(r *http.Request, a *authed) (any, error) {
	setRequestInfo(r, func(i *requestInfo) { i.method = "meta/methods" })
	if err := s.rate(a); err != nil {
		return nil, err
	}
	dir := s.deps.Users.Current()
	out := []methodInfo{}
	for _, m := range s.deps.Catalog.Methods {
		if !dir.Allowed(a.user, m.Group, m.Name) && !(m.Publish && dir.CanWrite(a.user, m.Group, m.Name)) {
			continue
		}
		mi := methodInfo{Group: m.Group, Name: m.Name, Path: m.Path(), Description: m.Description,
			Streaming: m.Streaming, Publish: m.Publish, Params: []paramInfo{}, Columns: m.Columns}
		if mi.Columns == nil {
			mi.Columns = []qconnect.Column{}
		}
		for _, p := range m.Params {
			mi.Params = append(mi.Params, paramInfo{Name: p.Name, Type: p.TypeName(), Required: p.Required,
				Default: jsonDefault(p), DefaultDoc: p.DefaultDoc, Description: p.Description, Enum: p.Enum,
				Min: p.Min, Max: p.Max, MaxLen: p.MaxLen})
		}
		out = append(out, mi)
	}
	return out, nil
}

// jsonDefault renders a typed default in its PROTOCOL 4.2 JSON form.
func jsonDefault(p qconnect.Param) any {
	switch v := p.Default.(type) {
	case time.Duration:
		return v.String()
	case time.Time:
		if p.Type == qconnect.Date {
			return v.Format("2006-01-02")
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	return p.Default
}

// handleHealth is liveness: the process serves HTTP.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	noStore(w.Header())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// handleReady is readiness: every backend that can be pinged answers.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	noStore(w.Header())
	w.Header().Set("Content-Type", "application/json")
	for name, b := range s.deps.Backends {
		if p, ok := b.(qconnect.Pinger); ok {
			if err := p.Ping(ctx); err != nil {
				s.log.Warn("backend not ready", "backend", name, "error", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"status":"unavailable","backend":"` + name + `"}` + "\n"))
				return
			}
		}
	}
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}
