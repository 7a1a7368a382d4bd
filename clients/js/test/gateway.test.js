// The SDK against live gateways, started by the Go test TestNodeSDK
// (e2e/node_sdk_test.go), which sets:
//   QCONNECT_DEMO_URL  a demo gateway (kxSupport/12345678, the demo feed on)
//   QCONNECT_TEST_URL  a gateway on e2e/testdata/catalog.yaml with users
//                      alice (analysts, denied test/secret) and bob (nobody)
// Run by hand: start both, export the two URLs, then
//   node --test --experimental-websocket test/gateway.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { login, QConnectError, Session } from '../src/index.js';

const DEMO = process.env.QCONNECT_DEMO_URL;
const TEST = process.env.QCONNECT_TEST_URL;
const skip = !DEMO || !TEST ? 'QCONNECT_DEMO_URL and QCONNECT_TEST_URL are not set (TestNodeSDK sets them)' : false;
if (skip && process.env.QCONNECT_REQUIRE_NODE === '1') throw new Error(skip);

// rejects asserts that p rejects with a QConnectError of code (and status).
async function rejects(p, code, status) {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof QConnectError, `not a QConnectError: ${e}`);
    assert.equal(e.code, code, e.message);
    if (status !== undefined) assert.equal(e.status, status, e.message);
    return true;
  });
}

test('login, and the session id is never exposed', { skip }, async () => {
  let sessionId = '';
  const spy = async (url, init) => {
    const res = await fetch(url, init);
    if (String(url).endsWith('/auth/login')) sessionId = (await res.clone().json()).msg[0].sessionId;
    return res;
  };
  const s = await login(DEMO, 'kxSupport', '12345678', { fetch: spy });
  assert.ok(s instanceof Session);
  assert.equal(s.username, 'kxSupport');
  assert.match(s.expires, /GMT$/);
  assert.ok(s.idleTimeout > 0);
  assert.ok(sessionId.length >= 32);
  for (const shown of [JSON.stringify(s), inspect(s, { showHidden: true, depth: 5 }), String(s), Object.values(s).join(' '), Object.getOwnPropertyNames(s).join(' ')]) {
    assert.ok(!shown.includes(sessionId), `the session id shows in ${shown}`);
  }
  assert.ok(!('sessionId' in s) && !('id' in s));
  const p = await s.ping();
  assert.equal(p.idleTimeout, s.idleTimeout);
  const methods = await s.methods();
  assert.ok(methods.some((m) => m.group === 'monPublic' && m.name === 'getMem' && Array.isArray(m.columns)));
  await s.logout();
  await rejects(s.ping(), 'invalidSession', 401);
});

