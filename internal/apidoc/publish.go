package apidoc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Publishing methods (qconnect.Method.Publish) take rows, not parameters
// (PROTOCOL 7 and appendix item 12): over REST msg is [{"rows": [row, ...]}],
// over the WebSocket an ExecuteReq carries params {"rows": [row, ...]}. A
// row is an object of column name → value in the JSON form of PROTOCOL 4.3;
// a column left out is null. The answer is msg [{"rows": N}] without meta.

// exampleRowCount is the number of rows of a publish example.
const exampleRowCount = 2

// publishDescription is what every publishing method's documentation says
// about the wire form, in Markdown.
const publishDescription = "Publishes rows: send `msg: [{\"rows\": [{column: value, ...}, ...]}]`, one object per row, " +
	"keyed by the declared columns, values in the JSON forms of PROTOCOL 4.3; a column left out is null. " +
	"Needs a write grant (`write:` in the users file), otherwise 403 `forbidden`. " +
	"Every row is checked before anything is stored: one bad row rejects the whole batch with 422 `invalidParams`, " +
	"whose details name `rows[i].column`. The answer is `msg: [{\"rows\": N}]`, the number of rows stored, without meta. " +
	"Over the WebSocket the same publish is an `ExecuteReq` with `params: {\"rows\": [...]}`."

// exampleColumnValue is the Go value (qconnect package doc) of column type t
// in example row i, column j: rows differ, numbers differ between columns,
// and every value is valid for its type.
func exampleColumnValue(t qconnect.Type, i, j int) (any, error) {
	n := int64(i + 1)
	switch t {
	case qconnect.Boolean:
		return i%2 == 0, nil
	case qconnect.Long:
		return 100 * n, nil
	case qconnect.Int:
		return 10 * n, nil
	case qconnect.Short:
		return n, nil
	case qconnect.Float:
		return 0.5 + float64(n+10*int64(j)), nil
	case qconnect.Real:
		return 0.25 + float64(n+10*int64(j)), nil
	case qconnect.String, qconnect.Symbol:
		return exampleText + "_" + string(rune('A'+i%26)), nil
	case qconnect.Char:
		return string(rune('a' + i%26)), nil
	case qconnect.Timestamp:
		ts, err := time.Parse(time.RFC3339, exampleStart)
		return ts.Add(time.Duration(i) * time.Second), err
	case qconnect.Date:
		d, err := time.Parse(protocol.DateLayout, exampleDay)
		return d.AddDate(0, 0, i), err
	case qconnect.Time:
		return 9*time.Hour + time.Duration(i)*time.Second, nil
	case qconnect.Timespan:
		return time.Duration(n) * 5 * time.Minute, nil
	case qconnect.GUID:
		var g [16]byte
		if _, err := hex.Decode(g[:], []byte(strings.ReplaceAll(exampleID, "-", ""))); err != nil {
			return nil, err
		}
		g[15] += byte(i)
		return g, nil
	}
	return nil, fmt.Errorf("column type %q is not a column type of PROTOCOL 4.3", t)
}

