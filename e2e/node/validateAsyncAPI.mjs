// Validates an AsyncAPI document with @asyncapi/parser (the AsyncAPI
// Initiative's own parser): node validateAsyncAPI.mjs FILE.
// Prints every diagnostic; exits 1 when there is an error (severity 0) or
// the document cannot be parsed, else prints a summary line and exits 0.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';

const file = process.argv[2];
const text = readFileSync(file, 'utf8');
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === 0) errors++;
  console.error(`severity ${d.severity} ${d.code}: ${d.message} at ${JSON.stringify(d.path)}`);
}
if (!document || errors > 0) {
  console.error(`invalid: ${errors} error(s)`);
  process.exit(1);
}
const ops = document.operations().all().map((o) => o.id());
const msgs = document.components().messages().all().map((m) => m.id());
console.log(JSON.stringify({ version: document.version(), operations: ops, messages: msgs }));
