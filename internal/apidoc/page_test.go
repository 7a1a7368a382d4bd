package apidoc

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// getPage serves path through the Handler and returns the response.
func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pageOf(t *testing.T, d *Docs) string {
	t.Helper()
	r := get(t, d.Handler(), "GET", indexPath, nil)
	if r.StatusCode != 200 {
		t.Fatalf("GET %s: %d", indexPath, r.StatusCode)
	}
	return body(t, r)
}

// section returns the HTML of the element with the given id up to the next
// element of the same kind (method cards are not nested).
func section(t *testing.T, page, tag, id string) string {
	t.Helper()
	start := strings.Index(page, `<`+tag+` class="card method" id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no <%s id=%q> in the page", tag, id)
	}
	end := strings.Index(page[start:], `</`+tag+`>`)
	if end < 0 {
		t.Fatalf("<%s id=%q> is not closed", tag, id)
	}
	return page[start : start+end]
}

func TestPageListsEveryMethod(t *testing.T) {
	for name, cat := range testCatalogs(t) {
		t.Run(name, func(t *testing.T) { checkPageLists(t, cat) })
	}
}

func checkPageLists(t *testing.T, cat *qconnect.Catalog) {
	page := pageOf(t, newDocs(t, cat, Options{Title: "Acme <Data>"}))
	if !strings.Contains(page, "<title>Acme &lt;Data&gt;</title>") {
		t.Error("the title is missing or not escaped")
	}
	if len(cat.Methods) == 0 {
		t.Fatal("no methods")
	}
	for _, m := range cat.Methods {
		id := "m-" + m.Group + "-" + m.Name
		if !strings.Contains(page, `<li class="toc-method" data-search="`) || !strings.Contains(page, `href="#`+id+`"`) {
			t.Errorf("%s: not linked from the sidebar", m.FullName())
		}
		card := section(t, page, "article", id)
		text := html.UnescapeString(card)
		if m.Description != "" && !strings.Contains(text, m.Description) {
			t.Errorf("%s: description missing", m.FullName())
		}
		for _, p := range m.Params {
			row := regexp.MustCompile(`(?s)<tr data-param="` + p.Name + `">(.*?)</tr>`).FindStringSubmatch(card)
			if row == nil {
				t.Errorf("%s: parameter %s has no row", m.FullName(), p.Name)
				continue
			}
			cell := html.UnescapeString(row[1])
			if !strings.Contains(cell, "<code>"+p.TypeName()+"</code>") {
				t.Errorf("%s: parameter %s: type %s not shown", m.FullName(), p.Name, p.TypeName())
			}
			if p.Required != strings.Contains(cell, "required") {
				t.Errorf("%s: parameter %s: required = %v not shown right", m.FullName(), p.Name, p.Required)
			}
			if p.Description != "" && !strings.Contains(cell, p.Description) {
				t.Errorf("%s: parameter %s: description missing", m.FullName(), p.Name)
			}
			if p.DefaultDoc != "" && !strings.Contains(cell, p.DefaultDoc) {
				t.Errorf("%s: parameter %s: default doc missing", m.FullName(), p.Name)
			}
			if p.Default != nil {
				j, _ := paramJSON(p, p.Default)
				b, _ := marshal(j, false)
				if !strings.Contains(cell, "default <code>"+string(b)+"</code>") {
					t.Errorf("%s: parameter %s: default %s not shown", m.FullName(), p.Name, b)
				}
			}
			for _, e := range p.Enum {
				if !strings.Contains(cell, e) {
					t.Errorf("%s: parameter %s: enum value %s not shown", m.FullName(), p.Name, e)
				}
			}
			if !m.Streaming && !strings.Contains(card, `data-param="`+p.Name+`" data-type="`+string(p.Type)+`"`) {
				t.Errorf("%s: parameter %s has no Try-it input", m.FullName(), p.Name)
			}
		}
		for _, c := range m.Columns {
			if !strings.Contains(card, `<tr data-column="`+c.Name+`"><td><code>`+c.Name+`</code></td><td><code>`+string(c.Type)+`</code></td></tr>`) {
				t.Errorf("%s: column %s %s not listed", m.FullName(), c.Name, c.Type)
			}
		}
		ex, _ := exampleParams(m)
		if m.Streaming {
			if !strings.Contains(card, "WebSocket subscription") || strings.Contains(card, `data-path=`) ||
				!strings.Contains(card, `<form class="try" data-method="`+m.FullName()+`" data-stream="true"`) {
				t.Errorf("%s: a streaming method must be marked as a subscription, with a live (WebSocket) form and no REST form", m.FullName())
			}
			for _, p := range m.Params {
				if !strings.Contains(card, `data-param="`+p.Name+`"`) {
					t.Errorf("%s: parameter %s has no input in the live form", m.FullName(), p.Name)
				}
			}
			frame, _ := prettyEnvelope(subscribeFrame(m, ex))
			if !strings.Contains(text, frame) {
				t.Errorf("%s: SubscribeReq frame missing", m.FullName())
			}
			continue
		}
		if !strings.Contains(card, `<code class="path">`+m.Path()+`</code>`) {
			t.Errorf("%s: path %s not shown", m.FullName(), m.Path())
		}
		if m.Publish {
			checkPublishCard(t, m, card)
			continue
		}
		if strings.Contains(card, "data-publish") || strings.Contains(card, "data-rows") {
			t.Errorf("%s: a call has a publish form", m.FullName())
		}
		env, _ := prettyEnvelope(exampleEnvelope(m, ex))
		if !strings.Contains(text, env) {
			t.Errorf("%s: example request missing; want\n%s", m.FullName(), env)
		}
		cli, _ := commandLine(m, ex, defaultLogin)
		if !strings.Contains(text, `<code class="example-cli">`+cli+`</code>`) {
			t.Errorf("%s: command line missing: %s", m.FullName(), cli)
		}
		if !strings.Contains(card, `<form class="try" data-method="`+m.FullName()+`" data-path="`+m.Path()+`" data-type="`+m.Name+`Req"`) {
			t.Errorf("%s: no Try-it form", m.FullName())
		}
	}
}

