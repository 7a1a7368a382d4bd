package apidoc

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/qconnect/qconnect"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.golden.json")

// loadOpenAPI parses and validates the document with kin-openapi, a real
// OpenAPI 3.1 validator (schemas, references, examples against schemas).
func loadOpenAPI(t *testing.T, js []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(js)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1", doc.OpenAPI)
	}
	return doc
}

func newDocs(t *testing.T, cat *qconnect.Catalog, opts Options) *Docs {
	t.Helper()
	d, err := New(cat, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// requestSchema returns the JSON request body schema and example of an operation.
func requestSchema(t *testing.T, doc *openapi3.T, path string) (*openapi3.Schema, any) {
	t.Helper()
	item := doc.Paths.Find(path)
	if item == nil || item.Post == nil {
		t.Fatalf("no POST operation at %s", path)
	}
	mt := item.Post.RequestBody.Value.Content.Get(contentType)
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		t.Fatalf("%s: no %s request schema", path, contentType)
	}
	return mt.Schema.Value, mt.Example
}

func validate(doc *openapi3.T, s *openapi3.Schema, v any) error {
	return doc.ValidateSchemaJSON(s, v, openapi3.EnableJSONSchema2020(), openapi3.EnableFormatValidation())
}

func decode(t *testing.T, js string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", js, err)
	}
	return v
}

func TestOpenAPIHandCatalog(t *testing.T) {
	cat := handCatalog(t)
	d := newDocs(t, cat, Options{Title: "Test", ServerURL: "https://gw.example.com"})
	doc := loadOpenAPI(t, d.OpenAPI())

	if got := doc.Servers[0].URL; got != "https://gw.example.com" {
		t.Errorf("servers[0].url = %q", got)
	}
	if doc.Info.Title != "Test" {
		t.Errorf("info.title = %q", doc.Info.Title)
	}
	scheme := doc.Components.SecuritySchemes[securityName]
	if scheme == nil || scheme.Value.Type != "apiKey" || scheme.Value.In != "header" || scheme.Value.Name != "Authorization" ||
		!strings.Contains(scheme.Value.Description, "HMAC-SHA1") {
		t.Errorf("security scheme %s is not the documented signing apiKey: %+v", securityName, scheme)
	}
	if len(doc.Security) != 1 || doc.Security[0][securityName] == nil {
		t.Errorf("signing is not required globally: %v", doc.Security)
	}

	for _, fixed := range []string{"/connect/api/auth/login", "/connect/api/auth/logout", "/connect/api/auth/ping", "/connect/api/meta/methods"} {
		op := doc.Paths.Find(fixed)
		if op == nil || op.Post == nil {
			t.Errorf("missing POST %s", fixed)
			continue
		}
		if fixed == "/connect/api/auth/login" && (op.Post.Security == nil || len(*op.Post.Security) != 0) {
			t.Errorf("login must not require a signature: security = %v", op.Post.Security)
		}
	}

	for _, m := range cat.Methods {
		item := doc.Paths.Find(m.Path())
		if m.Streaming {
			if item != nil {
				t.Errorf("streaming method %s has a REST operation", m.FullName())
			}
			continue
		}
		if item == nil || item.Post == nil {
			t.Errorf("method %s: no POST operation at %s", m.FullName(), m.Path())
			continue
		}
		op := item.Post
		if want := m.Group + "_" + m.Name; op.OperationID != want {
			t.Errorf("operationId = %q, want %q", op.OperationID, want)
		}
		if !slices.Equal(op.Tags, []string{m.Group}) {
			t.Errorf("%s: tags = %v", m.FullName(), op.Tags)
		}
		for _, status := range []string{"200", "400", "401", "403", "404", "409", "413", "422", "429", "502", "503", "504"} {
			r := op.Responses.Value(status)
			if r == nil || r.Value == nil {
				t.Errorf("%s: no %s response", m.FullName(), status)
				continue
			}
			if status != "200" && r.Value.Content.Get(contentType).Schema.Ref != "#/components/schemas/ErrorEnvelope" {
				t.Errorf("%s: %s response does not reference the ErrorEnvelope schema", m.FullName(), status)
			}
		}
		if m.Publish {
			checkPublishOperation(t, doc, m, op)
			continue
		}
		params := doc.Components.Schemas[m.Group+"_"+m.Name+"_Params"].Value
		for _, p := range m.Params {
			if params.Properties[p.Name] == nil {
				t.Errorf("%s: parameter %s missing from the schema", m.FullName(), p.Name)
			}
			if p.Required != slices.Contains(params.Required, p.Name) {
				t.Errorf("%s: parameter %s required = %v in the schema", m.FullName(), p.Name, !p.Required)
			}
		}
		row := doc.Components.Schemas[m.Group+"_"+m.Name+"_Row"].Value
		for _, c := range m.Columns {
			if row.Properties[c.Name] == nil {
				t.Errorf("%s: column %s missing from the row schema", m.FullName(), c.Name)
			}
		}
	}
	var tags []string
	for _, tg := range doc.Tags {
		tags = append(tags, tg.Name)
	}
	if !slices.Equal(tags, []string{"auth", "meta", "monPublic", "marketData"}) {
		t.Errorf("tags = %v", tags)
	}
	if tg := doc.Tags.Get("marketData"); tg == nil || !strings.Contains(tg.Description, "trades") {
		t.Errorf("the marketData tag does not list its subscription trades: %+v", tg)
	}
}

