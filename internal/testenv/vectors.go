package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// SigningVector is one case of ../shared/vectors/signing.json, the ground
// truth for PROTOCOL 3.1.
type SigningVector struct {
	Name          string `json:"name"`
	Verb          string `json:"verb"`
	Path          string `json:"path"`
	Username      string `json:"username"`
	SessionID     string `json:"sessionId"`
	ContentType   string `json:"contentType"`
	Date          string `json:"date"`
	Body          string `json:"body"`
	BodyMD5       string `json:"bodyMd5"`
	StringToSign  string `json:"stringToSign"`
	Signature     string `json:"signature"`
	Authorization string `json:"authorization"`
}

// SigningVectorsPath is where the shared signing vectors live.
func SigningVectorsPath() string { return filepath.Join(SharedDir(), "vectors", "signing.json") }

// SigningVectors loads the shared signing vectors. Without the shared folder
// beside the repository the test skips, unless QCONNECT_REQUIRE_VECTORS=1
// (CI), which makes it fail.
func SigningVectors(t testing.TB) []SigningVector {
	t.Helper()
	data, err := os.ReadFile(SigningVectorsPath())
	if err != nil {
		Require(t, false, "QCONNECT_REQUIRE_VECTORS", "the signing vectors ("+SigningVectorsPath()+")")
	}
	var f struct {
		Cases []SigningVector `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", SigningVectorsPath(), err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s has no cases", SigningVectorsPath())
	}
	return f.Cases
}
