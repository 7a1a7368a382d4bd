// CSV writing (RFC 4180) with optional spreadsheet-formula neutralisation.

/**
 * FORMULA_START matches a cell a spreadsheet would run as a formula: one
 * that begins with = + - @, a tab or a carriage return (OWASP, CSV
 * injection).
 */
const FORMULA_START = /^[=+\-@\t\r]/;

function textOf(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object') return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

/**
 * csvField writes one field. With neutralize, a string that begins like a
 * formula gets a leading single quote and is always quoted, so a
 * spreadsheet shows it as text (OWASP CSV-injection guidance). Numbers and
 * booleans are never changed: -2 stays a number.
 * @param {unknown} v
 * @param {{neutralize?: boolean}} [opts]
 */
export function csvField(v, opts = {}) {
  let s = textOf(v);
  if (opts.neutralize && typeof v === 'string' && FORMULA_START.test(s)) {
    return '"\'' + s.replace(/"/g, '""') + '"';
  }
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/**
 * csvLine writes one record with its CRLF.
 * @param {unknown[]} values
 * @param {{neutralize?: boolean}} [opts]
 */
export function csvLine(values, opts = {}) {
  return values.map((v) => csvField(v, opts)).join(',') + '\r\n';
}

/**
 * toCSV writes RFC 4180 CSV: a header row, CRLF line ends, null as an empty
 * field. columns are names or {name} objects; rows are arrays in column
 * order or objects keyed by column name. neutralize defaults to false (the
 * exact data); set it for files meant to be opened in a spreadsheet.
 * @param {(string|{name: string})[]} columns
 * @param {(unknown[]|Record<string, unknown>)[]} rows
 * @param {{neutralize?: boolean}} [opts]
 */
export function toCSV(columns, rows, opts = {}) {
  const names = columns.map((c) => (typeof c === 'string' ? c : c.name));
  let out = csvLine(names, opts);
  for (const r of rows) out += csvLine(Array.isArray(r) ? r : names.map((n) => r[n]), opts);
  return out;
}