func TestPageInputs(t *testing.T) {
	page := pageOf(t, newDocs(t, handCatalog(t), Options{}))
	card := section(t, page, "article", "m-monPublic-allTypes")
	for what, re := range map[string]string{
		"checkbox for a required boolean": `<input id="f-monPublic-allTypes-flag" type="checkbox" data-param="flag" data-type="boolean" data-list="false" data-required="true" checked>`,
		"tri-state for optional boolean":  `<select id="f-monPublic-allTypes-maybe" data-param="maybe"[^>]*><option value="">\(not set\)</option><option value="true">`,
		"number with bounds":              `<input id="f-monPublic-allTypes-limit" type="number" step="1" min="100" max="5000" value=""`,
		"float step":                      `<input id="f-monPublic-allTypes-ratio" type="number" step="any" min="0" max="1" value="0.25"`,
		"maxlength":                       `<input id="f-monPublic-allTypes-label" type="text"[^>]* value="exam"[^>]* maxlength="4"`,
		"enum select":                     `<select id="f-monPublic-allTypes-side"[^>]*><option value="">\(not set\)</option><option value="buy" selected>buy</option><option value="sell">sell</option>\s*</select>`,
		"list as comma-separated text":    `<input id="f-monPublic-allTypes-ids" type="text"[^>]* value="10"[^>]*data-list="true"[^>]*>\s*<span class="hint">comma-separated</span>`,
		"dict as textarea":                `<textarea id="f-monPublic-allTypes-opts"[^>]*data-type="dict"`,
		"timestamp prefilled relative":    `<input id="f-monPublic-allTypes-until" type="text"[^>]* value="2019-07-26T16:00:00Z"[^>]* data-relative="end"`,
	} {
		if !regexp.MustCompile(re).MatchString(card) {
			t.Errorf("%s: no match for %s", what, re)
		}
	}
	get := section(t, page, "article", "m-monPublic-getMem")
	if !strings.Contains(get, `<input id="f-monPublic-getMem-start" type="text" spellcheck="false" value="" placeholder="default: one hour before end" data-param="start"`) {
		t.Error("an optional timestamp with a computed default must start empty, showing its default")
	}
	if !regexp.MustCompile(`<select id="f-monPublic-getMem-syms"[^>]* multiple size="2"><option value="server_A" selected>`).MatchString(get) {
		t.Error("an enum list is not a multiple select with the example preselected")
	}
}

