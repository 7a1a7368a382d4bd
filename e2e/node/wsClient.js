// A WebSocket client of the gateway written only from PROTOCOL.md section 7,
// with the npm packages ws and crypto-js: not our code, so it proves the
// WebSocket interface interoperates.
//
//   node wsClient.js <host:port> <username> <password> <symbol>
//
// It logs in over the socket (LoginReq as the first frame), subscribes to
// marketData/subTrades for <symbol>, publishes two trades over the socket
// (ExecuteReq on marketData/pubTrades) and two more over REST (a signed POST,
// crypto-js signing, with the session id from the socket's LoginResp),
// checks that the four arrive as updates with seq 1, 2 (no gaps, only the
// symbol subscribed to), unsubscribes, checks that a later publish sends
// nothing more, and logs out (LogoutResp, then close 1000).
// It prints a JSON summary on stdout; exit code 0 only if all of that went
// as the protocol says.
"use strict";
const http = require("http");
const crypto = require("crypto");
const CryptoJS = require("crypto-js");
const WebSocket = require("ws");

const [hostPort = "localhost:8080", username = "kxSupport", password = "12345678", sym = "NODEWS"] = process.argv.slice(2);
const [host, port] = hostPort.split(":");

function fail(msg) { console.error("FAIL: " + msg); process.exit(1); }
setTimeout(() => fail("timed out after 30 s"), 30000).unref();

function envelope(type, msg) {
  return JSON.stringify({ type, id: crypto.randomUUID(), date: new Date().toUTCString(), msg });
}

function trade(price) {
  return { time: new Date().toISOString(), sym, price, size: 100, side: "buy" };
}

// REST publish, signed as in PROTOCOL 3.1 with crypto-js.
function restPublish(sessionId, rows) {
  const path = "/connect/api/marketData/pubTrades";
  const body = envelope("pubTradesReq", [{ rows }]);
  const date = JSON.parse(body).date;
  const stringToSign = ["POST", path, username, CryptoJS.MD5(body).toString(), "application/json", date, sessionId].join("\n");
  const signature = CryptoJS.HmacSHA1(stringToSign, sessionId).toString(CryptoJS.enc.Base64);
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method: "POST", headers: {
      "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body),
      Authorization: username + sessionId.slice(-5) + ":" + signature } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const ws = new WebSocket("ws://" + hostPort + "/connect/ws");
const frames = [];   // every frame received, in order
let waiters = [];
ws.on("message", (data) => {
  const f = JSON.parse(data.toString("utf8"));
  frames.push(f);
  waiters = waiters.filter((w) => !w(f));
});
// next resolves with the first frame (from now on) that matches pred.
function next(pred) {
  return new Promise((resolve) => waiters.push((f) => (pred(f) ? (resolve(f), true) : false)));
}
function request(type, msg) {
  const body = envelope(type, msg);
  const id = JSON.parse(body).id;
  const p = next((f) => f.id === id);
  ws.send(body);
  return p;
}

ws.on("open", async () => {
  try {
    const login = await request("LoginReq", [{ username, password }]);
    if (login.type !== "LoginResp" || !login.success) fail("login: " + JSON.stringify(login));
    const sessionId = login.msg[0].sessionId;

    const sub = await request("SubscribeReq", [{ method: "marketData/subTrades", params: { syms: [sym] } }]);
    if (sub.type !== "SubscribeResp" || !sub.success) fail("subscribe: " + JSON.stringify(sub));
    const subId = sub.msg[0].subscriptionId;
    const isUpdate = (f) => f.type === "UpdateMsg" && f.subscriptionId === subId;

    const first = next(isUpdate);
    const pub = await request("ExecuteReq", [{ method: "marketData/pubTrades",
      params: { rows: [trade(10.25), { ...trade(99), sym: "OTHER" + sym }, trade(10.5)] } }]);
    if (!pub.success || pub.msg[0].rows !== 3) fail("publish over the socket: " + JSON.stringify(pub));
    const u1 = await first;

    const second = next(isUpdate);
    const rest = await restPublish(sessionId, [trade(11.0), trade(11.5)]);
    if (rest.status !== 200 || rest.body.msg[0].rows !== 2) fail("publish over REST: " + JSON.stringify(rest.body));
    const u2 = await second;

    const prices = [...u1.msg, ...u2.msg].map((r) => r.price);
    if (u1.seq !== 1 || u2.seq !== 2) fail("seq " + u1.seq + ", " + u2.seq + "; want 1, 2");
    if (JSON.stringify(prices) !== "[10.25,10.5,11,11.5]") fail("prices " + JSON.stringify(prices));
    if ([...u1.msg, ...u2.msg].some((r) => r.sym !== sym)) fail("a row of another symbol arrived");

    const unsub = await request("UnsubscribeReq", [{ subscriptionId: subId }]);
    if (!unsub.success) fail("unsubscribe: " + JSON.stringify(unsub));
    const after = frames.length;
    await request("ExecuteReq", [{ method: "marketData/pubTrades", params: { rows: [trade(12)] } }]);
    const ping = await request("PingReq", []);
    if (!ping.success) fail("ping: " + JSON.stringify(ping));
    if (frames.slice(after).some(isUpdate)) fail("an update arrived after UnsubscribeResp");

    const closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
    const logout = await request("LogoutReq", []);
    if (!logout.success) fail("logout: " + JSON.stringify(logout));
    const code = await closed;
    if (code !== 1000) fail("close code " + code + " after LogoutReq; want 1000");
    console.log(JSON.stringify({ seqs: [u1.seq, u2.seq], prices, closeCode: code }));
    process.exit(0);
  } catch (e) {
    fail(e.stack || String(e));
  }
});
ws.on("error", (e) => fail("socket: " + e.message));
