package apidoc

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestVendoredUPlot: the uPlot copied into assets/vendor is the version the
// committed lockfile pins (third_party/update.sh copies it), with its license.
func TestVendoredUPlot(t *testing.T) {
	var lock struct {
		Packages map[string]struct{ Version, License string } `json:"packages"`
	}
	b, err := os.ReadFile("third_party/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	p, ok := lock.Packages["node_modules/uplot"]
	if !ok || p.Version == "" {
		t.Fatal("the lockfile pins no uplot")
	}
	js, err := assetsFS.ReadFile("assets/vendor/uplot/uPlot.esm.js")
	if err != nil {
		t.Fatal(err)
	}
	if head := string(js[:min(len(js), 400)]); !strings.Contains(head, "(v"+p.Version+")") {
		t.Errorf("assets/vendor/uplot/uPlot.esm.js is not uplot %s (run apidoc/third_party/update.sh):\n%s", p.Version, head)
	}
	lic, err := assetsFS.ReadFile("assets/vendor/uplot/LICENSE")
	if err != nil || !strings.Contains(string(lic), "MIT") || p.License != "MIT" {
		t.Errorf("the uPlot license is missing or not MIT: %v", err)
	}
}

// TestOneSigningImplementation: the page's own scripts do not sign; they
// import the SDK (served from clients/js), the one JavaScript signer.
func TestOneSigningImplementation(t *testing.T) {
	entries, err := assetsFS.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".js") {
			continue
		}
		b, _ := assetsFS.ReadFile("assets/" + e.Name())
		for _, banned := range []string{"importKey", "HMAC", "0xd76aa478"} {
			if strings.Contains(string(b), banned) {
				t.Errorf("assets/%s contains %q: signing belongs to the SDK (clients/js)", e.Name(), banned)
			}
		}
	}
	app, _ := assetsFS.ReadFile("assets/app.js")
	if !strings.Contains(string(app), "from './sdk/index.js'") {
		t.Error("app.js does not import the SDK")
	}
}
