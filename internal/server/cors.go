package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
)

// CORS (Config.CORSOrigins): browser pages served from other origins may
// call the API and open the WebSocket. Only exact origins are allowed,
// never a wildcard, because every call carries an Authorization header.
//
// For an allowed Origin, requests under /connect/api/ get
// Access-Control-Allow-Origin (the origin itself, with Vary: Origin) and
// Access-Control-Expose-Headers: Connect-Status, Connect-Meta, Retry-After;
// a preflight (OPTIONS with Access-Control-Request-Method) is answered 204
// allowing POST with the Authorization, Content-Type and Accept headers. A
// preflight from any other origin gets no CORS headers, so the browser
// refuses the call. Cookies are never used, so credentials are not allowed.
//
// The WebSocket upgrade (/connect/ws) accepts a same-origin page, a client
// that sends no Origin (not a browser), and the allowed origins; any other
// Origin is refused with 403.

const (
	corsAllowHeaders  = "Authorization, Content-Type, Accept"
	corsExposeHeaders = "Connect-Status, Connect-Meta, Retry-After"
	corsMaxAge        = "600" // seconds a browser may cache a preflight
)

// ParseCORSOrigins reads a comma-separated list of origins, each exactly
// scheme://host[:port] with scheme http or https (as a browser sends it in
// Origin). It refuses wildcards, paths and "null", saying why.
func ParseCORSOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if strings.Contains(o, "*") {
			return nil, fmt.Errorf("CORS origin %q: wildcards are not allowed (calls carry an Authorization header); list each origin, e.g. https://dash.example.com", o)
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("CORS origin %q must be scheme://host[:port] with scheme http or https and no path, e.g. https://dash.example.com:8443", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// corsAllowed reports whether origin is one of Config.CORSOrigins.
func (s *Server) corsAllowed(origin string) bool {
	for _, o := range s.cfg.CORSOrigins {
		if o == origin {
			return true
		}
	}
	return false
}

// cors wraps h with the CORS answers described above.
func (s *Server) cors(h http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/connect/api/") {
			h.ServeHTTP(w, r)
			return
		}
		hd := w.Header()
		hd.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" || !s.corsAllowed(origin) {
			h.ServeHTTP(w, r)
			return
		}
		hd.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
			hd.Set("Access-Control-Allow-Methods", "POST")
			hd.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			hd.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		hd.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		h.ServeHTTP(w, r)
	})
}

// wsAcceptOptions are the upgrade options of r: an Origin on the CORS list
// was checked exactly here, so the library's same-origin check is skipped
// for it; every other request keeps that check (same origin, or no Origin).
func (s *Server) wsAcceptOptions(r *http.Request) *websocket.AcceptOptions {
	if o := r.Header.Get("Origin"); o != "" && s.corsAllowed(o) {
		return &websocket.AcceptOptions{InsecureSkipVerify: true}
	}
	return nil
}
