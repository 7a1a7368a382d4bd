package apidoc

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	jsclient "github.com/qconnect/qconnect/clients/js"
)

// DefaultTitle is the page and OpenAPI title when Options.Title is empty.
const DefaultTitle = "qconnect API"

// Options configures the generated documentation. The zero value is valid.
type Options struct {
	Title       string // page title, default "qconnect API"
	ProtocolDoc []byte // PROTOCOL.md text, served at /connect/protocol.md and linked from the page; nil = not served
	ServerURL   string // for OpenAPI "servers"; "" = relative "/"
	// Now is the clock at page build: example timestamps and dates fall in
	// the last full hour before it (and the day before), where a live
	// gateway has data. Zero = the fixed window of PROTOCOL 3.2 (26 July
	// 2019), so that the output depends on the catalog only (tests, goldens).
	Now time.Time
	// Addr is the host:port shown in the example command lines; "" =
	// localhost:8080.
	Addr string
	// Demo, when set, is the demo login: the page shows it next to its login
	// box (prefilled) and the example command lines use it, so that they
	// run as copied. nil = placeholders.
	Demo *DemoLogin
}

// DemoLogin is the well-known login of demo mode.
type DemoLogin struct{ Username, Password string }

// Docs is the documentation of one catalog: the page, its assets and the
// OpenAPI document, all rendered once by New. A Docs is immutable and safe
// for concurrent use.
type Docs struct {
	openapi  []byte
	asyncapi []byte
	files    map[string]file // URL path → content
}

// file is one served response body with its headers.
type file struct {
	body  []byte
	ctype string
	etag  string // strong, quoted
}

//go:embed assets
var assetsFS embed.FS

//go:embed templates/index.html.tmpl
var pageTemplate string

// The URL paths served by Handler.
const (
	prefix       = "/connect/"
	indexPath    = "/connect/index.html"
	openAPIPath  = "/connect/openapi.json"
	protocolPath = "/connect/protocol.md"
	assetsPrefix = "/connect/assets/"
	sdkPrefix    = "/connect/assets/sdk/" // the JavaScript SDK's modules (clients/js/src)
)

// New renders the documentation of cat. It fails, naming the method and what
// to fix, when a declaration cannot be documented (a default whose Go value
// does not match its declared type, an unknown type).
func New(cat *qconnect.Catalog, opts Options) (*Docs, error) {
	if cat == nil {
		return nil, errors.New("apidoc: no catalog; load the catalog before building its documentation")
	}
	if opts.Title == "" {
		opts.Title = DefaultTitle
	}
	doc, err := buildOpenAPI(cat, opts)
	if err != nil {
		return nil, err
	}
	js, err := marshal(doc, true)
	if err != nil {
		return nil, fmt.Errorf("apidoc: encoding the OpenAPI document: %w", err)
	}
	js = append(js, '\n')
	adoc, err := buildAsyncAPI(cat, opts)
	if err != nil {
		return nil, err
	}
	ajs, err := marshal(adoc, true)
	if err != nil {
		return nil, fmt.Errorf("apidoc: encoding the AsyncAPI document: %w", err)
	}
	ajs = append(ajs, '\n')
	page, err := renderPage(cat, opts)
	if err != nil {
		return nil, err
	}
	d := &Docs{openapi: js, asyncapi: ajs, files: map[string]file{}}
	d.add(indexPath, page, "text/html; charset=utf-8")
	d.add(openAPIPath, js, "application/json")
	d.add(asyncAPIPath, ajs, "application/json")
	if opts.ProtocolDoc != nil {
		// Served as plain text so that every browser shows it instead of
		// offering a download.
		d.add(protocolPath, opts.ProtocolDoc, "text/plain; charset=utf-8")
	}
	if err := d.addTree(assetsFS, "assets", assetsPrefix); err != nil {
		return nil, err
	}
	// The JavaScript SDK, which the page's script imports (one signing
	// implementation in JavaScript).
	if err := d.addTree(jsclient.Source, "src", sdkPrefix); err != nil {
		return nil, err
	}
	return d, nil
}

// addTree serves every file under root of fsys at urlPrefix + its path below root.
func (d *Docs) addTree(fsys fs.ReadFileFS, root, urlPrefix string) error {
	err := fs.WalkDir(fsys, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fsys.ReadFile(p)
		if err != nil {
			return err
		}
		d.add(urlPrefix+strings.TrimPrefix(p, root+"/"), b, assetType(p))
		return nil
	})
	if err != nil {
		return fmt.Errorf("apidoc: reading embedded %s: %w", root, err)
	}
	return nil
}

func (d *Docs) add(urlPath string, body []byte, ctype string) {
	sum := sha256.Sum256(body)
	d.files[urlPath] = file{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// assetType is the Content-Type of an embedded asset by its extension.
func assetType(p string) string {
	switch path.Ext(p) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// OpenAPI returns the OpenAPI 3.1 document of the catalog as indented JSON
// ending in a newline. The output depends only on the catalog and the
// options: keys and paths come in a fixed order. The caller must not modify
// the returned slice.
func (d *Docs) OpenAPI() []byte { return d.openapi }

// AsyncAPI returns the AsyncAPI 3.0 document of the WebSocket (/connect/ws,
// PROTOCOL 7) as indented JSON ending in a newline, served at
// /connect/asyncapi.json. Like OpenAPI, it depends only on the catalog and
// the options. The caller must not modify the returned slice.
func (d *Docs) AsyncAPI() []byte { return d.asyncapi }
