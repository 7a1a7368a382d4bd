// Package apidoc generates the self-documentation of a qconnect gateway from
// its catalog: the page /connect/index.html with its assets, the OpenAPI
// document /connect/openapi.json and, when given, the wire protocol text
// /connect/protocol.md (PROTOCOL.md section 0). New renders everything once;
// Handler serves it.
//
// # The page
//
// One card per method: description, path, parameters (type, required or
// default, constraints, description), result columns, an example request
// envelope whose values satisfy the declaration, and the qconnect command
// line that makes the same call. Streaming methods are WebSocket
// subscriptions and show their SubscribeReq frame instead. Publishing
// methods take rows, not parameters: their card shows the rows envelope
// msg [{"rows": [...]}] with example rows built from the declared columns,
// the WebSocket ExecuteReq with params {"rows": [...]}, and the
// `qconnect publish` command line. A "How to log in and sign" section
// explains PROTOCOL 2 and 3.1 with a worked example computed by package
// protocol.
//
// The page's script (assets/app.js, no framework) runs on the JavaScript
// SDK (the npm package qconnect-client in clients/js, embedded and served
// at /connect/assets/sdk/): one implementation of signing in JavaScript,
// MD5 from the SDK and HMAC-SHA1 from WebCrypto, so it needs HTTPS or
// localhost. It logs in, keeps the SDK session in a module variable only
// (never in storage, cookies or URLs; the SDK keeps the id private), calls
// the real /connect/api/... endpoints and shows results as a table with a
// CSV download that neutralises spreadsheet formulas unless "exact values"
// is checked. A result with a timestamp column and numeric columns gets a
// chart (assets/chart.js with the vendored uPlot, assets/vendor/uplot: lines
// per symbol, candles for open/high/low/close). A streaming method's "Try it
// live" form subscribes over /connect/ws and appends the snapshot and each
// update to its table and chart, showing seq, until Unsubscribe. A publish
// form sends the rows of its JSON textarea and shows "N rows published".
// window.qconnect exposes sdk, md5, stringToSign, sign, authorization,
// toCSV, readParams and readRows for scripts and tests. Nothing is loaded
// from other origins and the Content-Security-Policy forbids inline script,
// so the page works offline.
//
// DOM hooks for end-to-end tests: #login-username, #login-password,
// #login-submit, #login-status, #session, #session-user, #logout,
// #filter; article.method#m-<group>-<method>[data-method="group/method"];
// form.try[data-method] with inputs [data-param=<name>] (a publish form,
// form.try[data-publish="true"], has one textarea[data-rows] instead),
// button.call and .result, which receives .result-summary ("N rows",
// "(truncated)", "N rows published"),
// table.result-table, button.download-csv, or .error with .error-code,
// .error-message and ul.error-details.
//
// # OpenAPI 3.1
//
// The document is OpenAPI 3.1.0, as PROTOCOL.md promises, rather than 3.0.3:
// 3.1 uses JSON Schema 2020-12, which says "this column may be null" as
// type: [T, "null"] and constant values as const, both needed for the result
// rows and envelopes; and kin-openapi, the validator of the tests, loads and
// validates 3.1 documents, including examples against their schemas with
// its JSON Schema 2020-12 validator. One POST operation per non-streaming
// method (operationId group_method; a publishing method's request is
// msg [{"rows": [<group>_<method>_Row, ...]}] and its answer
// msg [{"rows": N}], JSON only), the auth and meta endpoints, one shared
// error envelope, and the signature as an apiKey security scheme on the
// Authorization header. Keys and paths come in a fixed order, so the output
// is byte-for-byte deterministic (testdata/openapi.golden.json).
package apidoc
