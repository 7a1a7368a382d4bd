// node-q's deserialize and serialize on the message bench/kdbcodec wrote
// (a trade table: time, sym, price, size, side), best of RUNS runs.
//
//   NODE_PATH=e2e/nodeq/node_modules node bench/kdbcodec/nodeq.js FILE [RUNS]
//
// node-q cannot serialize a table (flip); it serializes the same columns as
// a dictionary of typed vectors, which is the table's bytes less its 2-byte
// flip prefix, so both directions move the same data.
"use strict";
var fs = require("fs");
var c = require("node-q/lib/c.js");
var typed = require("node-q/lib/typed.js");
var Long = require("long");

var file = process.argv[2], runs = Number(process.argv[3] || 5);
var msg = fs.readFileSync(file);
var mb = msg.length / 1e6;

function best(f) {
  var b = Infinity;
  for (var i = 0; i < runs; i++) {
    var t0 = process.hrtime.bigint();
    f();
    var ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms < b) { b = ms; }
  }
  return b;
}
function report(what, ms, size) {
  process.stdout.write("node-q\t" + what + "\t" + size.toFixed(1) + " MB\t" + ms.toFixed(1) + " ms\t" + (size / (ms / 1000)).toFixed(0) + " MB/s\n");
}

// deserialize: node-q's defaults (tables as row objects) and as columns.
report("deserialize (rows)", best(function () { c.deserialize(msg); }), mb);
var cols;
report("deserialize (columns)", best(function () { cols = c.deserialize(msg, true, false); }), mb);

// serialize the same columns (longs as Long, as node-q requires).
var dict = {
  time: new typed.Typed("typedlist", cols.time, "timestamp"),
  sym: new typed.Typed("typedlist", cols.sym, "symbol"),
  price: new typed.Typed("typedlist", cols.price, "float"),
  size: new typed.Typed("typedlist", cols.size.map(function (x) { return Long.fromNumber(x); }), "long"),
  side: new typed.Typed("typedlist", cols.side, "symbol"),
};
var out;
var ms = best(function () { out = c.serialize(dict); });
report("serialize", ms, out.length / 1e6);
