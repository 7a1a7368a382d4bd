// Speed of the SDK's request signing: MD5 of the body (pure JavaScript) and
// HMAC-SHA1 (WebCrypto), as a client pays them per call.
//
//   node clients/js/bench/sign.bench.js
import { hmacKey, md5Hex, sign } from '../src/index.js';

function time(label, n, fn) {
  return (async () => {
    for (let i = 0; i < Math.min(n, 50); i++) await fn(); // warm up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    const ns = Number(process.hrtime.bigint() - t0) / n;
    console.log(`${label.padEnd(40)} ${(ns / 1000).toFixed(1).padStart(9)} µs/op`);
    return ns;
  })();
}

const sid = '3q2-7w_9ZkL0pXr4TtYb8MvN1cHfJs6QeWuAiDgKoPl';
const input = (body) => ({ verb: 'POST', path: '/connect/api/monPublic/getMem', username: 'kxSupport', contentType: 'application/json', date: new Date().toUTCString(), body });
const small = JSON.stringify({ type: 'getMemReq', id: crypto.randomUUID(), date: new Date().toUTCString(), msg: [{ syms: ['server_A', 'server_B'] }] });
const mib = new Uint8Array(1 << 20).map((_, i) => i * 31);

await time(`sign, ${small.length}-byte body, key per call`, 20000, () => sign(input(small), sid));
const key = await hmacKey(sid);
await time(`sign, ${small.length}-byte body, session key`, 20000, () => sign(input(small), sid, key));
await time('sign, 64 KiB body, session key', 2000, () => sign(input('x'.repeat(65536)), sid, key));
const ns = await time('md5, 1 MiB', 200, () => md5Hex(mib));
console.log(`md5 throughput: ${((1 << 20) / ns * 1e9 / 1048576).toFixed(0)} MiB/s`);
