// Typed examples of the SDK: `tsc --noEmit -p test/types` checks them
// against index.d.ts (TestJSClientTypes). They are not run.
import {
  login, QConnectError, toCSV, toDate, epochNanos, sign, VERSION,
  type Result, type Row, type Session, type SubscriptionMessage, type Value,
} from 'qconnect-client';

async function examples(): Promise<void> {
  const session: Session = await login('localhost:8080', 'kxSupport', '12345678');

  // A call: columns plus typed rows.
  const result: Result = await session.call('monPublic/getMem', { syms: ['server_A'], start: new Date(Date.now() - 3600e3) });
  const names: string[] = result.columns.map((c) => c.name);
  const first: Value[] | undefined = result.rows[0];
  const records: Row[] = result.records();
  const ts = records[0]?.time;
  if (typeof ts === 'string') {
    const d: Date = toDate(ts);
    const ns: bigint = epochNanos(ts);
    console.log(d.toISOString(), ns, names, first);
  }

  // NDJSON rows, with the end status.
  const ctl = new AbortController();
  const rows = session.stream('marketData/getTrades', { syms: ['AAPL'] }, { signal: ctl.signal });
  for await (const row of rows) {
    const price = row.price;
    if (typeof price === 'number' && price > 1000) break;
  }
  console.log(rows.meta?.rowCount, rows.meta?.truncated);

  // CSV export as a web stream.
  const csv: ReadableStream<Uint8Array> = session.csv('marketData/getVwap', {}, { neutralize: true });
  console.log(await new Response(csv).text(), toCSV(['a'], [{ a: '=1' }], { neutralize: true }));

  // Live: the snapshot, then updates numbered by seq.
  const sub = session.subscribe('monPublic/sub', { syms: ['server_A'] });
  const id: string = await sub.ready;
  for await (const m of sub) {
    const msg: SubscriptionMessage = m;
    if (msg.type === 'update') {
      const seq: number = msg.seq;
      if (seq >= 3) break;
    }
  }
  console.log(id, sub.seq);

  // Publishing, discovery, keep-alive.
  const n: number = await session.publish('marketData/pubTrades', [{ time: new Date().toISOString(), sym: 'AAPL', price: 1, size: 1, side: 'buy' }]);
  const methods = await session.methods();
  const streaming = methods.filter((m) => m.streaming).map((m) => `${m.group}/${m.name}`);
  const { idleTimeout, expires } = await session.ping();
  console.log(n, streaming, idleTimeout, expires, VERSION);

  // Errors: one class with the wire code, the HTTP status and the details.
  try {
    await session.call('monPublic/getMem', { nope: 1 });
  } catch (e) {
    if (e instanceof QConnectError) {
      const status: number = e.status;
      const details: string[] = e.details;
      console.log(e.code, status, details, e.hint, e.retryAfter);
      if (e.code === 'invalidParams' || e.code === 'aborted') console.log('expected');
    }
  }

  const s = await sign({ verb: 'POST', path: '/connect/api/a/b', username: 'u', contentType: 'application/json', date: new Date().toUTCString(), body: '{}' }, 'x'.repeat(43));
  console.log(s.authorization);
  await session.logout();
}

void examples;

// Misuse the declarations must refuse:
// @ts-expect-error the session id is not part of the API
void ((s: Session) => s.sessionId);
// @ts-expect-error publish takes rows, not one row
void ((s: Session) => s.publish('a/b', { x: 1 }));
