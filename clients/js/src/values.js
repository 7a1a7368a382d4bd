// Result values (PROTOCOL 4.3): JSON text in, typed JavaScript values out.
//
// The choice for each column type:
//   boolean                    → boolean
//   long, int, short           → number; a long beyond ±2^53 is a BigInt where
//                                the runtime gives JSON.parse the source text
//                                (browsers, Node 21+), else the nearest number
//   float, real                → number (NaN and ±infinity arrive as null)
//   symbol, string, char       → string
//   timestamp                  → string, exactly as sent: RFC 3339 UTC with
//                                nanoseconds ("2019-07-26T15:59:00.123456789Z").
//                                A Date holds milliseconds only, so the SDK keeps
//                                the text; toDate() and epochNanos() convert it.
//   date, time, timespan, guid → string, as sent
//   null                       → null

import { QConnectError } from './errors.js';

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * parseJSON parses JSON, keeping integers beyond 2^53 exact as BigInt where
 * JSON.parse offers the source text to its reviver.
 */
export function parseJSON(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && context &&
        typeof context.source === 'string' && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

function bad(column, type, v) {
  return new QConnectError('notGateway', `column ${column}: ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} is not a ${type} value (PROTOCOL 4.3)`);
}

/** decodeValue checks one value against its column type and converts it (see the table above). */
export function decodeValue(type, v, column = '') {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'boolean':
      if (typeof v !== 'boolean') throw bad(column, type, v);
      return v;
    case 'long': case 'int': case 'short':
      if (typeof v === 'bigint') return v;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(column, type, v);
      return v;
    case 'float': case 'real':
      if (typeof v !== 'number') throw bad(column, type, v);
      return v;
    case 'timestamp':
      if (typeof v !== 'string' || !TIMESTAMP.test(v)) throw bad(column, type, v);
      return v;
    case 'symbol': case 'string': case 'char': case 'date': case 'time': case 'timespan': case 'guid':
      if (typeof v !== 'string') throw bad(column, type, v);
      return v;
    default:
      return v; // a type this SDK does not know yet: passed through
  }
}

/**
 * decodeRows turns row objects into arrays of typed values in column order.
 * @param {{name: string, type: string}[]} columns
 * @param {object[]} rows
 */
export function decodeRows(columns, rows) {
  return rows.map((r) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      throw new QConnectError('notGateway', 'a result row is not an object (PROTOCOL 4.3)');
    }
    return columns.map((c) => decodeValue(c.type, r[c.name], c.name));
  });
}

/**
 * epochNanos converts a timestamp value to nanoseconds since 1970 (BigInt), exactly.
 * @param {string} ts
 */
export function epochNanos(ts) {
  const m = TIMESTAMP.exec(ts);
  if (!m) throw new TypeError(`not a PROTOCOL 4.3 timestamp: ${ts}`);
  const secs = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  if (Number.isNaN(secs)) throw new TypeError(`not a valid date: ${ts}`);
  const frac = (m[5] ?? '').padEnd(9, '0');
  return BigInt(secs) * 1000000n + BigInt(frac);
}

/**
 * toDate converts a timestamp value to a Date. A Date holds milliseconds:
 * the digits below are dropped (use epochNanos for them).
 * @param {string} ts
 */
export function toDate(ts) {
  const ns = epochNanos(ts);
  const ms = ns / 1000000n - (ns < 0n && ns % 1000000n !== 0n ? 1n : 0n);
  return new Date(Number(ms));
}

/**
 * fromDate writes a Date as a timestamp parameter (RFC 3339, UTC).
 * @param {Date} d
 */
export function fromDate(d) {
  return d.toISOString();
}
