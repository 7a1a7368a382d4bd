package apidoc

import (
	"github.com/qconnect/qconnect"
)

// asyncAPIPath is where the AsyncAPI document of /connect/ws is served.
const asyncAPIPath = "/connect/asyncapi.json"

// wsChannel is the id of the one channel, /connect/ws.
const wsChannel = "connectWs"

// buildAsyncAPI builds the AsyncAPI 3.0 document of the WebSocket of
// PROTOCOL 7 for cat: one channel (/connect/ws) carrying every frame of
// section 7, and operations for authenticating, pinging, logging out,
// calling (ExecuteReq), and per method: subscribing to each streaming
// method (its SubscribeReq with the method's parameters, then SnapshotMsg
// and UpdateMsg with the method's row schema) and publishing to each
// publishing method (ExecuteReq with rows). Schemas are JSON Schema, shared
// with the OpenAPI document (components/schemas). The output depends only
// on the catalog and the options.
func buildAsyncAPI(cat *qconnect.Catalog, opts Options) (*object, error) {
	schemas := commonSchemas()
	messages := &object{}
	channelMsgs := &object{}
	ops := &object{}

	msgRef := func(name string) *object { return obj("$ref", "#/channels/"+wsChannel+"/messages/"+name) }
	addMsg := func(name, title, summary string, payload *object) {
		messages.set(name, obj("name", name, "title", title, "summary", summary,
			"contentType", contentType, "payload", payload))
		channelMsgs.set(name, ref("messages", name))
	}
	chanRef := obj("$ref", "#/channels/"+wsChannel)
	sendOp := func(id, summary string, send []string, reply []string) {
		op := obj("action", "send", "channel", chanRef, "summary", summary)
		var ms []any
		for _, s := range send {
			ms = append(ms, msgRef(s))
		}
		op.set("messages", ms)
		if len(reply) > 0 {
			var rs []any
			for _, r := range reply {
				rs = append(rs, msgRef(r))
			}
			op.set("reply", obj("channel", chanRef, "messages", rs))
		}
		ops.set(id, op)
	}

	// The frames of PROTOCOL 7 that do not depend on the catalog.
	str := func() *object { return obj("type", "string") }
	reqFrame := func(typ string, msg *object) *object {
		return requestEnvelope(obj("type", "string", "const", typ), msg)
	}
	respFrame := func(typ string, msg *object) *object {
		return obj("type", "object", "required", []any{"type", "id", "date", "msg", "success"},
			"properties", obj("type", obj("type", "string", "enum", []any{typ, "ErrorResp"}),
				"id", obj("type", []any{"string", "null"}), "date", schemaRef("ImfDate"), "msg", msg,
				"success", obj("type", "boolean"), "error", schemaRef("ErrorObject")))
	}
	methodCall := func(method, params *object) *object {
		return obj("type", "array", "minItems", 1, "maxItems", 1, "items", obj("type", "object",
			"required", []any{"method"}, "properties", obj("method", method, "params", params)))
	}
	addMsg("LoginReq", "Log in (first frame)", "Opens a session bound to this socket (PROTOCOL 2).",
		reqFrame("LoginReq", obj("type", "array", "minItems", 1, "maxItems", 1, "items", obj("type", "object",
			"required", []any{"username", "password"}, "properties", obj("username", str(), "password", str())))))
	addMsg("AuthReq", "Attach a session (first frame)",
		"Attaches an existing session: authorization is signed as in PROTOCOL 3.1 with VERB GET, PATH /connect/ws, the MD5 of the empty body, an empty CONTENT_TYPE and this frame's date.",
		reqFrame("AuthReq", obj("type", "array", "minItems", 1, "maxItems", 1, "items", obj("type", "object",
			"required", []any{"authorization"}, "properties", obj("authorization", str())))))
	addMsg("LoginResp", "Login answer", "The session (sessionId, idleTimeout, expires) or an error.", respFrame("LoginResp", obj("type", "array")))
	addMsg("AuthResp", "Attach answer", "Success, or an error (then close 4401).", respFrame("AuthResp", obj("type", "array")))
	addMsg("ExecuteReq", "Call a method", "Calls a method with its parameters; the answer is the REST result envelope of PROTOCOL 4.3.",
		reqFrame("ExecuteReq", methodCall(obj("type", "string", "pattern", "^[A-Za-z][A-Za-z0-9_]*/[A-Za-z][A-Za-z0-9_]*$"), obj("type", "object"))))
	addMsg("ExecuteResp", "Call answer", "The result envelope of PROTOCOL 4.3 (rows in msg, meta), or an error.",
		func() *object {
			o := respFrame("ExecuteResp", obj("type", "array"))
			p, _ := o.get("properties")
			p.(*object).set("meta", schemaRef("ResultMeta"))
			return o
		}())
	addMsg("SubscribeResp", "Subscription accepted", "msg: [{subscriptionId}], then SnapshotMsg (if the method has one) and UpdateMsg frames; or an error.",
		respFrame("SubscribeResp", obj("type", "array", "maxItems", 1, "items", obj("type", "object",
			"required", []any{"subscriptionId"}, "properties", obj("subscriptionId", str())))))
	addMsg("UnsubscribeReq", "End a subscription", "Ends the subscription named by its id.",
		reqFrame("UnsubscribeReq", obj("type", "array", "minItems", 1, "maxItems", 1, "items", obj("type", "object",
			"required", []any{"subscriptionId"}, "properties", obj("subscriptionId", str())))))
	addMsg("UnsubscribeResp", "Unsubscribe answer", "Success or an error.", respFrame("UnsubscribeResp", obj("type", "array")))
	addMsg("PingReq", "Ping", "Keeps the session alive.", reqFrame("PingReq", emptyMsg()))
	addMsg("PingResp", "Ping answer", "Success or an error.", respFrame("PingResp", obj("type", "array")))
	addMsg("LogoutReq", "Log out", "Ends the session; the server answers, then closes with 1000.", reqFrame("LogoutReq", emptyMsg()))
	addMsg("LogoutResp", "Logout answer", "Success or an error; then close 1000.", respFrame("LogoutResp", obj("type", "array")))
	addMsg("SubscriptionEndMsg", "Subscription ended by the server",
		"The server ended a subscription (backend gone, entitlement revoked, slow consumer: then close 4008).",
		obj("type", "object", "required", []any{"type", "subscriptionId", "error"},
			"properties", obj("type", obj("type", "string", "const", "SubscriptionEndMsg"), "subscriptionId", str(),
				"date", schemaRef("ImfDate"), "error", schemaRef("ErrorObject"))))

	sendOp("login", "Authenticate with a LoginReq as the first frame (within 10 s, else close 4401).", []string{"LoginReq"}, []string{"LoginResp"})
	sendOp("attachSession", "Authenticate with an AuthReq as the first frame, attaching an existing session.", []string{"AuthReq"}, []string{"AuthResp"})
	sendOp("execute", "Call a (non-streaming) method; the answer is the REST result envelope.", []string{"ExecuteReq"}, []string{"ExecuteResp"})
	sendOp("unsubscribe", "End a subscription.", []string{"UnsubscribeReq"}, []string{"UnsubscribeResp"})
	sendOp("ping", "Ping.", []string{"PingReq"}, []string{"PingResp"})
	sendOp("logout", "Log out; the socket closes with 1000.", []string{"LogoutReq"}, []string{"LogoutResp"})
	ops.set("subscriptionEnded", obj("action", "receive", "channel", chanRef,
		"summary", "The server ends a subscription.", "messages", []any{msgRef("SubscriptionEndMsg")}))

	for _, m := range cat.Methods {
		switch {
		case m.Streaming:
			if err := asyncStreaming(m, schemas, addMsg, sendOp, methodCall); err != nil {
				return nil, err
			}
		case m.Publish:
			if err := asyncPublish(m, schemas, addMsg, sendOp, methodCall); err != nil {
				return nil, err
			}
		}
	}

	title := opts.Title + " — WebSocket"
	info := obj("title", title, "version", "1.0.0",
		"description", "The WebSocket of the KX Connect protocol (PROTOCOL 7) at /connect/ws, generated from the catalog: "+
			"every streaming method (SubscribeReq, then SnapshotMsg and UpdateMsg with its rows) and publishing method (ExecuteReq with rows). "+
			"Every frame is a text frame holding one JSON envelope. Authenticate with the first frame. "+
			"Close codes: 4401 not authenticated or session ended, 4008 slow consumer, 1000 after LogoutResp. "+
			"The REST API is described by openapi.json.")
	doc := obj("asyncapi", "3.0.0", "info", info, "defaultContentType", contentType)
	if opts.Addr != "" {
		doc.set("servers", obj("gateway", obj("host", opts.Addr, "protocol", "ws",
			"description", "The gateway (wss behind TLS).")))
	}
	doc.set("channels", obj(wsChannel, obj("address", "/connect/ws", "title", "/connect/ws",
		"description", "The one WebSocket of the gateway (PROTOCOL 7).", "messages", channelMsgs)))
	doc.set("operations", ops)
	doc.set("components", obj("schemas", schemas, "messages", messages))
	return doc, nil
}

