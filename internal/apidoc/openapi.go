package apidoc

import (
	"fmt"
	"strings"

	"github.com/qconnect/qconnect"
)

// openAPIVersion is the OpenAPI version of the generated document; see the
// package doc for why 3.1.
const openAPIVersion = "3.1.0"

// securityName is the name of the signing security scheme.
const securityName = "connectSignature"

// ref is a JSON Schema / OpenAPI reference to a component.
func ref(kind, name string) *object { return obj("$ref", "#/components/"+kind+"/"+name) }

func schemaRef(name string) *object { return ref("schemas", name) }

// buildOpenAPI builds the OpenAPI document of the catalog. Paths come in a
// fixed order: the auth and meta endpoints, then the catalog's non-streaming
// methods in declaration order (publishing methods with their rows form,
// publishOperation). Streaming methods are WebSocket subscriptions, which
// OpenAPI cannot describe; their group's tag lists them.
func buildOpenAPI(cat *qconnect.Catalog, opts Options) (*object, error) {
	server := opts.ServerURL
	if server == "" {
		server = "/"
	}
	schemas := commonSchemas()
	paths := fixedPaths()

	var groups []string
	streamingOf := map[string][]string{}
	for _, m := range cat.Methods {
		if !contains(groups, m.Group) {
			groups = append(groups, m.Group)
		}
		if m.Streaming {
			streamingOf[m.Group] = append(streamingOf[m.Group], m.Name)
			continue
		}
		var op *object
		var err error
		if m.Publish {
			op, err = publishOperation(m, schemas)
		} else {
			op, err = methodOperation(m, schemas, windowAt(opts.Now))
		}
		if err != nil {
			return nil, err
		}
		paths.set(m.Path(), obj("post", op))
	}

	tags := []any{
		obj("name", "auth", "description", "Log in, log out and keep a session alive (PROTOCOL 2 and 5)."),
		obj("name", "meta", "description", "Discover the methods the caller may call (PROTOCOL 6)."),
	}
	for _, g := range groups {
		t := obj("name", g)
		desc := cat.GroupDescription(g)
		if s := streamingOf[g]; len(s) > 0 {
			if desc != "" {
				desc += " "
			}
			desc += "WebSocket subscriptions of this group (PROTOCOL 7, not listed as operations; see /connect/asyncapi.json): " + strings.Join(s, ", ") + "."
		}
		if desc != "" {
			t.set("description", desc)
		}
		tags = append(tags, t)
	}

	info := obj("title", opts.Title, "version", "1", "description", infoDescription(opts))
	components := obj(
		"schemas", schemas,
		"responses", errorResponses(),
		"securitySchemes", obj(securityName, obj(
			"type", "apiKey", "in", "header", "name", "Authorization",
			"description", signingDescription)),
	)
	return obj(
		"openapi", openAPIVersion,
		"info", info,
		"servers", []any{obj("url", server)},
		"security", []any{obj(securityName, []any{})},
		"tags", tags,
		"paths", paths,
		"components", components,
	), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func infoDescription(opts Options) string {
	d := "KX Connect protocol gateway. Log in with `POST /connect/api/auth/login` to get a session id, " +
		"then sign every request with it (security scheme `" + securityName + "`). " +
		"Request and response bodies are envelopes `{type, id, date, msg}`; results are tables " +
		"(`msg` holds the rows, `meta` describes the columns). " +
		"Human-readable docs with a Try-it form: `/connect/index.html`. " +
		"The WebSocket (`/connect/ws`: subscriptions and publishing) is described by the AsyncAPI 3.0 document `/connect/asyncapi.json`."
	if opts.ProtocolDoc != nil {
		d += " The wire protocol: `/connect/protocol.md`."
	}
	return d
}

// signingDescription documents the security scheme (PROTOCOL 3.1).
const signingDescription = "Every request except login is signed with the session id returned by " +
	"`/connect/api/auth/login`, which is never sent again:\n\n" +
	"```\nstringToSign = VERB + \"\\n\" + PATH + \"\\n\" + USERNAME + \"\\n\" + BODY_MD5 + \"\\n\"\n" +
	"             + CONTENT_TYPE + \"\\n\" + DATE + \"\\n\" + SESSION_ID\n" +
	"signature    = Base64(HMAC-SHA1(key = SESSION_ID, data = stringToSign))\n" +
	"Authorization: USERNAME + last 5 characters of SESSION_ID + \":\" + signature\n```\n\n" +
	"VERB is `POST`; PATH the request path as sent (`/connect/api/<group>/<method>`); BODY_MD5 the " +
	"lower-case hex MD5 of the exact body bytes; CONTENT_TYPE the Content-Type header exactly as sent; " +
	"DATE the envelope's `date` (IMF-fixdate, within 300 s of the server clock). Use a fresh `id` " +
	"(UUID v4) per request: a reused id is rejected as a replay."

// methodOperation builds the POST operation of a method call (neither
// streaming nor publishing) and
// adds its schemas (<group>_<method>_Params, _Row, _Request, _Response).
func methodOperation(m *qconnect.Method, schemas *object, w exampleWindow) (*object, error) {
	base := m.Group + "_" + m.Name
	params, required, err := paramsSchema(m)
	if err != nil {
		return nil, err
	}

	row, err := rowSchema(m, true)
	if err != nil {
		return nil, err
	}

	msg := obj("type", "array", "items", schemaRef(base+"_Params"))
	if len(required) > 0 {
		msg.set("minItems", 1)
	}
	msg.set("maxItems", 1)
	msg.set("description", "[] for no parameters, or exactly one object: the parameter dictionary.")
	request := requestEnvelope(requestTypeSchema(m), msg)

	schemas.set(base+"_Params", params)
	schemas.set(base+"_Row", row)
	schemas.set(base+"_Request", request)
	schemas.set(base+"_Response", responseEnvelope(m.Name+"Resp",
		obj("type", "array", "items", schemaRef(base+"_Row")), true))

	ex, err := exampleParamsIn(m, w)
	if err != nil {
		return nil, fmt.Errorf("apidoc: %w", err)
	}
	op := operation(m, base)
	desc := strings.TrimSpace(m.Description)
	if desc != "" && desc != summary(m.Description) {
		op.set("description", desc)
	}
	op.set("requestBody", obj("required", true, "content", obj(contentType, obj(
		"schema", schemaRef(base+"_Request"),
		"example", exampleEnvelope(m, ex)))))
	ok := obj("description", "The result table. A failure after the rows started is reported "+
		"in the same body (`success: false`, PROTOCOL 4.4).",
		"content", obj(
			contentType, obj("schema", schemaRef(base+"_Response")),
			"application/x-ndjson", obj("schema", obj("type", "string",
				"description", "One row object per line, then one final line with type, id, success, meta and error.")),
			"text/csv", obj("schema", obj("type", "string",
				"description", "RFC 4180 with a header row; the outcome is in the HTTP trailer `Connect-Status`.")),
			"application/vnd.apache.arrow.stream", obj("schema", obj("type", "string", "format", "binary",
				"description", "Arrow IPC stream: one schema, then record batches.")),
		))
	op.set("responses", withErrors(obj("200", ok), methodStatuses))
	return op, nil
}

// paramsSchema is the schema of m's parameter dictionary (no unknown
// names) and the names of its required parameters.
func paramsSchema(m *qconnect.Method) (*object, []any, error) {
	props := &object{}
	var required []any
	for _, p := range m.Params {
		s, err := paramSchema(m, p)
		if err != nil {
			return nil, nil, fmt.Errorf("apidoc: %s: method %s: %w", m.Pos, m.FullName(), err)
		}
		props.set(p.Name, s)
		if p.Required {
			required = append(required, p.Name)
		}
	}
	params := obj("type", "object", "properties", props)
	if len(required) > 0 {
		params.set("required", required)
	}
	params.set("additionalProperties", false)
	return params, required, nil
}

// rowSchema is the schema of one row of m: column → value (PROTOCOL 4.3),
// no other keys. requireAll makes every column required, as in a result
// row; a published row may leave columns out (they are stored as null).
func rowSchema(m *qconnect.Method, requireAll bool) (*object, error) {
	props := &object{}
	var cols []any
	for _, c := range m.Columns {
		s, err := columnSchema(c)
		if err != nil {
			return nil, fmt.Errorf("apidoc: %s: method %s: %w", m.Pos, m.FullName(), err)
		}
		props.set(c.Name, s)
		cols = append(cols, c.Name)
	}
	row := obj("type", "object", "properties", props)
	if requireAll && len(cols) > 0 {
		row.set("required", cols)
	}
	row.set("additionalProperties", false)
	return row, nil
}

// requestTypeSchema is the schema of the envelope type of a call of m.
func requestTypeSchema(m *qconnect.Method) *object {
	return obj("type", "string", "minLength", 1, "maxLength", 64,
		"description", "The method name + `Req` (servers accept any non-empty value).",
		"examples", []any{requestType(m)})
}

// operation starts the OpenAPI operation of m: its tag (the group), its
// operationId and, when the description has one, its summary.
func operation(m *qconnect.Method, base string) *object {
	op := obj("tags", []any{m.Group}, "operationId", base)
	if sum := summary(m.Description); sum != "" {
		op.set("summary", sum)
	}
	return op
}

// summary is the first sentence of a description, at most 120 characters.
func summary(desc string) string {
	s := strings.TrimSpace(desc)
	if i := strings.IndexAny(s, "\n"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if r := []rune(s); len(r) > 120 {
		s = string(r[:117]) + "..."
	}
	return s
}

// requestEnvelope is the schema of a request envelope (PROTOCOL 1).
func requestEnvelope(typ, msg *object) *object {
	return obj("type", "object",
		"required", []any{"type", "id", "date", "msg"},
		"properties", obj(
			"type", typ,
			"id", schemaRef("RequestId"),
			"date", schemaRef("ImfDate"),
			"msg", msg,
		))
}

// responseEnvelope is the schema of a response envelope with the given msg
// schema; withMeta adds the result meta of PROTOCOL 4.3.
func responseEnvelope(typ string, msg *object, withMeta bool) *object {
	props := obj(
		"type", obj("type", "string", "examples", []any{typ}),
		"id", obj("type", []any{"string", "null"}),
		"date", schemaRef("ImfDate"),
		"msg", msg,
	)
	if withMeta {
		props.set("meta", schemaRef("ResultMeta"))
	}
	props.set("success", obj("type", "boolean"))
	props.set("error", schemaRef("ErrorObject"))
	return obj("type", "object",
		"required", []any{"type", "id", "date", "msg", "success"},
		"properties", props)
}
