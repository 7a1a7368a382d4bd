package qconnect

import (
	_ "embed"
	"strings"
)

//go:embed VERSION
var versionFile string

// Version is the gateway's version, written once in the repository's
// VERSION file; the JavaScript SDK's npm version follows it, and
// `qconnect version` prints it unless a release build sets its own.
var Version = strings.TrimSpace(versionFile)
