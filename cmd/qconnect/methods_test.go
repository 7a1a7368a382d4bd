package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMethodsCommand(t *testing.T) {
	si := &standIn{}
	srv := httptest.NewServer(si)
	defer srv.Close()

	e, out, errb := testEnv(map[string]string{envGatewayAddr: srv.URL}, false)
	if code := run(context.Background(), e, []string{"methods"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	want := "monPublic/getMem — Raw memory.\n  params:\n    syms symbol[] (required) — Which servers.\n  columns: time timestamp\n"
	if out.String() != want {
		t.Errorf("methods:\n%s\nwant:\n%s", out, want)
	}

	e, out, errb = testEnv(nil, false)
	if code := run(context.Background(), e, []string{"methods", srv.URL, "u", "p", "--format", "json"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var list []map[string]any
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 1 || list[0]["extra"] != 1.0 || !strings.Contains(out.String(), "\n  {") {
		t.Errorf("--format json printed %s (%v); want the raw list, indented", out, err)
	}
	if si.logoutCount() != 2 {
		t.Errorf("%d logouts, want 2", si.logoutCount())
	}

	for _, args := range [][]string{{"methods", "h", "u", "p", "x"}, {"methods", "--format", "csv"}, {"methods", "--bogus"}} {
		e, _, errb := testEnv(nil, false)
		if code := run(context.Background(), e, args); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, errb)
		}
	}
	e, _, errb = testEnv(nil, false)
	if code := run(context.Background(), e, []string{"methods", srv.URL, "u", "bad"}); code != exitAuth {
		t.Errorf("bad password: exit %d, want %d (%s)", code, exitAuth, errb)
	}
}
