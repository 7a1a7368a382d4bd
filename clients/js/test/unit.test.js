// Tests of the SDK that need no gateway: signing (the shared vectors), MD5,
// values, CSV with the formula guard.
//
//   QCONNECT_SIGNING_VECTORS=path/to/signing.json node --test test/unit.test.js
//
// The Go test TestNodeSDK (e2e/node_sdk_test.go) sets the path from the
// repository's copy of the vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  sign, md5, md5Hex, toCSV, csvField, epochNanos, toDate, decodeValue, decodeRows, QConnectError, statusOf, VERSION,
} from '../src/index.js';

test('signing vectors (PROTOCOL 3.1), including the non-ASCII body', async (t) => {
  const path = process.env.QCONNECT_SIGNING_VECTORS;
  if (!path) {
    if (process.env.QCONNECT_REQUIRE_VECTORS === '1') assert.fail('QCONNECT_SIGNING_VECTORS is not set');
    t.skip('QCONNECT_SIGNING_VECTORS is not set');
    return;
  }
  const { cases } = JSON.parse(readFileSync(path, 'utf8'));
  assert.ok(cases.length >= 5, `only ${cases.length} vectors`);
  assert.ok(cases.some((v) => /[^\x00-\x7f]/.test(v.body)), 'no vector has a non-ASCII body');
  for (const v of cases) {
    const got = await sign({ verb: v.verb, path: v.path, username: v.username, body: v.body, contentType: v.contentType, date: v.date }, v.sessionId);
    assert.equal(got.bodyMd5, v.bodyMd5, `${v.name}: bodyMd5`);
    assert.equal(got.stringToSign, v.stringToSign, `${v.name}: stringToSign`);
    assert.equal(got.signature, v.signature, `${v.name}: signature`);
    assert.equal(got.authorization, v.authorization, `${v.name}: authorization`);
  }
});

test('the PROTOCOL 3.2 example', async () => {
  const body = '{"type":"getMemReq","msg":[{"start":"2019-07-26T09:00:00Z","end":"2019-07-26T16:00:00Z","syms":["server_A","server_B"]}],"id":"e133598e-7b9e-429a-b3e5-bda881c47024","date":"Fri, 26 Jul 2019 16:59:00 GMT"}';
  const s = await sign({ verb: 'POST', path: '/connect/api/monPublic/getMem', username: 'kxSupport', body, contentType: 'application/json', date: 'Fri, 26 Jul 2019 16:59:00 GMT' },
    '3q2-7w_9ZkL0pXr4TtYb8MvN1cHfJs6QeWuAiDgKoPl');
  assert.equal(s.bodyMd5, '123c273903362502e6d14c738b71473a');
  assert.equal(s.signature, 'bZiT40pIQ9DGTJUTAlvUsnugo4Y=');
  assert.equal(s.authorization, 'kxSupportgKoPl:bZiT40pIQ9DGTJUTAlvUsnugo4Y=');
});

test('md5 against node:crypto, around the padding boundaries', () => {
  for (let n = 0; n <= 200; n++) {
    const b = randomBytes(n);
    assert.equal(md5Hex(new Uint8Array(b)), createHash('md5').update(b).digest('hex'), `${n} bytes`);
  }
  for (const n of [4095, 4096, 65537, 300000]) {
    const b = randomBytes(n);
    assert.equal(md5Hex(new Uint8Array(b)), createHash('md5').update(b).digest('hex'), `${n} bytes`);
  }
  for (const s of ['', 'abc', 'message digest', '日本 ÉDF.PA \u2028 😀']) {
    assert.equal(md5(s), createHash('md5').update(s, 'utf8').digest('hex'), s);
  }
  assert.throws(() => md5Hex('a string'), TypeError);
});

test('timestamps keep their nanoseconds', () => {
  const ts = '2019-07-26T15:59:00.123456789Z';
  assert.equal(decodeValue('timestamp', ts, 'time'), ts);
  assert.equal(epochNanos(ts), 1564156740123456789n);
  assert.equal(epochNanos('1969-12-31T23:59:59.999999999Z'), -1n);
  assert.equal(toDate(ts).toISOString(), '2019-07-26T15:59:00.123Z');
  assert.equal(toDate('1969-12-31T23:59:59.999999999Z').getTime(), -1);
  assert.throws(() => decodeValue('timestamp', '2019-07-26 15:59', 'time'), QConnectError);
  assert.throws(() => decodeValue('long', 1.5, 'n'), /not a long/);
  assert.deepEqual(decodeRows([{ name: 'a', type: 'long' }, { name: 'b', type: 'symbol' }], [{ a: 1, b: 'x' }, { a: null }]), [[1, 'x'], [null, null]]);
});

