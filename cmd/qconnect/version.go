package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/qconnect/qconnect"
)

// version and commit are set at link time by release builds:
//
//	go build -ldflags "-X main.version=1.2.0 -X main.commit=abc1234" ./cmd/qconnect
//
// When they are empty, the module version and the VCS revision that the Go
// toolchain stamps into the binary (debug.ReadBuildInfo) are used; a build
// from a checkout (module version "(devel)") reports qconnect.Version, the
// repository's VERSION file.
var (
	version string
	commit  string
)

// versionInfo returns the version, the commit (with "-dirty" for a build
// from a modified tree) and the Go version.
func versionInfo() (ver, rev, goVersion string) {
	ver, rev, goVersion = version, commit, runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return firstNonEmpty(ver, qconnect.Version), firstNonEmpty(rev, "unknown"), goVersion
	}
	if ver == "" {
		ver = bi.Main.Version
	}
	if rev == "" {
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" && dirty {
			rev += "-dirty"
		}
	}
	if ver == "(devel)" { // a build from a checkout: the repository's version
		ver = qconnect.Version
	}
	return firstNonEmpty(ver, qconnect.Version), firstNonEmpty(rev, "unknown"), goVersion
}

// runVersion is qconnect version (and qconnect --version).
func runVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(e.stdout, "Usage: qconnect version   (or qconnect --version)\n\nPrints the version, the commit it was built from and the Go version.")
		return nil
	}
	if len(args) > 0 {
		return usageErrorf("version takes no arguments")
	}
	v, c, g := versionInfo()
	fmt.Fprintf(e.stdout, "qconnect %s (commit %s, %s)\n", v, c, g)
	return nil
}