// TestPageWellFormed checks that every element the template opens is
// closed in order, so that the browser builds the intended tree.
func TestPageWellFormed(t *testing.T) {
	page := pageOf(t, newDocs(t, handCatalog(t), Options{ProtocolDoc: []byte("# P")}))
	void := map[string]bool{"meta": true, "link": true, "input": true, "br": true, "img": true, "hr": true}
	var stack []string
	for _, m := range regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>`).FindAllStringSubmatch(page, -1) {
		closing, name := m[1] == "/", strings.ToLower(m[2])
		switch {
		case void[name]:
		case !closing:
			stack = append(stack, name)
		case len(stack) == 0 || stack[len(stack)-1] != name:
			t.Fatalf("</%s> closes <%s>; open: %v", name, last(stack), stack)
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements: %v", stack)
	}
}

func last(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return s[len(s)-1]
}

// TestPageCSPClean: the page must work under its own policy: no inline
// script, no event handler attributes, no inline styles, nothing external.
func TestPageCSPClean(t *testing.T) {
	page := pageOf(t, newDocs(t, handCatalog(t), Options{}))
	for _, m := range regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], `src="`) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %s", m[0])
		}
	}
	for what, re := range map[string]string{
		"event handler attribute": `\son[a-z]+\s*=`,
		"inline style":            `\sstyle\s*=`,
		"external URL":            `(src|href)="(https?:)?//`,
		"javascript: URL":         `(?i)href="javascript:`,
	} {
		if loc := regexp.MustCompile(re).FindStringIndex(page); loc != nil {
			t.Errorf("%s in the page: %q", what, page[loc[0]:min(loc[1]+40, len(page))])
		}
	}
}

// TestPageLinksResolve follows every link and script of the page, and every
// import of the scripts, through the Handler.
func TestPageLinksResolve(t *testing.T) {
	d := newDocs(t, handCatalog(t), Options{ProtocolDoc: []byte("# Protocol\n")})
	h := d.Handler()
	page := pageOf(t, d)
	base, _ := url.Parse("http://x" + indexPath)
	seen := map[string]bool{}
	var check func(from *url.URL, ref string)
	check = func(from *url.URL, ref string) {
		u, err := from.Parse(ref)
		if err != nil {
			t.Errorf("bad link %q: %v", ref, err)
			return
		}
		if u.Host != "x" {
			t.Errorf("link %q leaves the site", ref)
			return
		}
		if seen[u.Path] {
			return
		}
		seen[u.Path] = true
		r := get(t, h, "GET", u.Path, nil)
		if r.StatusCode != 200 {
			t.Errorf("link %q → %s: HTTP %d", ref, u.Path, r.StatusCode)
			return
		}
		if strings.HasSuffix(u.Path, ".js") {
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
				t.Errorf("%s: Content-Type %q; module scripts need a JavaScript type", u.Path, ct)
			}
			for _, m := range regexp.MustCompile(`(?m)^(?:import|export) .* from '([^']+)';|import\('([^']+)'\)`).FindAllStringSubmatch(body(t, r), -1) {
				check(u, m[1]+m[2])
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?:href|src)="([^"#][^"]*)"`).FindAllStringSubmatch(page, -1) {
		check(base, html.UnescapeString(m[1]))
	}
	for _, want := range []string{"/connect/assets/app.js", "/connect/assets/sdk/index.js", "/connect/assets/sdk/md5.js",
		"/connect/assets/chart.js", "/connect/assets/vendor/uplot/uPlot.esm.js", "/connect/assets/style.css",
		"/connect/assets/favicon.svg", "/connect/openapi.json", "/connect/protocol.md"} {
		if !seen[want] {
			t.Errorf("the page never reaches %s", want)
		}
	}
	// Every in-page anchor points at an element of the page.
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(page, `id="`+m[1]+`"`) {
			t.Errorf("anchor #%s has no target", m[1])
		}
	}
}

func TestPageSigningSection(t *testing.T) {
	page := html.UnescapeString(pageOf(t, newDocs(t, handCatalog(t), Options{})))
	m := regexp.MustCompile(`(?s)<strong>Log in</strong>.*?<pre><code>(.*?)</code></pre>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no login example")
	}
	req, err := protocol.ParseRequest([]byte(m[1]))
	if err != nil || req.Type != "LoginReq" || len(req.Msg) != 1 {
		t.Errorf("the login example is not a LoginReq envelope: %v %+v", err, req)
	}
	for _, want := range []string{"/connect/api/auth/login", "HMAC-SHA1", "Authorization",
		"last 5 characters of SESSION_ID", "BODY_MD5", "new Date().toUTCString()"} {
		if !strings.Contains(page, want) {
			t.Errorf("the signing section does not mention %q", want)
		}
	}
	if strings.Contains(page, `href="protocol.md"`) {
		t.Error("links protocol.md although no ProtocolDoc was given")
	}
	with := pageOf(t, newDocs(t, handCatalog(t), Options{ProtocolDoc: []byte("x")}))
	if !strings.Contains(with, `href="protocol.md"`) {
		t.Error("does not link protocol.md although it is served")
	}
}

func TestPageEmptyCatalog(t *testing.T) {
	cat, err := qconnect.NewCatalog(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := newDocs(t, cat, Options{})
	if page := pageOf(t, d); !strings.Contains(page, "Filter 0 methods") {
		t.Error("an empty catalog does not render")
	}
	loadOpenAPI(t, d.OpenAPI())
}