type (
	addMsgFunc     func(name, title, summary string, payload *object)
	sendOpFunc     func(id, summary string, send, reply []string)
	methodCallFunc func(method, params *object) *object
)

// asyncStreaming adds the schemas, messages and subscribe operation of a
// streaming method.
func asyncStreaming(m *qconnect.Method, schemas *object, addMsg addMsgFunc, sendOp sendOpFunc, methodCall methodCallFunc) error {
	base := m.Group + "_" + m.Name
	params, _, err := paramsSchema(m)
	if err != nil {
		return err
	}
	row, err := rowSchema(m, true)
	if err != nil {
		return err
	}
	schemas.set(base+"_Params", params)
	schemas.set(base+"_Row", row)
	rows := obj("type", "array", "items", schemaRef(base+"_Row"))
	addMsg(base+"_SubscribeReq", "Subscribe to "+m.FullName(), oneLineSummary(m),
		requestEnvelope(obj("type", "string", "const", "SubscribeReq"),
			methodCall(obj("type", "string", "const", m.FullName()), schemaRef(base+"_Params"))))
	addMsg(base+"_SnapshotMsg", m.FullName()+" snapshot", "Sent once, first, when the method has a snapshot: the current rows.",
		obj("type", "object", "required", []any{"type", "subscriptionId", "msg"},
			"properties", obj("type", obj("type", "string", "const", "SnapshotMsg"), "subscriptionId", obj("type", "string"),
				"date", schemaRef("ImfDate"), "msg", rows, "meta", schemaRef("ResultMeta"))))
	addMsg(base+"_UpdateMsg", m.FullName()+" update", "New rows; seq counts from 1 per subscription without gaps.",
		obj("type", "object", "required", []any{"type", "subscriptionId", "seq", "msg"},
			"properties", obj("type", obj("type", "string", "const", "UpdateMsg"), "subscriptionId", obj("type", "string"),
				"seq", obj("type", "integer", "minimum", 1), "date", schemaRef("ImfDate"), "msg", rows)))
	sendOp("subscribe_"+base, "Subscribe to "+m.FullName()+". "+oneLineSummary(m),
		[]string{base + "_SubscribeReq"}, []string{"SubscribeResp", base + "_SnapshotMsg", base + "_UpdateMsg", "SubscriptionEndMsg"})
	return nil
}

