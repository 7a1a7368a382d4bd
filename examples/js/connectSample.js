// The published KX Connect (JS) sample, on the qconnect JavaScript SDK:
// log in, call a method, print the table, export it to CSV, log out.
//
//   npm install          (once, here: links the SDK from ../../clients/js)
//   node connectSample.js [<host:port> <username> <password> <method>]
//
// Defaults: the demo gateway on localhost:8080, kxSupport / 12345678,
// monPublic/getMem (the last hour of memory samples). The CSV goes to
// <method name>.csv in the current directory, with spreadsheet formulas
// neutralised (the file is made to be opened in a spreadsheet).
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { login } from 'qconnect-client';

const [hostPort = 'localhost:8080', username = 'kxSupport', password = '12345678', method = 'monPublic/getMem'] = process.argv.slice(2);

const session = await login(`http://${hostPort}`, username, password);
try {
  const result = await session.call(method, {});

  // Print the table: a header, then the first 20 rows.
  const names = result.columns.map((c) => c.name);
  const shown = result.rows.slice(0, 20).map((r) => r.map((v) => (v === null ? '' : String(v))));
  const widths = names.map((n, i) => Math.max(n.length, ...shown.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(names));
  for (const r of shown) console.log(line(r));
  console.log(`${result.rowCount} rows${result.truncated ? ' (truncated)' : ''} in ${result.elapsedMs} ms`);

  // Export to CSV, streamed from the gateway.
  const file = method.split('/')[1] + '.csv';
  await pipeline(Readable.fromWeb(session.csv(method, {}, { neutralize: true })), createWriteStream(file));
  console.log(`exported to ${file}`);
} finally {
  await session.logout();
  console.log('logged out');
}
