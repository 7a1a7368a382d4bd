package jsclient

import (
	"encoding/json"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestJSClientVersion: the npm package's version follows the gateway's,
// written once in the repository's VERSION file.
func TestJSClientVersion(t *testing.T) {
	v, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(v))
	var pkg struct{ Name, Version string }
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Version != want {
		t.Errorf("package.json version %q, VERSION %q", pkg.Version, want)
	}
	src, err := fs.ReadFile(Source, "src/version.js")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`VERSION = '([^']+)'`).FindSubmatch(src); m == nil || string(m[1]) != want {
		t.Errorf("src/version.js says %q, VERSION %q", m, want)
	}
}

// TestSourceEmbedded: every module the entry point names is embedded, so
// the docs page can load the SDK.
func TestSourceEmbedded(t *testing.T) {
	idx, err := fs.ReadFile(Source, "src/index.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`from '\./([^']+)'`).FindAllSubmatch(idx, -1) {
		if _, err := fs.Stat(Source, "src/"+string(m[1])); err != nil {
			t.Errorf("index.js imports %s, which is not embedded: %v", m[1], err)
		}
	}
}
