// Cross-check of qconnect's kdb+ codec (kdb/ipc) against node-q, an
// independent implementation of the kdb+ IPC format.
//
//   node codec.js serialize            prints {name: hex} for the corpus below
//   node codec.js deserialize < in     reads {name: hex} (whole messages),
//                                      prints {name: value} as node-q reads them
//
// Values node-q reads are printed with Infinity/-Infinity as strings, Dates
// as ISO strings and Longs as decimal strings, so JSON can carry them.
"use strict";
var q = require("node-q");
var c = require("node-q/lib/c.js");
var Long = require("long");
var typed = require("node-q/lib/typed.js");

// list builds a typed vector the way node-q's own constructors do, without
// their element assertions (which refuse null and infinities).
function list(type, values) { return new typed.Typed("typedlist", values, type); }

function d(ms) { return new Date(ms); }
var T = Date.UTC(2024, 2, 1, 9, 30, 15, 123); // a timestamp with milliseconds
// node-q converts timestamps through a JS number, exact only within 2^53 ns
// (104 days) of q's epoch, so the timestamp cases use a day in that range.
var TS = Date.UTC(2000, 2, 1, 9, 30, 15, 123);

var corpus = {
  "boolean": q.boolean(true),
  "booleans": list("boolean", [true, false, true]),
  "guid": q.guid("8c680a01-5a49-5aab-5a65-d4bfddb6a661"),
  "guid_null": q.guid(null),
  "guids": list("guid", ["8c680a01-5a49-5aab-5a65-d4bfddb6a661", "00000000-0000-0000-0000-000000000000"]),
  "byte": q.byte(42),
  "bytes": list("byte", [1, 2, 127]),
  "short": q.short(-234),
  "short_null": q.short(null),
  "short_inf": q.short(Infinity),
  "short_ninf": q.short(-Infinity),
  "shorts": list("short", [1, null, Infinity, -Infinity]),
  "int": q.int(123456),
  "int_null": q.int(null),
  "int_inf": q.int(Infinity),
  "int_ninf": q.int(-Infinity),
  "ints": list("int", [1, null, Infinity, -Infinity]),
  "long": q.long(Long.fromString("89421099511627575")),
  "long_null": q.long(null),
  "long_inf": q.long(Infinity),
  "long_ninf": q.long(-Infinity),
  "longs": list("long", [Long.fromNumber(-5), null, Infinity, -Infinity]),
  "real": q.real(5.5),
  "real_null": q.real(null),
  "real_inf": q.real(Infinity),
  "real_ninf": q.real(-Infinity),
  "reals": list("real", [5.5, null, Infinity, -Infinity]),
  "float": q.float(3.234),
  "float_null": q.float(null),
  "float_inf": q.float(Infinity),
  "float_ninf": q.float(-Infinity),
  "floats": list("float", [3.234, null, Infinity, -Infinity]),
  "char": q.char("a"),
  "char_null": q.char(null),
  "chars": list("char", ["a", "b"]),
  "symbol": q.symbol("abc"),
  "symbol_null": q.symbol(null),
  "symbols": list("symbol", ["the", "", "fox"]),
  "timestamp": q.timestamp(d(TS)),
  "timestamp_null": q.timestamp(null),
  "timestamps": list("timestamp", [d(TS), null]),
  "month": q.month(d(Date.UTC(2001, 0, 1))),
  "month_null": q.month(null),
  "months": list("month", [d(Date.UTC(1999, 11, 1)), null]),
  "date": q.date(d(Date.UTC(2001, 0, 1))),
  "date_null": q.date(null),
  "dates": list("date", [d(Date.UTC(1970, 0, 1)), null]),
  "datetime": q.datetime(d(T)),
  "datetime_null": q.datetime(null),
  "datetimes": list("datetime", [d(T), null]),
  "timespan": q.timespan(d(T)),
  "timespan_null": q.timespan(null),
  "timespans": list("timespan", [d(T), null]),
  "minute": q.minute(d(T)),
  "minute_null": q.minute(null),
  "minutes": list("minute", [d(T), null]),
  "second": q.second(d(T)),
  "second_null": q.second(null),
  "seconds": list("second", [d(T), null]),
  "time": q.time(d(T)),
  "time_null": q.time(null),
  "times": list("time", [d(T), null]),
  "string": "quick brown fox",
  "empty_list": [],
  "mixed_list": q.mixedlist([q.long(Long.fromNumber(1)), q.symbol("bcd"), "0bc", q.real(5.5)]),
  "dict": {a: q.long(Long.fromNumber(1)), b: "x"},
  "identity": null,
};

function show(v) {
  return JSON.stringify(v, function (k, x) {
    if (x === Infinity) { return "Infinity"; }
    if (x === -Infinity) { return "-Infinity"; }
    if (Long.isLong(x)) { return x.toString(); }
    if (this[k] instanceof Date) { return this[k].toISOString(); }
    return x;
  });
}

var mode = process.argv[2];
if (mode === "serialize") {
  var out = {};
  Object.keys(corpus).forEach(function (name) { out[name] = c.serialize(corpus[name]).toString("hex"); });
  process.stdout.write(JSON.stringify(out));
} else if (mode === "deserialize") {
  var input = "";
  process.stdin.on("data", function (b) { input += b; });
  process.stdin.on("end", function () {
    var msgs = JSON.parse(input), out = {};
    Object.keys(msgs).forEach(function (name) {
      try {
        out[name] = JSON.parse(show(c.deserialize(Buffer.from(msgs[name], "hex"), true, true, true, false)));
      } catch (e) {
        out[name] = {error: String(e.message)};
      }
    });
    process.stdout.write(JSON.stringify(out));
  });
} else {
  process.stderr.write("usage: node codec.js serialize|deserialize\n");
  process.exit(2);
}