test('a call in each format: json (call), ndjson (stream), csv, arrow', { skip }, async () => {
  const s = await login(TEST, 'alice', 'alice-password');
  const params = { n: 40 };
  const r = await s.call('test/allTypes', params);
  assert.deepEqual(r.columns.map((c) => c.type), ['long', 'boolean', 'float', 'string', 'timestamp', 'date', 'time', 'timespan', 'guid']);
  assert.equal(r.rows.length, 40);
  assert.equal(r.rowCount, 40);
  assert.equal(r.truncated, false);
  const rec = r.records();
  assert.equal(rec[1].i, 1);
  assert.equal(rec[0].f, null); // i % 7 == 0 is null
  assert.equal(rec[1].f, 1 * 0.25 - 100);
  assert.equal(rec[3].b, true);
  assert.match(rec[1].ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  assert.equal(rec[1].ts, '2024-01-02T03:04:06.123459000Z'); // 1704164645123456 µs + 1000003 µs
  const typed = (await s.call('test/typed', { ts: '2019-07-26T09:00:00.123456789Z' })).records()[0];
  assert.equal(typed.ts, '2019-07-26T09:00:00.123456789Z', 'nanoseconds kept');
  assert.equal(typed.span, '0D00:01:30.000000000');
  assert.equal(typed.d, '2019-07-26');
  assert.deepEqual(r.column('i'), [...Array(40).keys()]);

  // NDJSON: the same rows, then the end status with meta.
  const st = s.stream('test/allTypes', params);
  const streamed = [];
  for await (const row of st) streamed.push(row);
  assert.deepEqual(streamed, rec);
  assert.equal(st.meta.rowCount, 40);

  // CSV from the SDK, and the gateway's own text/csv, agree byte for byte.
  const csv = await new Response(s.csv('test/allTypes', params)).text();
  const raw = await s.fetch('test/allTypes', params, { format: 'csv' });
  assert.match(raw.headers.get('Content-Type'), /^text\/csv/);
  assert.equal(csv, await raw.text());
  assert.ok(csv.startsWith('i,b,f,s,ts,d,tm,span,g\r\n'));

  // Arrow: an IPC stream with its end-of-stream marker.
  const arrow = new Uint8Array(await (await s.fetch('test/allTypes', params, { format: 'arrow' })).arrayBuffer());
  assert.deepEqual([...arrow.slice(0, 4)], [0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual([...arrow.slice(-8)], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

  // A long beyond 2^53 arrives exact where the runtime allows it (BigInt).
  const big = await s.call('test/typed', { l: 9007199254740993n });
  const l = big.records()[0].l;
  if (typeof l === 'bigint') assert.equal(l, 9007199254740993n);
  else assert.equal(l, 9007199254740992); // Node 20: JSON.parse has no source text
  await s.logout();
});

test('a stream ends with its status; a mid-stream failure throws', { skip }, async () => {
  const s = await login(TEST, 'alice', 'alice-password');
  // Row cap 10: the end status says truncated.
  const st = s.stream('test/rows', { n: 25 });
  let n = 0;
  for await (const row of st) assert.equal(row.i, n++);
  assert.equal(n, 10);
  assert.equal(st.meta.truncated, true);
  assert.equal(st.meta.rowCount, 10);

  // midFail sends rows, then the analytic fails: the iterator throws after them.
  let rows = 0;
  await rejects((async () => {
    for await (const row of s.stream('test/midFail', { ok: 200000 })) {
      assert.equal(row.v, row.i);
      rows++;
    }
  })(), 'analyticError');
  assert.ok(rows > 0, 'the failure came before any row: the mid-stream path is not exercised');

  // The CSV stream errors too, instead of ending like a whole file.
  await rejects(new Response(s.csv('test/midFail', { ok: 200000 })).text(), 'analyticError');
  await s.logout();
});

test('each class of error code', { skip }, async () => {
  await rejects(login(TEST, 'alice', 'wrong'), 'invalidCredentials', 401);
  const s = await login(TEST, 'alice', 'alice-password');
  await rejects(s.call('test/secret'), 'forbidden', 403);
  await rejects(s.call('test/nope'), 'unknownMethod', 404);
  await assert.rejects(s.call('test/rows', { n: -1 }), (e) => e.code === 'invalidParams' && e.status === 422 && e.details.length === 1 && e.details[0].startsWith('n'));
  await rejects(s.call('test/fail'), 'analyticError', 502);
  await rejects(s.call('test/slow'), 'timeout', 504);
  await rejects(s.call('test/rows', { n: 1, pad: 'x'.repeat(2 << 20) }), 'payloadTooLarge', 413);
  await rejects(s.call('monPublic/sub'), 'unknownMethod', 404); // streaming: use subscribe
  const bob = await login(TEST, 'bob', 'bob-password');
  await rejects(bob.call('test/rows', { n: 1 }), 'forbidden', 403);
  await rejects(login('http://127.0.0.1:1', 'a', 'b'), 'network', 0);
  await assert.rejects(s.call('nogroup'), QConnectError);
  await s.logout();
  await rejects(s.call('test/rows', { n: 1 }), 'invalidSession', 401);
});

test('AbortSignal is honoured by calls, streams and subscriptions', { skip }, async () => {
  const s = await login(TEST, 'alice', 'alice-password');
  await rejects(s.call('test/rows', { n: 1 }, { signal: AbortSignal.abort() }), 'aborted');
  const t0 = Date.now();
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 300);
  await rejects(s.call('test/slowLong', {}, { signal: ctl.signal }), 'aborted');
  assert.ok(Date.now() - t0 < 10000, 'the abort did not stop the call');
  // Mid-stream.
  const ctl2 = new AbortController();
  let n = 0;
  await rejects((async () => {
    for await (const row of s.stream('test/paced', { n: 1000000 }, { signal: ctl2.signal })) {
      if (++n === 5) ctl2.abort();
    }
  })(), 'aborted');
  assert.equal(n, 5);
  // The gateway is free again: a call answers.
  assert.equal((await s.call('test/rows', { n: 3 })).rowCount, 3);
  await s.logout();

  const d = await login(DEMO, 'kxSupport', '12345678');
  const ctl3 = new AbortController();
  const sub = d.subscribe('monPublic/sub', { syms: ['server_A'] }, { signal: ctl3.signal });
  await sub.ready;
  setTimeout(() => ctl3.abort(), 100);
  await rejects((async () => { for await (const m of sub) assert.ok(m); })(), 'aborted');
  await d.logout();
});

test('subscribe: the snapshot, then updates with contiguous seq; break unsubscribes', { skip }, async () => {
  const s = await login(DEMO, 'kxSupport', '12345678');
  const sub = s.subscribe('monPublic/sub', { syms: ['server_A', 'server_C'] });
  const id = await sub.ready;
  assert.match(id, /\S/);
  const kinds = [];
  const seqs = [];
  for await (const m of sub) {
    kinds.push(m.type);
    if (m.type === 'update') seqs.push(m.seq);
    for (const r of m.rows) {
      assert.ok(r.sym === 'server_A' || r.sym === 'server_C', r.sym);
      assert.match(r.time, /\.\d{9}Z$/);
      assert.equal(typeof r.usedMB, 'number');
    }
    if (seqs.length === 4) break;
  }
  assert.equal(kinds[0], 'snapshot');
  assert.deepEqual(seqs, [1, 2, 3, 4]);
  assert.equal(sub.seq, 4);
  // The break unsubscribed and closed the socket: iterating again ends at once.
  const again = [];
  for await (const m of sub) again.push(m);
  assert.deepEqual(again, []);
  // Refusals come through ready with the REST codes.
  await rejects(s.subscribe('monPublic/sub', { syms: 5, nope: 1 }).ready, 'invalidParams', 422);
  await rejects(s.subscribe('monPublic/nope').ready, 'unknownMethod', 404);
  await s.logout();
});

test('publish: rows are stored and reach a subscriber', { skip }, async () => {
  const s = await login(DEMO, 'kxSupport', '12345678');
  const sym = 'NODESDK' + Date.now() % 100000;
  const sub = s.subscribe('marketData/subTrades', { syms: [sym] });
  await sub.ready;
  const time = new Date().toISOString().replace('Z', '123456Z');
  const n = await s.publish('marketData/pubTrades', [
    { time, sym, price: 101.5, size: 100, side: 'buy' },
    { time, sym, price: 101.25, size: 50, side: 'sell' },
  ]);
  assert.equal(n, 2);
  const got = [];
  for await (const m of sub) {
    if (m.type !== 'update') continue;
    assert.equal(m.seq, 1);
    got.push(...m.rows);
    if (got.length >= 2) break;
  }
  assert.deepEqual(got.map((r) => [r.sym, r.price, r.size, r.side]), [[sym, 101.5, 100, 'buy'], [sym, 101.25, 50, 'sell']]);
  assert.ok(got[0].time.startsWith(time.slice(0, 23)));
  await assert.rejects(s.publish('marketData/pubTrades', [{ time, sym, price: 'x', size: 1, side: 'buy' }]),
    (e) => e.code === 'invalidParams' && e.details.some((d) => d.includes('rows[0].price')));
  await s.logout();
});

// Last: failed logins are also counted per address, so after this no login
// from this machine passes on TEST within the window.
test('repeated failed logins get tooManyAttempts with Retry-After', { skip }, async () => {
  let failures = 0;
  for (;;) {
    const e = await login(TEST, 'mallory', 'x').then(() => null, (err) => err);
    assert.ok(e instanceof QConnectError);
    if (e.code !== 'invalidCredentials') {
      assert.equal(e.code, 'tooManyAttempts');
      assert.equal(e.status, 429);
      assert.ok(e.retryAfter > 0, 'no Retry-After');
      break;
    }
    assert.ok(++failures <= 5, 'more than 5 failures were allowed');
  }
});
