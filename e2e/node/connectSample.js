// A KX Connect client written the way the published KX Connect (JS) sample
// is: crypto-js for MD5 and HMAC-SHA1, Node's own http for the requests.
// It is not our code's client, so it proves the gateway interoperates.
//
//   node connectSample.js <host:port> <username> <password> <group/method> [paramsJSON]
//
// An https://host:port address uses TLS (trust a private CA with the
// NODE_EXTRA_CA_CERTS environment variable).
//
// It logs in, calls the method, prints the rows as JSON lines, then checks
// that a tampered body is refused with invalidSignature, and logs out.
// Exit code 0 only if all of that went as the protocol says.
"use strict";
const crypto = require("crypto");
const CryptoJS = require("crypto-js");

const [hostPort = "localhost:8080", username = "kxSupport", password = "12345678",
  method = "monPublic/getMem", paramsJSON = "{}"] = process.argv.slice(2);
const secure = hostPort.startsWith("https://");
const http = require(secure ? "https" : "http");
const [host, port] = hostPort.replace(/^https?:\/\//, "").split(":");

function post(path, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method: "POST", headers: {
      "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        try { resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }); }
        catch (e) { reject(new Error("not JSON: " + Buffer.concat(chunks).toString("utf8"))); }
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function envelope(type, msg) {
  return JSON.stringify({ type, msg, id: crypto.randomUUID(), date: new Date().toUTCString() });
}

// The sample's signing, exactly: stringToSign joined with "\n", HMAC-SHA1
// keyed by the session id, Base64, then username + last 5 of the session id.
function authorization(path, body, sessionId) {
  const date = JSON.parse(body).date;
  const stringToSign = ["POST", path, username, CryptoJS.MD5(body).toString(),
    "application/json", date, sessionId].join("\n");
  const hmacEncStr = CryptoJS.HmacSHA1(stringToSign, sessionId);
  const signature = hmacEncStr.toString(CryptoJS.enc.Base64);
  return username + sessionId.slice(-5) + ":" + signature;
}

function fail(msg) { console.error("FAIL: " + msg); process.exit(1); }

(async () => {
  const login = await post("/connect/api/auth/login",
    envelope("LoginReq", [{ username, password }]), {});
  if (login.status !== 200 || !login.body.success) fail("login: " + JSON.stringify(login.body));
  const sessionId = login.body.msg[0].sessionId;

  const path = "/connect/api/" + method;
  const body = envelope(method.split("/")[1] + "Req", [JSON.parse(paramsJSON)]);
  const res = await post(path, body, { Authorization: authorization(path, body, sessionId) });
  if (res.status !== 200 || !res.body.success) fail("call: " + res.status + " " + JSON.stringify(res.body));
  for (const row of res.body.msg) console.log(JSON.stringify(row));
  console.error("rows: " + res.body.meta.rowCount);

  // Tampered body: sign one body, send another.
  const other = envelope(method.split("/")[1] + "Req", [JSON.parse(paramsJSON)]);
  const signed = authorization(path, other, sessionId);
  const tampered = other.replace('"msg":[', '"msg":[ ');
  const bad = await post(path, tampered, { Authorization: signed });
  if (bad.status !== 401 || bad.body.error.code !== "invalidSignature") fail("tampered body: " + JSON.stringify(bad.body));
  console.error("tampered: " + bad.body.error.code);

  const lbody = envelope("LogoutReq", []);
  const out = await post("/connect/api/auth/logout", lbody, { Authorization: authorization("/connect/api/auth/logout", lbody, sessionId) });
  if (out.status !== 200) fail("logout: " + JSON.stringify(out.body));
  const again = envelope("PingReq", []);
  const ping = await post("/connect/api/auth/ping", again, { Authorization: authorization("/connect/api/auth/ping", again, sessionId) });
  if (ping.status !== 401 || ping.body.error.code !== "invalidSession") fail("after logout: " + JSON.stringify(ping.body));
  console.error("ok");
})().catch((e) => fail(e.stack || String(e)));