// asyncPublish adds the schemas, message and publish operation of a
// publishing method.
func asyncPublish(m *qconnect.Method, schemas *object, addMsg addMsgFunc, sendOp sendOpFunc, methodCall methodCallFunc) error {
	base := m.Group + "_" + m.Name
	row, err := rowSchema(m, false)
	if err != nil {
		return err
	}
	schemas.set(base+"_Row", row)
	addMsg(base+"_PublishReq", "Publish to "+m.FullName(),
		"An ExecuteReq whose params hold the rows; every row is checked first, one bad row rejects the batch. Needs a write grant. The answer is an ExecuteResp with msg [{rows: N}].",
		requestEnvelope(obj("type", "string", "const", "ExecuteReq"),
			methodCall(obj("type", "string", "const", m.FullName()), obj("type", "object", "required", []any{"rows"},
				"properties", obj("rows", obj("type", "array", "items", schemaRef(base+"_Row"))), "additionalProperties", false))))
	sendOp("publish_"+base, "Publish rows to "+m.FullName()+".", []string{base + "_PublishReq"}, []string{"ExecuteResp"})
	return nil
}

// oneLineSummary is the first sentence of m's description, or its name.
func oneLineSummary(m *qconnect.Method) string {
	if s := summary(m.Description); s != "" {
		return s
	}
	return m.FullName()
}
