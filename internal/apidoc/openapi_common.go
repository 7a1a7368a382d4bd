package apidoc

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// The error statuses each kind of operation documents (PROTOCOL 3.3, 8).
var (
	methodStatuses  = []int{400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504}
	sessionStatuses = []int{400, 401, 409, 413, 429, 500}
	loginStatuses   = []int{400, 401, 413, 429, 500}
)

// allTypes lists every declared type in a fixed order, for enums.
var allTypes = []qconnect.Type{qconnect.Boolean, qconnect.Long, qconnect.Int, qconnect.Short,
	qconnect.Float, qconnect.Real, qconnect.String, qconnect.Symbol, qconnect.Char,
	qconnect.Timestamp, qconnect.Date, qconnect.Time, qconnect.Timespan, qconnect.GUID, qconnect.Dict}

// imfDatePattern matches an IMF-fixdate (PROTOCOL 1).
const imfDatePattern = `^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$`

// responseName is the component name of the error response of a status:
// its status text without spaces ("TooManyRequests").
func responseName(status int) string {
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

// codesByStatus groups the wire codes by HTTP status, codes sorted.
func codesByStatus() map[int][]string {
	out := map[int][]string{}
	for c, s := range protocol.Codes() {
		out[s] = append(out[s], string(c))
	}
	for _, cs := range out {
		slices.Sort(cs)
	}
	return out
}

// errorResponses are the shared error responses, one per status of the
// PROTOCOL 8 table, in status order.
func errorResponses() *object {
	byStatus := codesByStatus()
	statuses := make([]int, 0, len(byStatus))
	for s := range byStatus {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	out := &object{}
	for _, s := range statuses {
		codes := make([]string, len(byStatus[s]))
		for i, c := range byStatus[s] {
			codes[i] = "`" + c + "`"
		}
		r := obj("description", http.StatusText(s)+". Error codes: "+strings.Join(codes, ", ")+".")
		if s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable {
			r.set("headers", obj("Retry-After", obj(
				"description", "Seconds to wait before trying again.",
				"schema", obj("type", "integer", "minimum", 0))))
		}
		r.set("content", obj(contentType, obj("schema", schemaRef("ErrorEnvelope"))))
		out.set(responseName(s), r)
	}
	return out
}

// withErrors adds references to the shared error responses of statuses.
func withErrors(responses *object, statuses []int) *object {
	for _, s := range statuses {
		responses.set(strconv.Itoa(s), ref("responses", responseName(s)))
	}
	return responses
}

// commonSchemas are the schemas shared by all operations.
func commonSchemas() *object {
	var codes []any
	byStatus := codesByStatus()
	var all []string
	for _, cs := range byStatus {
		all = append(all, cs...)
	}
	slices.Sort(all)
	for _, c := range all {
		codes = append(codes, c)
	}
	var columnTypes, paramTypes []string
	for _, t := range allTypes {
		if qconnect.ValidColumnType(t) {
			columnTypes = append(columnTypes, string(t))
		}
		if qconnect.ValidParamType(t) {
			paramTypes = append(paramTypes, string(t))
		}
	}
	columnEnum := make([]any, len(columnTypes))
	for i, t := range columnTypes {
		columnEnum[i] = t
	}
	str := func() *object { return obj("type", "string") }
	return obj(
		"ImfDate", obj("type", "string", "pattern", imfDatePattern,
			"description", "IMF-fixdate in GMT, as JavaScript's `new Date().toUTCString()` writes it.",
			"examples", []any{"Fri, 26 Jul 2019 15:59:00 GMT"}),
		"RequestId", obj("type", "string", "minLength", 1, "maxLength", 128, "pattern", "^[ -~]+$",
			"description", "Printable ASCII; a fresh UUID v4 per request. Echoed in the response; a reused id is a replay."),
		"ErrorObject", obj("type", "object",
			"required", []any{"code", "message"},
			"properties", obj(
				"code", obj("type", "string", "enum", codes),
				"message", obj("type", "string", "description", "Safe to show; says what to do next."),
				"details", obj("type", "array", "items", str(),
					"description", "One entry per problem (invalidParams)."),
			)),
		"ErrorEnvelope", obj("type", "object",
			"required", []any{"type", "id", "date", "msg", "success", "error"},
			"properties", obj(
				"type", obj("type", "string", "examples", []any{"getMemResp", "ErrorResp"}),
				"id", obj("type", []any{"string", "null"},
					"description", "The request's id; null when it could not be read."),
				"date", schemaRef("ImfDate"),
				"msg", obj("type", "array", "maxItems", 0),
				"success", obj("type", "boolean", "const", false),
				"error", schemaRef("ErrorObject"),
			)),
		"ColumnInfo", obj("type", "object",
			"required", []any{"name", "type"},
			"properties", obj("name", str(), "type", obj("type", "string", "enum", columnEnum))),
		"ResultMeta", obj("type", "object",
			"required", []any{"columns", "rowCount", "truncated"},
			"properties", obj(
				"columns", obj("type", "array", "items", schemaRef("ColumnInfo")),
				"rowCount", obj("type", "integer", "minimum", 0),
				"truncated", obj("type", "boolean",
					"description", "True when the result was cut at the method's row cap."),
				"elapsedMs", obj("type", "number", "minimum", 0),
			)),
		"ParamInfo", obj("type", "object",
			"required", []any{"name", "type", "required"},
			"properties", obj(
				"name", str(),
				"type", obj("type", "string", "pattern", "^("+strings.Join(paramTypes, "|")+`)(\[\])?$`),
				"required", obj("type", "boolean"),
				"description", str(),
				"default", obj("description", "The default in the JSON form of PROTOCOL 4.2."),
				"defaultDoc", str(),
				"enum", obj("type", "array", "items", str()),
				"min", obj("type", "number"),
				"max", obj("type", "number"),
				"maxLen", obj("type", "integer", "minimum", 0),
			)),
		"MethodInfo", obj("type", "object",
			"required", []any{"group", "name", "path", "streaming", "params", "columns"},
			"properties", obj(
				"group", str(), "name", str(), "path", str(), "description", str(),
				"streaming", obj("type", "boolean"),
				"params", obj("type", "array", "items", schemaRef("ParamInfo")),
				"columns", obj("type", "array", "items", schemaRef("ColumnInfo")),
			)),
		"LoginRequest", requestEnvelope(obj("type", "string", "const", "LoginReq"),
			obj("type", "array", "minItems", 1, "maxItems", 1, "items", obj("type", "object",
				"required", []any{"username", "password"},
				"properties", obj(
					"username", obj("type", "string", "minLength", 1),
					"password", obj("type", "string", "format", "password"),
				)))),
		"LoginResponse", responseEnvelope("LoginResp", obj("type", "array", "items", obj("type", "object",
			"required", []any{"sessionId", "username", "idleTimeout", "expires"},
			"properties", obj(
				"sessionId", obj("type", "string", "minLength", 32, "pattern", "^[A-Za-z0-9_-]+$",
					"description", "The HMAC key of the signature. Keep it secret: never send it again, never log it."),
				"username", str(),
				"idleTimeout", obj("type", "integer", "minimum", 0, "description", "Seconds."),
				"expires", schemaRef("ImfDate"),
			))), false),
		"LogoutRequest", requestEnvelope(obj("type", "string", "const", "LogoutReq"), emptyMsg()),
		"LogoutResponse", responseEnvelope("LogoutResp", emptyMsg(), false),
		"PingRequest", requestEnvelope(obj("type", "string", "const", "PingReq"), emptyMsg()),
		"PingResponse", responseEnvelope("PingResp", obj("type", "array", "items", obj("type", "object",
			"required", []any{"idleTimeout", "expires"},
			"properties", obj(
				"idleTimeout", obj("type", "integer", "minimum", 0, "description", "Seconds."),
				"expires", schemaRef("ImfDate"),
			))), false),
		"MethodsRequest", requestEnvelope(obj("type", "string", "const", "MethodsReq"), emptyMsg()),
		"MethodsResponse", responseEnvelope("MethodsResp",
			obj("type", "array", "items", schemaRef("MethodInfo")), false),
	)
}

func emptyMsg() *object { return obj("type", "array", "maxItems", 0) }

// fixedPaths are the auth and meta endpoints (PROTOCOL 0).
func fixedPaths() *object {
	op := func(group, name, summary, desc, reqType string, statuses []int) *object {
		title := strings.ToUpper(name[:1]) + name[1:]
		o := obj("tags", []any{group}, "operationId", group+"_"+name, "summary", summary, "description", desc)
		if name == "login" {
			o.set("security", []any{})
		}
		msg := []any{}
		if name == "login" {
			msg = []any{obj("username", exampleUser, "password", "12345678")}
		}
		o.set("requestBody", obj("required", true, "content", obj(contentType, obj(
			"schema", schemaRef(title+"Request"),
			"example", obj("type", reqType, "id", exampleID, "date", exampleDate, "msg", msg)))))
		o.set("responses", withErrors(obj("200", obj("description", summary+": success.",
			"content", obj(contentType, obj("schema", schemaRef(title+"Response"))))), statuses))
		return o
	}
	return obj(
		"/connect/api/auth/login", obj("post", op("auth", "login", "Open a session",
			"Not signed. Returns the session id, the key that signs every later request. "+
				"Wrong username or password: 401 `invalidCredentials`; repeated failures: 429 `tooManyAttempts`.",
			"LoginReq", loginStatuses)),
		"/connect/api/auth/logout", obj("post", op("auth", "logout", "Close the session",
			"The session ends at once on every gateway instance.", "LogoutReq", sessionStatuses)),
		"/connect/api/auth/ping", obj("post", op("auth", "ping", "Keep the session alive",
			"Refreshes the idle timer and reports the session's expiry.", "PingReq", sessionStatuses)),
		"/connect/api/meta/methods", obj("post", op("meta", "methods", "List the methods the caller may call",
			"With their parameters and result columns (PROTOCOL 6).", "MethodsReq", sessionStatuses)),
	)
}
