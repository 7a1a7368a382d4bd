package apidoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// checkPublishOperation checks the operation of a publishing method: rows
// in, a count out, JSON only, and the description of the wire rules.
func checkPublishOperation(t *testing.T, doc *openapi3.T, m *qconnect.Method, op *openapi3.Operation) {
	t.Helper()
	base := m.Group + "_" + m.Name
	if doc.Components.Schemas[base+"_Params"] != nil {
		t.Errorf("%s: a publishing method has a parameter schema; it takes rows", m.FullName())
	}
	for _, want := range []string{"write grant", "invalidParams", "rows[i].column", `{"rows": N}`, "ExecuteReq"} {
		if !strings.Contains(op.Description, want) {
			t.Errorf("%s: the description does not mention %s: %q", m.FullName(), want, op.Description)
		}
	}
	req, _ := requestSchema(t, doc, m.Path())
	msg := req.Properties["msg"].Value
	if msg.MinItems != 1 || msg.MaxItems == nil || *msg.MaxItems != 1 {
		t.Errorf("%s: msg must hold exactly one object: minItems %d maxItems %v", m.FullName(), msg.MinItems, msg.MaxItems)
	}
	item := msg.Items.Value
	if !slices.Equal(item.Required, []string{"rows"}) || len(item.Properties) != 1 {
		t.Errorf("%s: msg[0] must be {rows} only: required %v, properties %v", m.FullName(), item.Required, item.Properties)
	}
	rows := item.Properties["rows"].Value
	if rows.MinItems != 1 || rows.Items.Ref != "#/components/schemas/"+base+"_Row" {
		t.Errorf("%s: rows must be a non-empty array of %s_Row: minItems %d items %q", m.FullName(), base, rows.MinItems, rows.Items.Ref)
	}
	row := doc.Components.Schemas[base+"_Row"].Value
	for _, c := range m.Columns {
		if row.Properties[c.Name] == nil {
			t.Errorf("%s: column %s missing from the row schema", m.FullName(), c.Name)
		}
	}
	ok := op.Responses.Value("200").Value
	if len(ok.Content) != 1 || ok.Content.Get(contentType) == nil {
		var types []string
		for k := range ok.Content {
			types = append(types, k)
		}
		t.Errorf("%s: a publish answers JSON only; 200 has %v", m.FullName(), types)
	}
	resp := doc.Components.Schemas[base+"_Response"].Value
	if resp.Properties["meta"] != nil {
		t.Errorf("%s: a publish answer has no meta", m.FullName())
	}
	if ex := ok.Content.Get(contentType).Example; ex == nil {
		t.Errorf("%s: no response example", m.FullName())
	} else if err := validate(doc, resp, ex); err != nil {
		t.Errorf("%s: the response example does not satisfy the schema: %v", m.FullName(), err)
	}
}