// TestOpenAPIRequestSchemas checks the generated schemas with the JSON
// Schema 2020-12 validator: every example is accepted, and each kind of
// mistake the server rejects (PROTOCOL 4.2) is rejected too.
func TestOpenAPIRequestSchemas(t *testing.T) {
	doc := loadOpenAPI(t, newDocs(t, handCatalog(t), Options{}).OpenAPI())
	for _, path := range []string{"/connect/api/monPublic/getMem", "/connect/api/monPublic/allTypes",
		"/connect/api/marketData/listSyms", "/connect/api/marketData/publishTrade",
		"/connect/api/auth/login", "/connect/api/auth/logout", "/connect/api/auth/ping", "/connect/api/meta/methods"} {
		s, ex := requestSchema(t, doc, path)
		if ex == nil {
			t.Errorf("%s: no request example", path)
			continue
		}
		if err := validate(doc, s, ex); err != nil {
			t.Errorf("%s: the example does not satisfy the schema: %v", path, err)
		}
	}

	s, _ := requestSchema(t, doc, "/connect/api/monPublic/getMem")
	env := func(msg string) string {
		return `{"type":"getMemReq","id":"x1","date":"Fri, 26 Jul 2019 16:59:00 GMT","msg":` + msg + `}`
	}
	good := []string{
		env(`[]`),
		env(`[{"start":"2019-07-26T09:00:00Z","end":"2019-07-26T16:00:00.123456789+01:00"}]`),
		env(`[{"syms":["server_A","server_B"],"bucket":"PT1H30M"}]`),
		env(`[{"bucket":"90s"}]`),
		env(`[{"bucket":"1.5h"}]`),
	}
	for _, js := range good {
		if err := validate(doc, s, decode(t, js)); err != nil {
			t.Errorf("rejected a valid request %s: %v", js, err)
		}
	}
	bad := map[string]string{
		"unknown parameter":   env(`[{"colour":"red"}]`),
		"two msg objects":     env(`[{},{}]`),
		"timestamp not RFC":   env(`[{"start":"yesterday"}]`),
		"enum":                env(`[{"syms":["server_C"]}]`),
		"list not array":      env(`[{"syms":{"a":1}}]`),
		"timespan":            env(`[{"bucket":"five minutes"}]`),
		"missing msg":         `{"type":"getMemReq","id":"x1","date":"Fri, 26 Jul 2019 16:59:00 GMT"}`,
		"bad date":            `{"type":"getMemReq","id":"x1","date":"2019-07-26","msg":[]}`,
		"id too long":         `{"type":"getMemReq","id":"` + strings.Repeat("x", 129) + `","date":"Fri, 26 Jul 2019 16:59:00 GMT","msg":[]}`,
		"id with a control":   `{"type":"getMemReq","id":"a\u0001","date":"Fri, 26 Jul 2019 16:59:00 GMT","msg":[]}`,
		"too many list items": env(`[{"syms":[` + strings.TrimSuffix(strings.Repeat(`"server_A",`, 101), ",") + `]}]`),
	}
	for what, js := range bad {
		if err := validate(doc, s, decode(t, js)); err == nil {
			t.Errorf("%s: accepted an invalid request %s", what, js)
		}
	}

	s, _ = requestSchema(t, doc, "/connect/api/monPublic/allTypes")
	all := func(params string) string {
		return `{"type":"allTypesReq","id":"x1","date":"Fri, 26 Jul 2019 16:59:00 GMT","msg":[{` + params + `}]}`
	}
	base := `"flag":true,"count":3,"label":"abcd","day":"2019-07-26","ids":[1,2],"until":"2019-07-26T16:00:00Z"`
	if err := validate(doc, s, decode(t, all(base))); err != nil {
		t.Errorf("rejected a valid allTypes request: %v", err)
	}
	badAll := map[string]string{
		"missing required":  `"flag":true`,
		"above max":         strings.Replace(base, `"count":3`, `"count":4`, 1),
		"fraction for long": strings.Replace(base, `"count":3`, `"count":2.5`, 1),
		"string too long":   strings.Replace(base, `"abcd"`, `"abcde"`, 1),
		"below min":         base + `,"limit":99`,
		"float above max":   base + `,"ratio":1.5`,
		"date form":         strings.Replace(base, `"2019-07-26"`, `"26/07/2019"`, 1),
		"boolean as string": strings.Replace(base, `"flag":true`, `"flag":"yes"`, 1),
		"dict not object":   base + `,"opts":[1]`,
	}
	for what, params := range badAll {
		if err := validate(doc, s, decode(t, all(params))); err == nil {
			t.Errorf("%s: accepted an invalid allTypes request {%s}", what, params)
		}
	}
}

