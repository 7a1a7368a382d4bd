package e2e

import (
	"context"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestDocsExamplesReturnRows: the command lines of the demo's docs page,
// copied as shown and run by a shell, print rows (they used to carry 2019
// dates, outside the demo data's window, and printed rows: 0).
func TestDocsExamplesReturnRows(t *testing.T) {
	t.Parallel()
	g := testenv.StartGateway(t)
	status, _, page := get(t, g.URL+"/connect/index.html", "", "")
	if status != 200 {
		t.Fatalf("index.html: %d", status)
	}
	bin := testenv.Binary(t)
	lines := regexp.MustCompile(`<code class="example-cli">([^<]*)</code>`).FindAllStringSubmatch(page, -1)
	rowsRE := regexp.MustCompile(`(?m)^rows: ([0-9,]+)`)
	ran := 0
	for _, m := range lines {
		line := html.UnescapeString(m[1])
		if !strings.HasPrefix(line, "qconnect call ") {
			continue // publish lines need a rows file
		}
		if strings.Contains(line, "2019-") {
			t.Errorf("a demo example still uses 2019: %s", line)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "sh", "-c", line)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
			"QCONNECT_CONFIG_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, out)
			continue
		}
		rm := rowsRE.FindSubmatch(out)
		if rm == nil {
			t.Errorf("%s: no rows line:\n%s", line, out)
			continue
		}
		if n, _ := strconv.Atoi(strings.ReplaceAll(string(rm[1]), ",", "")); n == 0 {
			t.Errorf("%s: copied as shown, it printed rows: 0", line)
		}
		ran++
	}
	if ran < 4 {
		t.Fatalf("ran %d example command lines; the demo page has more", ran)
	}
}
