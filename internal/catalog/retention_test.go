package catalog

import (
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

func pubCatalog(retention string) string {
	return "groups:\n  g:\n    methods:\n      pub:\n        columns:\n          - {name: at, type: timestamp}\n          - {name: t2, type: timestamp}\n          - {name: x, type: long}\n" +
		"        publish:\n          table: t\n" + retention
}

func TestRetention(t *testing.T) {
	c, err := Parse([]byte(pubCatalog("          retention: {maxAge: 2h, maxRows: 100}\n")), "c.yaml", Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := c.LookupFull("g/pub")
	if r := m.Stream.Retention; r == nil || *r != (qconnect.Retention{MaxAge: 2 * time.Hour, MaxRows: 100, TimeColumn: "at"}) {
		t.Fatalf("retention = %+v, want 2h, 100 rows, by the first timestamp column", r)
	}
	c, err = Parse([]byte(pubCatalog("          retention: {maxRows: 5, timeColumn: t2}\n")), "c.yaml", Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := c.LookupFull("g/pub"); m.Stream.Retention.TimeColumn != "t2" || m.Stream.Retention.MaxAge != 0 {
		t.Fatalf("retention = %+v", m.Stream.Retention)
	}
	if m, _ := mustParse(t, pubCatalog("")).LookupFull("g/pub"); m.Stream.Retention != nil {
		t.Fatal("a retention without declaring one")
	}
	for _, tc := range []struct{ retention, want string }{
		{"          retention: {}\n", "sets no bound"},
		{"          retention: {maxAge: soon}\n", "not a duration"},
		{"          retention: {maxRows: -1}\n", "must be positive"},
		{"          retention: {maxRows: 5, timeColumn: x}\n", `timeColumn "x" is not a timestamp column`},
		{"          retention: {maxRow: 5}\n", `unknown key "maxRow"`},
	} {
		_, err := Parse([]byte(pubCatalog(tc.retention)), "c.yaml", Defaults{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "c.yaml:") {
			t.Errorf("%s: error %v, want one naming the line and saying %q", strings.TrimSpace(tc.retention), err, tc.want)
		}
	}
}

func mustParse(t *testing.T, s string) *qconnect.Catalog {
	t.Helper()
	c, err := Parse([]byte(s), "c.yaml", Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
