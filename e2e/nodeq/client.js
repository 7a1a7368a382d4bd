// node-q as a client of a kdb+ process (in the tests, qconnect's fake q):
//
//   node client.js host port user password
//
// logs in, calls .marketData.getTrades and .monPublic.getMem with one
// dictionary argument each, and prints {"trades": rows, "mem": rows} as JSON.
"use strict";
var q = require("node-q");
var Long = require("long");

var host = process.argv[2], port = Number(process.argv[3]);
q.connect({host: host, port: port, user: process.argv[4], password: process.argv[5]}, function (err, con) {
  if (err) { console.error("connect: " + err.message); process.exit(1); }
  var tradesArg = q.dict({syms: q.symbols(["IBM", "MSFT"]), limit: q.long(Long.fromNumber(6))});
  con.k(".marketData.getTrades", tradesArg, function (err, trades) {
    if (err) { console.error("getTrades: " + err.message); process.exit(1); }
    var memArg = q.dict({syms: q.symbols(["server_A"])});
    con.k(".monPublic.getMem", memArg, function (err, mem) {
      if (err) { console.error("getMem: " + err.message); process.exit(1); }
      con.k(".monPublic.broken", q.dict({}), function (qerr) {
        process.stdout.write(JSON.stringify({trades: trades, mem: mem, error: qerr ? qerr.message : null}));
        con.close(function () { process.exit(0); });
      });
    });
  });
});
