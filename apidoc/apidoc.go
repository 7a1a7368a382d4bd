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
}

// Docs is the documentation of one catalog: the page, its assets and the
// OpenAPI document, all rendered once by New. A Docs is immutable and safe
// for concurrent use.
type Docs struct {
	openapi []byte
	files   map[string]file // URL path → content
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
	page, err := renderPage(cat, opts)
	if err != nil {
		return nil, err
	}
	d := &Docs{openapi: js, files: map[string]file{}}
	d.add(indexPath, page, "text/html; charset=utf-8")
	d.add(openAPIPath, js, "application/json")
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