// TestOpenAPIPublishSchemas checks the publish schemas with the JSON Schema
// 2020-12 validator against what the server accepts and rejects
// (server/publish.go): a row may leave columns out and hold nulls; unknown
// columns, other value forms, a missing or empty rows list and extra keys
// are rejected.
func TestOpenAPIPublishSchemas(t *testing.T) {
	doc := loadOpenAPI(t, newDocs(t, handCatalog(t), Options{}).OpenAPI())
	s, ex := requestSchema(t, doc, "/connect/api/marketData/publishTrade")
	if err := validate(doc, s, ex); err != nil {
		t.Fatalf("the example does not satisfy the schema: %v", err)
	}
	env := func(msg string) any {
		return decode(t, `{"type":"publishTradeReq","id":"x1","date":"Fri, 26 Jul 2019 16:59:00 GMT","msg":`+msg+`}`)
	}
	full := `"time":"2019-07-26T15:59:00.123456789Z","sym":"AAPL","price":1.5,"size":100,"lots":2,"venue":3,` +
		`"fee":0.25,"note":"n","side":"b","day":"2019-07-26","at":"15:59:00.123","age":"0D00:05:00.000000000",` +
		`"ok":true,"ref":"e133598e-7b9e-429a-b3e5-bda881c47024"`
	for what, msg := range map[string]string{
		"every column":       `[{"rows":[{` + full + `}]}]`,
		"some columns":       `[{"rows":[{"sym":"AAPL","price":1.5},{"time":"2019-07-26T09:00:00Z"}]}]`,
		"nulls":              `[{"rows":[{"sym":null,"price":null,"ref":null}]}]`,
		"an empty row":       `[{"rows":[{}]}]`,
		"integral for float": `[{"rows":[{"price":2}]}]`,
	} {
		if err := validate(doc, s, env(msg)); err != nil {
			t.Errorf("%s: rejected a valid publish %s: %v", what, msg, err)
		}
	}
	for what, msg := range map[string]string{
		"no msg object":       `[]`,
		"two msg objects":     `[{"rows":[{}]},{"rows":[{}]}]`,
		"no rows":             `[{}]`,
		"empty rows":          `[{"rows":[]}]`,
		"rows not a list":     `[{"rows":{"sym":"AAPL"}}]`,
		"row not an object":   `[{"rows":[["AAPL",1.5]]}]`,
		"extra key":           `[{"rows":[{}],"table":"trade"}]`,
		"unknown column":      `[{"rows":[{"colour":"red"}]}]`,
		"number as string":    `[{"rows":[{"price":"1.5"}]}]`,
		"fraction for long":   `[{"rows":[{"size":1.5}]}]`,
		"short out of range":  `[{"rows":[{"venue":40000}]}]`,
		"timespan param form": `[{"rows":[{"age":"5m"}]}]`,
		"time without millis": `[{"rows":[{"at":"15:59"}]}]`,
		"timestamp not RFC":   `[{"rows":[{"time":"yesterday"}]}]`,
		"guid not a UUID":     `[{"rows":[{"ref":"abc"}]}]`,
		"parameters instead":  `[{"syms":["AAPL"]}]`,
	} {
		if err := validate(doc, s, env(msg)); err == nil {
			t.Errorf("%s: accepted an invalid publish %s", what, msg)
		}
	}

	resp := doc.Components.Schemas["marketData_publishTrade_Response"].Value
	answer := func(msg string) any {
		return decode(t, `{"type":"publishTradeResp","id":"x1","date":"Fri, 26 Jul 2019 16:59:00 GMT","success":true,"msg":`+msg+`}`)
	}
	if err := validate(doc, resp, answer(`[{"rows":2}]`)); err != nil {
		t.Errorf("rejected a valid answer: %v", err)
	}
	for _, msg := range []string{`[]`, `[{"rows":-1}]`, `[{"rows":1.5}]`, `[{"rows":[{"sym":"AAPL"}]}]`, `[{"rows":1,"extra":1}]`} {
		if err := validate(doc, resp, answer(msg)); err == nil {
			t.Errorf("accepted an invalid answer msg %s", msg)
		}
	}
}