// TestOpenAPIResponseSchemas checks result rows against the row schemas:
// the PROTOCOL 4.3 forms and nulls pass, other forms do not.
func TestOpenAPIResponseSchemas(t *testing.T) {
	doc := loadOpenAPI(t, newDocs(t, handCatalog(t), Options{}).OpenAPI())
	resp := doc.Components.Schemas["monPublic_allTypes_Response"].Value
	envelope := func(row string) any {
		return decode(t, `{"type":"allTypesResp","id":"x1","date":"Fri, 26 Jul 2019 16:59:00 GMT","success":true,
			"msg":[`+row+`],"meta":{"columns":[{"name":"b","type":"boolean"}],"rowCount":1,"truncated":false,"elapsedMs":0.5}}`)
	}
	row := `"b":true,"j":1,"i":2,"h":3,"f":1.5,"e":null,"s":"x","y":"server_A","c":"c",` +
		`"p":"2019-07-26T15:59:00.123456789Z","d":"2019-07-26","t":"15:59:00.123","n":"0D01:02:03.500000000",` +
		`"g":"e133598e-7b9e-429a-b3e5-bda881c47024"`
	if err := validate(doc, resp, envelope("{"+row+"}")); err != nil {
		t.Errorf("rejected a valid row: %v", err)
	}
	nulls := `"b":null,"j":null,"i":null,"h":null,"f":null,"e":null,"s":null,"y":null,"c":null,"p":null,"d":null,"t":null,"n":null,"g":null`
	if err := validate(doc, resp, envelope("{"+nulls+"}")); err != nil {
		t.Errorf("rejected a row of nulls: %v", err)
	}
	for what, r := range map[string]string{
		"timespan form":  strings.Replace(row, `"0D01:02:03.500000000"`, `"1h2m3.5s"`, 1),
		"time form":      strings.Replace(row, `"15:59:00.123"`, `"15:59"`, 1),
		"short range":    strings.Replace(row, `"h":3`, `"h":40000`, 1),
		"guid form":      strings.Replace(row, `"e133598e-7b9e-429a-b3e5-bda881c47024"`, `"e133598e"`, 1),
		"missing column": strings.Replace(row, `"b":true,`, ``, 1),
		"extra column":   row + `,"zz":1`,
	} {
		if err := validate(doc, resp, envelope("{"+r+"}")); err == nil {
			t.Errorf("%s: accepted an invalid row", what)
		}
	}
	errEnv := doc.Components.Schemas["ErrorEnvelope"].Value
	ok := decode(t, `{"type":"getMemResp","id":null,"date":"Fri, 26 Jul 2019 16:59:00 GMT","msg":[],"success":false,
		"error":{"code":"invalidParams","message":"start: bad","details":["start: bad"]}}`)
	if err := validate(doc, errEnv, ok); err != nil {
		t.Errorf("rejected a valid error envelope: %v", err)
	}
	unknown := decode(t, `{"type":"x","id":null,"date":"Fri, 26 Jul 2019 16:59:00 GMT","msg":[],"success":false,
		"error":{"code":"noSuchCode","message":"m"}}`)
	if err := validate(doc, errEnv, unknown); err == nil {
		t.Error("accepted an error code that PROTOCOL 8 does not define")
	}
}

// TestExamplesBind feeds every method's example parameters to the domain's
// own parameter binding (PROTOCOL 4.2): the examples must be calls the
// server accepts.
func TestExamplesBind(t *testing.T) {
	for _, m := range append(handCatalog(t).Methods, demoCatalog(t).Methods...) {
		if m.Publish {
			continue // rows, not parameters: TestExampleRowsDecode
		}
		ex, err := exampleParams(m)
		if err != nil {
			t.Fatal(err)
		}
		js, err := marshal(ex, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := qconnect.BindParams(m, []json.RawMessage{js}); err != nil {
			t.Errorf("%s: the example %s is rejected: %v", m.FullName(), js, err)
		}
		for _, p := range m.Params {
			if _, ok := ex.get(p.Name); p.Required && !ok {
				t.Errorf("%s: the example leaves out the required parameter %s", m.FullName(), p.Name)
			}
		}
	}
}

func TestOpenAPIDeterministic(t *testing.T) {
	a := newDocs(t, handCatalog(t), Options{}).OpenAPI()
	b := newDocs(t, handCatalog(t), Options{}).OpenAPI()
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same catalog differ")
	}
	if bytes.Contains(a, []byte(`\u003c`)) {
		t.Error("the document HTML-escapes < in descriptions; it should stay readable")
	}
}

// checkGolden compares got with testdata/<name> byte for byte; -update rewrites it.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test ./apidoc -update to create it", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if !bytes.Equal(gl[i], wl[i]) {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\nIf the change is intended, run go test ./apidoc -update", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length (%d vs %d lines); if intended, run go test ./apidoc -update", path, len(gl), len(wl))
	}
}
