package e2e

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// e2eParallel is how many e2e tests run at once when -parallel is not
// given. The tests spend most of their time waiting (gateway start-up,
// timeouts they provoke, Node.js and Chromium children), not computing, so
// GOMAXPROCS (go test's default, 2 on a 2-core machine) leaves the CPU
// idle; four at a time halves the package's wall time there.
const e2eParallel = 4

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && runtime.GOMAXPROCS(0) < e2eParallel {
		_ = flag.Set("test.parallel", strconv.Itoa(e2eParallel))
	}
	os.Exit(m.Run())
}
