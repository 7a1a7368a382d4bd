package apidoc

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAsyncAPIGolden: the AsyncAPI document of the demo catalog covers
// every streaming and publishing method and every frame of PROTOCOL 7, its
// references resolve, and it equals testdata/asyncapi.golden.json byte for
// byte (go test ./apidoc -update rewrites it). The e2e suite validates the
// served document with @asyncapi/parser.
func TestAsyncAPIGolden(t *testing.T) {
	cat := demoCatalog(t)
	d := newDocs(t, cat, goldenOptions)
	var doc map[string]any
	if err := json.Unmarshal(d.AsyncAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["asyncapi"] != "3.0.0" {
		t.Errorf("asyncapi = %v", doc["asyncapi"])
	}
	comps := doc["components"].(map[string]any)
	schemas := comps["schemas"].(map[string]any)
	msgs := comps["messages"].(map[string]any)
	ops := doc["operations"].(map[string]any)
	ch := doc["channels"].(map[string]any)[wsChannel].(map[string]any)
	if ch["address"] != "/connect/ws" {
		t.Errorf("channel address %v", ch["address"])
	}
	for _, f := range []string{"LoginReq", "AuthReq", "ExecuteReq", "ExecuteResp", "SubscribeResp", "UnsubscribeReq",
		"UnsubscribeResp", "PingReq", "PingResp", "LogoutReq", "LogoutResp", "SubscriptionEndMsg"} {
		if msgs[f] == nil {
			t.Errorf("frame %s is not described", f)
		}
	}
	streaming, publishing := 0, 0
	for _, m := range cat.Methods {
		base := m.Group + "_" + m.Name
		switch {
		case m.Streaming:
			streaming++
			op, _ := ops["subscribe_"+base].(map[string]any)
			if op == nil {
				t.Errorf("%s: no subscribe operation", m.FullName())
				continue
			}
			params, _ := schemas[base+"_Params"].(map[string]any)
			props, _ := params["properties"].(map[string]any)
			for _, p := range m.Params {
				if props[p.Name] == nil {
					t.Errorf("%s: parameter %s missing", m.FullName(), p.Name)
				}
			}
			row, _ := schemas[base+"_Row"].(map[string]any)
			rp, _ := row["properties"].(map[string]any)
			for _, c := range m.Columns {
				if rp[c.Name] == nil {
					t.Errorf("%s: column %s missing from the row schema", m.FullName(), c.Name)
				}
			}
			for _, k := range []string{"_SubscribeReq", "_SnapshotMsg", "_UpdateMsg"} {
				if msgs[base+k] == nil {
					t.Errorf("%s: message %s missing", m.FullName(), base+k)
				}
			}
		case m.Publish:
			publishing++
			if ops["publish_"+base] == nil || msgs[base+"_PublishReq"] == nil {
				t.Errorf("%s: no publish operation", m.FullName())
			}
		}
	}
	if streaming == 0 || publishing == 0 {
		t.Fatalf("the demo catalog has %d streaming and %d publishing methods", streaming, publishing)
	}
	// Every local reference resolves.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				if !resolves(doc, r) {
					t.Errorf("unresolved $ref %s", r)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	checkGolden(t, "asyncapi.golden.json", d.AsyncAPI())
	if !strings.Contains(pageOf(t, d), `href="asyncapi.json"`) {
		t.Error("the page does not link asyncapi.json")
	}
}

func resolves(doc map[string]any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for _, k := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

// TestDemoPage: in demo mode the page shows and prefills the demo login,
// and its command lines carry it, so that a copied line runs as is; the
// example timestamps follow the injected clock.
func TestDemoPage(t *testing.T) {
	cat := demoCatalog(t)
	page := pageOf(t, newDocs(t, cat, goldenOptions))
	for _, want := range []string{`id="demo-credentials"`, `<code>kxSupport</code> / <code>12345678</code>`,
		`id="login-username" name="username"`, `value="kxSupport"`, `value="12345678"`,
		`qconnect call localhost:8080 kxSupport 12345678 marketData/getVwap`} {
		if !strings.Contains(page, want) {
			t.Errorf("demo page lacks %s", want)
		}
	}
	if strings.Contains(page, "<user> <password>") || strings.Contains(page, "&lt;user&gt; &lt;password&gt;") {
		t.Error("demo page shows placeholders in its command lines")
	}
	plain := pageOf(t, newDocs(t, cat, Options{}))
	if strings.Contains(plain, "demo-credentials") || strings.Contains(plain, `value="12345678"`) {
		t.Error("the demo login is shown outside demo mode")
	}
	if !strings.Contains(plain, "&lt;user&gt; &lt;password&gt;") {
		t.Error("outside demo mode the command lines should have placeholders")
	}
}
