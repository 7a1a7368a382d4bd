package apidoc

import (
	"bytes"
	"net/http"
	"time"
)

// contentSecurityPolicy allows only this origin's scripts, styles, images
// and fetches: no inline script, no external fonts or CDNs, no framing, and
// no form submission (forms are handled by the page's script, so a page
// whose script failed cannot leak a password into a URL).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves GET and HEAD for /connect/index.html, /connect/ (a redirect
// to index.html), /connect/openapi.json, /connect/asyncapi.json, /connect/protocol.md (when
// Options.ProtocolDoc was set) and /connect/assets/<file>. Every response
// carries X-Content-Type-Options: nosniff and the Content-Security-Policy
// above; content responses also carry Content-Type, a strong ETag and
// Cache-Control: no-cache (browsers revalidate and get 304 Not Modified while
// the catalog is unchanged). Other paths are 404 and other methods 405.
func (d *Docs) Handler() http.Handler { return http.HandlerFunc(d.serve) }

func (d *Docs) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "the documentation is read-only: use GET "+indexPath, http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/connect" || r.URL.Path == prefix {
		http.Redirect(w, r, indexPath, http.StatusFound)
		return
	}
	f, ok := d.files[r.URL.Path]
	if !ok {
		http.Error(w, "not found: the documentation is at "+indexPath+", "+openAPIPath+" and "+asyncAPIPath, http.StatusNotFound)
		return
	}
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	// ServeContent answers If-None-Match with 304, HEAD without a body and
	// Range requests; there is no modification time to offer.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