// TestExampleRowsDecode decodes every example row the way the server reads
// a publish (server/publish.go decodeRows: encoding/json with UseNumber,
// then protocol.DecodeValue per column) and compares the values with those
// the rows were made from: the examples are publishes the server accepts.
func TestExampleRowsDecode(t *testing.T) {
	n := 0
	for _, m := range append(handCatalog(t).Methods, demoCatalog(t).Methods...) {
		if !m.Publish {
			continue
		}
		n++
		rows, err := exampleRows(m)
		if err != nil {
			t.Fatal(err)
		}
		js, err := marshal(rows, false)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		var list []map[string]any
		if err := dec.Decode(&list); err != nil {
			t.Fatalf("%s: the example rows are not JSON: %v", m.FullName(), err)
		}
		if len(list) != exampleRowCount {
			t.Fatalf("%s: %d example rows, want %d", m.FullName(), len(list), exampleRowCount)
		}
		for i, row := range list {
			if len(row) != len(m.Columns) {
				t.Errorf("%s: rows[%d] has %d keys for %d columns", m.FullName(), i, len(row), len(m.Columns))
			}
			for j, c := range m.Columns {
				got, err := protocol.DecodeValue(c.Type, row[c.Name])
				if err != nil {
					t.Errorf("%s: rows[%d].%s = %v: the server rejects it: %v", m.FullName(), i, c.Name, row[c.Name], err)
					continue
				}
				want, _ := exampleColumnValue(c.Type, i, j)
				if tm, ok := want.(time.Time); ok {
					if g, ok := got.(time.Time); !ok || !g.Equal(tm) {
						t.Errorf("%s: rows[%d].%s reads back as %v, want %v", m.FullName(), i, c.Name, got, tm)
					}
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: rows[%d].%s reads back as %#v, want %#v", m.FullName(), i, c.Name, got, want)
				}
				// The range checks server/publish.go adds to DecodeValue.
				switch x := got.(type) {
				case int64:
					if c.Type == qconnect.Int && int64(int32(x)) != x || c.Type == qconnect.Short && int64(int16(x)) != x {
						t.Errorf("%s: rows[%d].%s = %d is out of range for %s", m.FullName(), i, c.Name, x, c.Type)
					}
				case string:
					if c.Type == qconnect.Char && len([]rune(x)) != 1 {
						t.Errorf("%s: rows[%d].%s = %q is not one character", m.FullName(), i, c.Name, x)
					}
				}
			}
		}
		if reflect.DeepEqual(list[0], list[1]) {
			t.Errorf("%s: the example rows are identical", m.FullName())
		}
	}
	if n < 4 {
		t.Errorf("only %d publishing methods checked; the hand and demo catalogs declare 4", n)
	}
	if _, err := exampleColumnValue(qconnect.Dict, 0, 0); err == nil {
		t.Error("a dict column got an example value; dict is not a column type")
	}
}

