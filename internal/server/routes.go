package server

import "net/http"

// routes is every route of the gateway, in one list (PROTOCOL.md section 0).
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /connect/api/auth/login", s.handleLogin)
	mux.HandleFunc("POST /connect/api/auth/logout", s.signed(s.api(s.handleLogout)))
	mux.HandleFunc("POST /connect/api/auth/ping", s.signed(s.api(s.handlePing)))
	mux.HandleFunc("POST /connect/api/meta/methods", s.signed(s.api(s.handleMethods)))
	mux.HandleFunc("POST /connect/api/{group}/{method}", s.signed(s.handleCall))
	mux.HandleFunc("POST /connect/api/", s.signed(s.api(s.handleUnknown)))
	mux.HandleFunc("/connect/api/", s.handleWrongVerb)
	mux.HandleFunc("GET /connect/health", s.handleHealth)
	mux.HandleFunc("GET /connect/ready", s.handleReady)
	mux.HandleFunc("GET /connect/ws", s.handleWS)
	if s.deps.Docs != nil && s.cfg.Docs != DocsOff {
		docs := s.deps.Docs
		if s.cfg.Docs == DocsLogin {
			docs = s.basicAuth(docs)
		}
		for _, p := range []string{"/connect/index.html", "/connect/openapi.json", "/connect/asyncapi.json", "/connect/protocol.md", "/connect/assets/", "/connect/{$}"} {
			mux.Handle("GET "+p, docs)
		}
		// The site root leads a browser to the documentation.
		mux.Handle("GET /{$}", http.RedirectHandler("/connect/index.html", http.StatusFound))
	}
	return mux
}
