package catalog

import (
	"strings"
	"testing"
)

func TestFunction(t *testing.T) {
	const ok = `
groups:
  monPublic:
    methods:
      getMem:
        backend: rdb
        function: .monPublic.getMem
        params:
          - {name: syms, type: "symbol[]"}
        columns:
          - {name: time, type: timestamp}
`
	c, err := Parse([]byte(ok), "k.yaml", Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := c.Lookup("monPublic", "getMem")
	if m.Query != ".monPublic.getMem" || m.Backend != "rdb" {
		t.Fatalf("%+v", m)
	}
	for _, tc := range []struct{ decl, want string }{
		{"backend: rdb\n        function: \"{x+y}\"", "is not a q function name"},
		{"backend: rdb\n        function: .a.b\n        query: SELECT 1", "both query and function"},
		{"function: .a.b", "its backend is duckdb"},
	} {
		bad := strings.Replace(ok, "backend: rdb\n        function: .monPublic.getMem", tc.decl, 1)
		if _, err := Parse([]byte(bad), "k.yaml", Defaults{}); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "k.yaml:") {
			t.Errorf("%q: err = %v", tc.decl, err)
		}
	}
}