test('CSV: RFC 4180, and the formula guard only when asked', () => {
  const cols = ['sym', 'n', 'ok'];
  const rows = [{ sym: '=1+2', n: -2, ok: true }, { sym: 'a,"b"', n: null, ok: false }, ['@x', 1n, null]];
  assert.equal(toCSV(cols, rows), 'sym,n,ok\r\n=1+2,-2,true\r\n"a,""b""",,false\r\n@x,1,\r\n');
  assert.equal(toCSV(cols, rows, { neutralize: true }), 'sym,n,ok\r\n"\'=1+2",-2,true\r\n"a,""b""",,false\r\n"\'@x",1,\r\n');
  for (const s of ['=', '+', '-', '@', '\t', '\r']) assert.equal(csvField(s + 'x', { neutralize: true }).slice(0, 2), '"\'', JSON.stringify(s));
  assert.equal(csvField(-5, { neutralize: true }), '-5');
});

test('errors carry the wire code and its status', () => {
  const e = new QConnectError('invalidParams', 'bad', { details: ['n: below 0'] });
  assert.equal(e.status, 422);
  assert.ok(e instanceof Error);
  assert.equal(statusOf('timeout'), 504);
  assert.equal(statusOf('unavailable'), 503);
  assert.equal(new QConnectError('invalidSession', 'x').isAuth, true);
});

test('the version follows the gateway (package.json)', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(VERSION, pkg.version);
});

// A gateway that skips a seq, ends a subscription or closes the socket
// cannot be had on demand, so these use a scripted WebSocket and fetch
// (fakes of the transport only; the SDK code under test is the real one).
function fakeGateway(script) {
  const env = (type, msg, extra = {}) => new Response(JSON.stringify({ type, id: 'x', date: new Date().toUTCString(), success: true, msg, ...extra }), { status: 200 });
  const fetch = async (url) => {
    if (url.endsWith('/auth/login')) return env('LoginResp', [{ sessionId: 'S'.repeat(43), username: 'u', idleTimeout: 1800, expires: 'x' }]);
    if (url.endsWith('/meta/methods')) return env('MethodsResp', [{ group: 'g', name: 'sub', streaming: true, columns: [{ name: 't', type: 'timestamp' }, { name: 'v', type: 'long' }] }]);
    throw new Error('unexpected ' + url);
  };
  class FakeWS extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.readyState = 0;
      setTimeout(() => { this.readyState = 1; this.dispatchEvent(new Event('open')); });
    }
    send(text) {
      const f = JSON.parse(text);
      const reply = (o) => setTimeout(() => this.dispatchEvent(Object.assign(new Event('message'), { data: JSON.stringify(o) })));
      if (f.type === 'AuthReq') reply({ type: 'AuthResp', id: f.id, success: true, msg: [] });
      if (f.type === 'SubscribeReq') {
        reply({ type: 'SubscribeResp', id: f.id, success: true, msg: [{ subscriptionId: 'sub1' }] });
        for (const frame of script) {
          if (frame.close) setTimeout(() => { this.readyState = 3; this.dispatchEvent(Object.assign(new Event('close'), { code: frame.close, reason: 'bye' })); });
          else reply({ subscriptionId: 'sub1', date: 'd', ...frame });
        }
      }
      if (f.type === 'UnsubscribeReq') reply({ type: 'UnsubscribeResp', id: f.id, success: true, msg: [] });
    }
    close() { this.readyState = 3; }
  }
  return { fetch, WebSocket: FakeWS };
}

async function drain(script) {
  const { login } = await import('../src/index.js');
  const s = await login('http://fake.test', 'u', 'p', fakeGateway(script));
  const got = [];
  try {
    for await (const m of s.subscribe('g/sub', {})) got.push(m.type === 'update' ? m.seq : m.type);
  } catch (e) {
    return { got, err: e };
  }
  return { got, err: null };
}

test('subscribe: a seq gap, an end by the gateway and a close are errors', async () => {
  const row = { t: '2019-07-26T09:00:00.123456789Z', v: 1 };
  let r = await drain([{ type: 'SnapshotMsg', msg: [row] }, { type: 'UpdateMsg', seq: 1, msg: [row] }, { type: 'UpdateMsg', seq: 3, msg: [row] }]);
  assert.deepEqual(r.got, ['snapshot', 1]);
  assert.equal(r.err.code, 'seqGap');
  r = await drain([{ type: 'UpdateMsg', seq: 1, msg: [row] }, { type: 'SubscriptionEndMsg', error: { code: 'forbidden', message: 'revoked' } }]);
  assert.deepEqual(r.got, [1]);
  assert.equal(r.err.code, 'forbidden');
  assert.equal(r.err.status, 403);
  r = await drain([{ type: 'UpdateMsg', seq: 1, msg: [row] }, { close: 4401 }]);
  assert.equal(r.err.code, 'closed');
  assert.equal(r.err.closeCode, 4401);
  r = await drain([{ type: 'UpdateMsg', seq: 1, msg: [{ t: 'yesterday', v: 1 }] }]);
  assert.equal(r.err.code, 'notGateway', 'a value that is not its column type is refused');
});