// exampleRows are the example rows of a publishing method: exampleRowCount
// objects of every declared column, in declaration order, each value in the
// JSON form of PROTOCOL 4.3 as protocol.AppendJSON writes it (numbers as
// json.Number, so they print exactly as written).
func exampleRows(m *qconnect.Method) ([]any, error) {
	rows := make([]any, 0, exampleRowCount)
	for i := range exampleRowCount {
		row := &object{}
		for j, c := range m.Columns {
			v, err := exampleColumnValue(c.Type, i, j)
			if err != nil {
				return nil, fmt.Errorf("%s: method %s: column %q: %w; fix the catalog declaration", m.Pos, m.FullName(), c.Name, err)
			}
			dec := json.NewDecoder(bytes.NewReader(protocol.AppendJSON(nil, c.Type, v)))
			dec.UseNumber()
			var j any
			if err := dec.Decode(&j); err != nil {
				return nil, fmt.Errorf("%s: method %s: column %q: example value: %w", m.Pos, m.FullName(), c.Name, err)
			}
			row.set(c.Name, j)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// publishEnvelope is the example REST request envelope of a publish.
func publishEnvelope(m *qconnect.Method, rows any) *object {
	return obj("type", requestType(m), "id", exampleID, "date", exampleDate,
		"msg", []any{obj("rows", rows)})
}

// executeFrame is the example WebSocket ExecuteReq frame of a publish
// (PROTOCOL 7 and appendix item 14).
func executeFrame(m *qconnect.Method, rows any) *object {
	return obj("type", "ExecuteReq", "id", exampleID, "date", exampleDate,
		"msg", []any{obj("method", m.FullName(), "params", obj("rows", rows))})
}

// publishCommandLine is the qconnect CLI invocation that publishes rows
// from a CSV file (header row of column names, values in the text form of
// PROTOCOL 4.3) to m; cmd/qconnect/publish.go reads the format from the
// file's extension.
func publishCommandLine(m *qconnect.Method, login string) string {
	return "qconnect publish " + login + " " + m.FullName() + " --file rows.csv"
}

// publishOperation builds the POST operation of a publishing method and adds
// its schemas (<group>_<method>_Row, _Request, _Response). Only the JSON
// envelope is documented: a publish answers with msg [{"rows": N}], never a
// table, so the NDJSON, CSV and Arrow forms of a call do not apply.
func publishOperation(m *qconnect.Method, schemas *object) (*object, error) {
	base := m.Group + "_" + m.Name
	row, err := rowSchema(m, false)
	if err != nil {
		return nil, err
	}
	row.set("description", "One published row: column → value in the JSON form of PROTOCOL 4.3. A column left out is null.")
	rowsProp := obj("type", "array", "minItems", 1, "items", schemaRef(base+"_Row"),
		"description", "The rows to append, one object per row. One bad row rejects the whole batch.")
	msg := obj("type", "array", "minItems", 1, "maxItems", 1,
		"items", obj("type", "object", "required", []any{"rows"},
			"properties", obj("rows", rowsProp), "additionalProperties", false),
		"description", `Exactly one object: {"rows": [row, ...]}.`)
	result := obj("type", "array", "minItems", 1, "maxItems", 1,
		"items", obj("type", "object", "required", []any{"rows"},
			"properties", obj("rows", obj("type", "integer", "minimum", 0, "description", "The number of rows stored.")),
			"additionalProperties", false))

	schemas.set(base+"_Row", row)
	schemas.set(base+"_Request", requestEnvelope(requestTypeSchema(m), msg))
	schemas.set(base+"_Response", responseEnvelope(m.Name+"Resp", result, false))

	rows, err := exampleRows(m)
	if err != nil {
		return nil, fmt.Errorf("apidoc: %w", err)
	}
	op := operation(m, base)
	op.set("description", strings.TrimSpace(strings.TrimSpace(m.Description)+"\n\n"+publishDescription))
	op.set("requestBody", obj("required", true, "content", obj(contentType, obj(
		"schema", schemaRef(base+"_Request"),
		"example", publishEnvelope(m, rows)))))
	ok := obj("description", "The rows were stored and sent to the subscribers; `msg` holds their number.",
		"content", obj(contentType, obj(
			"schema", schemaRef(base+"_Response"),
			"example", obj("type", m.Name+"Resp", "id", exampleID, "date", exampleDate,
				"msg", []any{obj("rows", len(rows))}, "success", true))))
	op.set("responses", withErrors(obj("200", ok), methodStatuses))
	return op, nil
}

// rowsMarker stands in for the rows while prettyRows lays out the rest of
// an envelope; it cannot occur in a method name or an example value.
const rowsMarker = "\x00rows\x00"

// prettyRows writes the envelope that build makes of rows like
// prettyEnvelope, with the rows one per line: still valid JSON equal to the
// compact form.
func prettyRows(build func(*qconnect.Method, any) *object, m *qconnect.Method, rows []any) (string, error) {
	outer, err := prettyEnvelope(build(m, rowsMarker))
	if err != nil {
		return "", err
	}
	mark, err := marshal(rowsMarker, false)
	if err != nil {
		return "", err
	}
	if strings.Count(outer, string(mark)) != 1 {
		return "", fmt.Errorf("apidoc: laying out the rows of %s: the envelope does not hold them once", m.FullName())
	}
	list, err := rowsText(rows, "    ")
	if err != nil {
		return "", err
	}
	return strings.Replace(outer, string(mark), list, 1), nil
}

// rowsText is rows as a JSON array with one compact row per line, each line
// after the first starting with indent.
func rowsText(rows []any, indent string) (string, error) {
	var b strings.Builder
	b.WriteString("[")
	for i, r := range rows {
		js, err := marshal(r, false)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n" + indent + "  " + string(js))
	}
	b.WriteString("\n" + indent + "]")
	return b.String(), nil
}
