package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// SigningVector is one case of internal/testenv/testdata/signing.json (a
// copy of the project's normative signing vectors), the ground truth for
// PROTOCOL 3.1.
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

// SigningVectorsPath is where the signing vectors live: inside the
// repository, so that a fresh clone tests itself with nothing beside it.
func SigningVectorsPath() string {
	return filepath.Join(RepoRoot(), "internal", "testenv", "testdata", "signing.json")
}

// SigningVectors loads the signing vectors; a missing or empty file fails the
// test (it is part of the repository).
func SigningVectors(t testing.TB) []SigningVector {
	t.Helper()
	data, err := os.ReadFile(SigningVectorsPath())
	if err != nil {
		t.Fatalf("reading the signing vectors: %v", err)
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