// checkPublishCard checks the card of a publishing method on the page.
func checkPublishCard(t *testing.T, m *qconnect.Method, card string) {
	t.Helper()
	text := html.UnescapeString(card)
	rows, err := exampleRows(m)
	if err != nil {
		t.Fatal(err)
	}
	wantRows, _ := marshal(rows, false)
	// The example request is a publish envelope holding the example rows.
	ex := regexp.MustCompile(`(?s)<code class="example-request">(.*?)</code>`).FindStringSubmatch(card)
	if ex == nil {
		t.Fatalf("%s: no example request", m.FullName())
	}
	req, err := protocol.ParseRequest([]byte(html.UnescapeString(ex[1])))
	if err != nil || req.Type != m.Name+"Req" || len(req.Msg) != 1 {
		t.Fatalf("%s: the example request is not a one-object envelope: %v %+v", m.FullName(), err, req)
	}
	var msg0 map[string]json.RawMessage
	if err := json.Unmarshal(req.Msg[0], &msg0); err != nil || len(msg0) != 1 || !jsonEqual(msg0["rows"], wantRows) {
		t.Errorf("%s: example msg[0] = %s, want {\"rows\": %s}", m.FullName(), req.Msg[0], wantRows)
	}
	// The WebSocket form: ExecuteReq with params {"rows": [...]}.
	frame := regexp.MustCompile(`(?s)<code class="example-execute">(.*?)</code>`).FindStringSubmatch(card)
	if frame == nil {
		t.Fatalf("%s: no ExecuteReq example", m.FullName())
	}
	var ws struct {
		Type string
		Msg  []struct {
			Method string
			Params map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(frame[1])), &ws); err != nil || ws.Type != "ExecuteReq" ||
		len(ws.Msg) != 1 || ws.Msg[0].Method != m.FullName() || len(ws.Msg[0].Params) != 1 || !jsonEqual(ws.Msg[0].Params["rows"], wantRows) {
		t.Errorf("%s: the ExecuteReq example is not params {rows}: %v %+v", m.FullName(), err, ws)
	}
	cli := "qconnect publish localhost:8080 <user> <password> " + m.FullName() + " --file rows.csv"
	if !strings.Contains(text, `<code class="example-cli">`+cli+`</code>`) || strings.Contains(text, "qconnect call") {
		t.Errorf("%s: the command line must be %q", m.FullName(), cli)
	}
	form := regexp.MustCompile(`(?s)<form class="try" data-method="` + regexp.QuoteMeta(m.FullName()) +
		`" data-path="` + regexp.QuoteMeta(m.Path()) + `" data-type="` + m.Name + `Req" data-publish="true".*?<textarea [^>]*data-rows="true">(.*?)</textarea>`).FindStringSubmatch(card)
	if form == nil {
		t.Fatalf("%s: no publish Try-it form with a rows textarea", m.FullName())
	}
	if !jsonEqual([]byte(html.UnescapeString(form[1])), wantRows) {
		t.Errorf("%s: the rows textarea holds %s, want the example rows %s", m.FullName(), form[1], wantRows)
	}
	if strings.Contains(card, `data-param="`) {
		t.Errorf("%s: a publish form has parameter inputs", m.FullName())
	}
	for _, want := range []string{"write grant", "rows[i].column", "invalidParams", "Row columns", ">Publish</button>"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s: the card does not mention %q", m.FullName(), want)
		}
	}
	if strings.Contains(text, "<h4>Parameters</h4>") {
		t.Errorf("%s: a publish card lists parameters", m.FullName())
	}
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestPrettyRows: the shown publish examples are valid JSON equal to the
// compact form, one row per line.
func TestPrettyRows(t *testing.T) {
	m, _ := handCatalog(t).Lookup("marketData", "publishTrade")
	rows, err := exampleRows(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, build := range []func(*qconnect.Method, any) *object{publishEnvelope, executeFrame} {
		pretty, err := prettyRows(build, m, rows)
		if err != nil {
			t.Fatal(err)
		}
		compact, _ := marshal(build(m, rows), false)
		if !jsonEqual([]byte(pretty), compact) {
			t.Errorf("pretty and compact differ:\n%s\n%s", pretty, compact)
		}
		for i, r := range rows {
			js, _ := marshal(r, false)
			if !strings.Contains(pretty, "\n      "+string(js)) {
				t.Errorf("rows[%d] is not on a line of its own:\n%s", i, pretty)
			}
		}
	}
	got, _ := prettyRows(publishEnvelope, m, rows[:1])
	want := `{
  "type": "publishTradeReq",
  "id": "e133598e-7b9e-429a-b3e5-bda881c47024",
  "date": "Fri, 26 Jul 2019 16:59:00 GMT",
  "msg": [{
    "rows": [
      {"time":"2019-07-26T09:00:00.000000000Z","sym":"example_A","price":21.5,"size":100,"lots":10,"venue":1,` +
		`"fee":61.25,"note":"example_A","side":"a","day":"2019-07-26","at":"09:00:00.000","age":"0D00:05:00.000000000",` +
		`"ok":true,"ref":"e133598e-7b9e-429a-b3e5-bda881c47024"}
    ]
  }]
}`
	if got != want {
		t.Errorf("publishTrade example:\n%s\nwant\n%s", got, want)
	}
}

// TestPublishCommandLine: the command line uses flags that qconnect publish
// declares (cmd/qconnect/publish.go, read as text: a main package cannot be
// imported), and the file name gives the format the CLI infers from it.
func TestPublishCommandLine(t *testing.T) {
	m, _ := handCatalog(t).Lookup("marketData", "publishTrade")
	line := publishCommandLine(m, defaultLogin)
	if want := "qconnect publish localhost:8080 <user> <password> marketData/publishTrade --file rows.csv"; line != want {
		t.Errorf("command line %q, want %q", line, want)
	}
	src, err := os.ReadFile("../../cmd/qconnect/publish.go")
	if err != nil {
		t.Skipf("the CLI source is not beside this package: %v", err)
	}
	for _, flag := range regexp.MustCompile(`--([a-z-]+)`).FindAllStringSubmatch(line, -1) {
		if !bytes.Contains(src, fmt.Appendf(nil, `fs.String(%q,`, flag[1])) {
			t.Errorf("qconnect publish declares no string flag --%s", flag[1])
		}
	}
	if !bytes.Contains(src, []byte(`case ".csv":`)) {
		t.Error("qconnect publish no longer infers csv from the .csv extension; name the format in the command line")
	}
}
