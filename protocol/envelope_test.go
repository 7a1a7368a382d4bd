package protocol

import (
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

func TestParseRequestValid(t *testing.T) {
	body := `{"type":"getMemReq","msg":[{"syms":["a","b"]}],"id":"e133598e-7b9e-429a-b3e5-bda881c47024","date":"Fri, 26 Jul 2019 16:59:00 GMT","extra":{"x":1}}`
	r, err := ParseRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "getMemReq" || r.ID != "e133598e-7b9e-429a-b3e5-bda881c47024" || r.Date != "Fri, 26 Jul 2019 16:59:00 GMT" {
		t.Errorf("got %+v", r)
	}
	if len(r.Msg) != 1 || string(r.Msg[0]) != `{"syms":["a","b"]}` {
		t.Errorf("msg = %q", r.Msg)
	}
}

func TestParseRequestInvalid(t *testing.T) {
	cases := []struct {
		name, body, wantID, wantMsg string
	}{
		{"not json", `hello`, "", "JSON object"},
		{"array", `[1]`, "", "JSON object"},
		{"trailing", `{"type":"a","id":"x","date":"d","msg":[]} {}`, "", "nothing after"},
		{"dup top", `{"type":"a","type":"b","id":"x","date":"d","msg":[]}`, "", `duplicate key "type"`},
		{"dup nested", `{"type":"a","id":"x","date":"d","msg":[{"s":1,"s":2}]}`, "", `duplicate key "s"`},
		{"missing msg", `{"type":"a","id":"x","date":"d"}`, "x", `"msg" is required`},
		{"msg object", `{"type":"a","id":"x","date":"d","msg":{}}`, "x", `"msg" must be an array`},
		{"type number", `{"type":1,"id":"x","date":"d","msg":[]}`, "x", `"type" must be a string`},
		{"empty type", `{"type":"","id":"x","date":"d","msg":[]}`, "x", `"type" must have 1 to 64`},
		{"long id", `{"type":"a","id":"` + strings.Repeat("x", 129) + `","date":"d","msg":[]}`, "", `"id" must have 1 to 128`},
		{"id control", `{"type":"a","id":"x\n","date":"d","msg":[]}`, "", "printable ASCII"},
		{"bad utf8", "{\"type\":\"a\xff\",\"id\":\"x\",\"date\":\"d\",\"msg\":[]}", "", "UTF-8"},
		{"deep", `{"type":"a","id":"x","date":"d","msg":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "", "nests deeper"},
		{"truncated", `{"type":"a","id":"x"`, "", "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(c.body))
			e := qconnect.AsError(err)
			if e == nil || e.Code != qconnect.CodeBadRequest {
				t.Fatalf("err = %v, want badRequest", err)
			}
			if !strings.Contains(e.Message, c.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, c.wantMsg)
			}
			if r.ID != c.wantID {
				t.Errorf("ID = %q, want %q", r.ID, c.wantID)
			}
		})
	}
}

func TestResponseType(t *testing.T) {
	for in, want := range map[string]string{"getMemReq": "getMemResp", "LoginReq": "LoginResp", "foo": "fooResp", "": "ErrorResp", "Req": "Resp"} {
		if got := ResponseType(in); got != want {
			t.Errorf("ResponseType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	good := "Fri, 26 Jul 2019 15:59:00 GMT"
	d, err := ParseDate(good)
	if err != nil || !d.Equal(time.Date(2019, 7, 26, 15, 59, 0, 0, time.UTC)) {
		t.Fatalf("ParseDate(%q) = %v, %v", good, d, err)
	}
	if FormatDate(d) != good {
		t.Errorf("FormatDate = %q", FormatDate(d))
	}
	for _, bad := range []string{"", "Thu, 26 Jul 2019 15:59:00 GMT", "Fri, 26 Jul 2019 15:59:00 UTC",
		"Fri, 26 Jul 2019 15:59:00 +0000", "2019-07-26T15:59:00Z", "Fri,  6 Jul 2019 15:59:00 GMT", "Fri, 26 Jul 2019 15:59:00 GMT "} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

func TestStatusTable(t *testing.T) {
	want := map[qconnect.Code]int{"badRequest": 400, "missingAuthorization": 401, "malformedAuthorization": 401,
		"invalidSession": 401, "invalidSignature": 401, "clockSkew": 401, "invalidCredentials": 401, "forbidden": 403,
		"unknownMethod": 404, "replayedRequest": 409, "payloadTooLarge": 413, "invalidParams": 422,
		"tooManyAttempts": 429, "rateLimited": 429, "internal": 500, "analyticError": 502, "busy": 503, "timeout": 504}
	for c, s := range want {
		if got := Status(c); got != s {
			t.Errorf("Status(%s) = %d, want %d", c, got, s)
		}
	}
	if Status("nonsense") != 500 {
		t.Error("unknown code must map to 500")
	}
}
