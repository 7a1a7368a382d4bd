// Reads an Arrow IPC stream with apache-arrow (the Arrow project's own
// JavaScript implementation) and checks it against the JSON result of the
// same call: node readArrow.mjs RESULT.arrow RESULT.json
//
// Checked: the column names and order; each column's Arrow type for its
// PROTOCOL 4.3 type (and the connect.type field metadata); the row count;
// and every value, exactly (64-bit integers and nanoseconds as BigInt),
// nulls included. Prints a summary line and exits 0, or lists the first
// mismatches and exits 1.
import { readFileSync } from 'node:fs';
import { tableFromIPC, Type, TimeUnit, DateUnit, Precision } from 'apache-arrow';

const [arrowFile, jsonFile] = process.argv.slice(2);
const table = tableFromIPC(readFileSync(arrowFile));
const env = JSON.parse(readFileSync(jsonFile, 'utf8'));
const cols = env.meta.columns;
const rows = env.msg;
const problems = [];
const fail = (s) => { if (problems.length < 20) problems.push(s); };

// Expected Arrow type of each PROTOCOL 4.3 column type.
const expectType = {
  boolean: (t) => t.typeId === Type.Bool,
  long: (t) => t.typeId === Type.Int && t.bitWidth === 64 && t.isSigned,
  float: (t) => t.typeId === Type.Float && t.precision === Precision.DOUBLE,
  string: (t) => t.typeId === Type.Utf8,
  symbol: (t) => t.typeId === Type.Utf8,
  timestamp: (t) => t.typeId === Type.Timestamp && t.unit === TimeUnit.NANOSECOND && t.timezone === 'UTC',
  date: (t) => t.typeId === Type.Date && t.unit === DateUnit.DAY,
  time: (t) => t.typeId === Type.Time && t.unit === TimeUnit.MILLISECOND && t.bitWidth === 32,
  timespan: (t) => t.typeId === Type.Duration && t.unit === TimeUnit.NANOSECOND,
  guid: (t) => t.typeId === Type.FixedSizeBinary && t.byteWidth === 16,
};

const fields = table.schema.fields;
if (fields.length !== cols.length) fail(`${fields.length} Arrow columns, ${cols.length} JSON columns`);
cols.forEach((c, i) => {
  const f = fields[i];
  if (!f) return;
  if (f.name !== c.name) fail(`column ${i}: Arrow name ${f.name}, JSON name ${c.name}`);
  const ok = expectType[c.type];
  if (!ok) fail(`column ${c.name}: unexpected JSON type ${c.type}`);
  else if (!ok(f.type)) fail(`column ${c.name}: Arrow type ${f.type} does not fit ${c.type}`);
  const meta = f.metadata.get('connect.type');
  if (meta !== c.type) fail(`column ${c.name}: connect.type metadata ${meta}, want ${c.type}`);
});
if (table.numRows !== rows.length) fail(`${table.numRows} Arrow rows, ${rows.length} JSON rows`);

// rawAt returns the stored value of row i of a fixed-width column, from the
// chunk's values buffer (exact: no conversion to milliseconds).
function rawAt(vec, i) {
  for (const d of vec.data) {
    if (i < d.length) {
      if (d.type.typeId === Type.FixedSizeBinary) {
        const w = d.type.byteWidth;
        return d.values.subarray((d.offset + i) * w, (d.offset + i + 1) * w);
      }
      return d.values[d.offset + i];
    }
    i -= d.length;
  }
  throw new Error('row out of range');
}

const NS = 1000000000n;
function timestampNs(s) { // 2024-01-02T03:04:05.123456789Z
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) throw new Error(`not a timestamp: ${s}`);
  const secs = BigInt(Date.parse(m[1] + 'Z') / 1000);
  return secs * NS + BigInt((m[2] || '').padEnd(9, '0'));
}
function timespanNs(s) { // [-]ND HH:MM:SS.nnnnnnnnn in q style: 0D00:00:01.500001000
  const m = /^(-?)(\d+)D(\d{2}):(\d{2}):(\d{2})\.(\d{9})$/.exec(s);
  if (!m) throw new Error(`not a timespan: ${s}`);
  const v = ((BigInt(m[2]) * 24n + BigInt(m[3])) * 60n + BigInt(m[4])) * 60n * NS + BigInt(m[5]) * NS + BigInt(m[6]);
  return m[1] ? -v : v;
}
function timeMs(s) { // 09:00:00.500
  const m = /^(\d{2}):(\d{2}):(\d{2})\.(\d{3})$/.exec(s);
  if (!m) throw new Error(`not a time: ${s}`);
  return ((+m[1] * 60 + +m[2]) * 60 + +m[3]) * 1000 + +m[4];
}
function guidBytes(s) {
  const h = s.replaceAll('-', '');
  return Uint8Array.from(h.match(/../g).map((x) => parseInt(x, 16)));
}

let checked = 0;
cols.forEach((c, ci) => {
  const vec = table.getChildAt(ci);
  if (!vec) return;
  for (let r = 0; r < rows.length && r < table.numRows; r++) {
    const want = rows[r][c.name];
    const valid = vec.isValid(r);
    if (want === null || want === undefined) {
      if (valid) fail(`row ${r} ${c.name}: JSON null, Arrow ${vec.get(r)}`);
      continue;
    }
    if (!valid) { fail(`row ${r} ${c.name}: Arrow null, JSON ${JSON.stringify(want)}`); continue; }
    let got, exp;
    switch (c.type) {
      case 'long': got = rawAt(vec, r); exp = BigInt(want); break;
      case 'float': got = vec.get(r); exp = want; break;
      case 'boolean': case 'string': case 'symbol': got = vec.get(r); exp = want; break;
      case 'timestamp': got = rawAt(vec, r); exp = timestampNs(want); break;
      case 'date': got = rawAt(vec, r); exp = Date.parse(want + 'T00:00:00Z') / 86400000; break;
      case 'time': got = rawAt(vec, r); exp = timeMs(want); break;
      case 'timespan': got = rawAt(vec, r); exp = timespanNs(want); break;
      case 'guid': got = Buffer.from(rawAt(vec, r)).toString('hex'); exp = Buffer.from(guidBytes(want)).toString('hex'); break;
    }
    if (got !== exp) fail(`row ${r} ${c.name} (${c.type}): Arrow ${got}, JSON ${JSON.stringify(want)}`);
    checked++;
  }
});

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(JSON.stringify({ rows: table.numRows, columns: cols.length, values: checked }));
