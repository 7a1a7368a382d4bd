package apidoc

import (
	"encoding/json"
	"github.com/qconnect/qconnect/internal/testenv"
	"os"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/examples"
	"github.com/qconnect/qconnect/internal/catalog"
)

// demoCatalog is the catalog the binary serves by default.
func demoCatalog(t testing.TB) *qconnect.Catalog {
	t.Helper()
	cat, err := catalog.Parse(examples.DemoCatalog(), examples.DemoCatalogName, catalog.Defaults{})
	if err != nil {
		t.Fatalf("the demo catalog does not load: %v", err)
	}
	return cat
}

// testCatalogs are the catalogs every documentation test runs on.
func testCatalogs(t testing.TB) map[string]*qconnect.Catalog {
	return map[string]*qconnect.Catalog{"hand": handCatalog(t), "demo": demoCatalog(t)}
}

// TestOpenAPIGolden: the demo catalog's document is valid OpenAPI 3.1 and
// equals testdata/openapi.golden.json byte for byte (go test ./apidoc -update
// rewrites it after an intended change).
// goldenOptions are those of a demo gateway, with the clock injected so
// that the goldens are deterministic.
var goldenOptions = Options{Now: time.Date(2026, 11, 30, 10, 17, 5, 0, time.UTC), Demo: &DemoLogin{Username: "kxSupport", Password: "12345678"}}

func TestOpenAPIGolden(t *testing.T) {
	cat := demoCatalog(t)
	d := newDocs(t, cat, goldenOptions)
	doc := loadOpenAPI(t, d.OpenAPI())
	n := 0
	for _, m := range cat.Methods {
		if m.Streaming {
			continue
		}
		n++
		s, ex := requestSchema(t, doc, m.Path())
		if err := validate(doc, s, ex); err != nil {
			t.Errorf("%s: the example does not satisfy the schema: %v", m.FullName(), err)
		}
	}
	if n == 0 {
		t.Fatal("the demo catalog has no REST methods")
	}
	checkGolden(t, "openapi.golden.json", d.OpenAPI())
}

// TestVectorsMatchSchemas: the request bodies of the shared signing vectors
// that call demo methods are valid requests by the generated schemas.
func TestVectorsMatchSchemas(t *testing.T) {
	raw, err := os.ReadFile(testenv.SigningVectorsPath())
	if err != nil {
		t.Fatalf("reading the signing vectors: %v", err)
	}
	var vectors struct{ Cases []vector }
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	doc := loadOpenAPI(t, newDocs(t, demoCatalog(t), Options{}).OpenAPI())
	checked := 0
	for _, v := range vectors.Cases {
		switch v.Path {
		case "/connect/api/monPublic/getMem", "/connect/api/marketData/listSyms", "/connect/api/auth/logout":
		default:
			continue // other vectors carry parameters the demo does not declare
		}
		s, _ := requestSchema(t, doc, v.Path)
		if err := validate(doc, s, decode(t, v.Body)); err != nil {
			t.Errorf("%s: the vector's body is not a valid request: %v", v.Name, err)
		}
		checked++
	}
	if checked < 3 {
		t.Errorf("only %d vectors checked", checked)
	}
}

// BenchmarkNew measures rendering the demo catalog's documentation (done
// once at server start).
func BenchmarkNew(b *testing.B) {
	cat := demoCatalog(b)
	var page, spec int
	for b.Loop() {
		d, err := New(cat, Options{})
		if err != nil {
			b.Fatal(err)
		}
		page, spec = len(d.files[indexPath].body), len(d.OpenAPI())
	}
	b.ReportMetric(float64(page), "page-bytes")
	b.ReportMetric(float64(spec), "openapi-bytes")
}
