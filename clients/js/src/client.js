// login and Session: the calls of PROTOCOL 2 to 7 over fetch and WebSocket.

import { QConnectError, abortError, wireError } from './errors.js';
import { EMPTY_MD5, hmacKey, sign } from './signing.js';
import { decodeRows, decodeValue, parseJSON } from './values.js';
import { csvLine } from './csv.js';

const CONTENT_TYPE = 'application/json';
const NDJSON = 'application/x-ndjson';
const DEFAULT_MAX_RESULT = 64 * 1024 * 1024;
const SMALL = 4 * 1024 * 1024; // login, ping, methods, publish answers
const MAX_QUEUE = 10000; // subscription messages buffered for a slow reader
const SETUP_TIMEOUT_MS = 30000; // socket open, AuthResp and SubscribeResp
const encoder = new TextEncoder();

// ---- plumbing ----

function baseURL(url) {
  if (url === undefined || url === null || url === '') return '';
  let u = String(url).trim();
  if (!/^https?:\/\//i.test(u)) u = 'http://' + u;
  return u.replace(/\/+$/, '');
}

function splitMethod(method) {
  const m = /^([A-Za-z_][A-Za-z0-9_]{0,63})\/([A-Za-z_][A-Za-z0-9_]{0,63})$/.exec(String(method));
  if (!m) throw new QConnectError('badRequest', `method ${JSON.stringify(method)} must be "group/name", e.g. "monPublic/getMem"`, { status: 0 });
  return { group: m[1], name: m[2] };
}

function newId() {
  return globalThis.crypto.randomUUID();
}

function now() {
  return new Date().toUTCString();
}

// wireParams converts a params object to its JSON form (PROTOCOL 4.2): a Date
// becomes RFC 3339, a BigInt an exact JSON integer.
function stringify(v) {
  let big = false;
  const text = JSON.stringify(v, (k, x) => {
    if (x instanceof Date) return x.toISOString();
    if (typeof x === 'bigint') {
      if (typeof JSON.rawJSON === 'function') return JSON.rawJSON(x.toString());
      big = true;
      return '\u0000big:' + x.toString() + '\u0000';
    }
    return x;
  });
  return big ? text.replace(/"\\u0000big:(-?\d+)\\u0000"/g, '$1') : text;
}

function retryAfter(res) {
  const v = res.headers.get('Retry-After');
  const n = v ? Number(v) : 0;
  return Number.isFinite(n) && n > 0 ? n : 0;
}

async function readBounded(body, limit, signal, what) {
  if (!body) return '';
  const reader = body.getReader();
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw new QConnectError('payloadTooLarge', `the answer to ${what} is larger than ${limit} bytes; narrow the query, raise maxResultBytes, or use stream()`, { status: 0 });
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof QConnectError) throw e;
    if (signal && signal.aborted) throw abortError(signal, what);
    throw new QConnectError('incomplete', `the answer to ${what} was cut: ${e.message}`, { cause: e });
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

function isEnvelope(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.success === 'boolean';
}

/** Result is a decoded result table (PROTOCOL 4.3). */
export class Result {
  constructor(columns, rows, meta) {
    /** @type {{name: string, type: string}[]} */
    this.columns = columns;
    /** rows: one array of typed values per row, in column order (see values.js). */
    this.rows = rows;
    this.rowCount = typeof meta.rowCount === 'number' ? meta.rowCount : rows.length;
    this.truncated = meta.truncated === true;
    this.elapsedMs = typeof meta.elapsedMs === 'number' ? meta.elapsedMs : 0;
  }

  /** records returns the rows as objects keyed by column name. */
  records() {
    return this.rows.map((r) => Object.fromEntries(this.columns.map((c, i) => [c.name, r[i]])));
  }

  /** column returns the values of one column. */
  column(name) {
    const i = this.columns.findIndex((c) => c.name === name);
    if (i < 0) throw new RangeError(`no column ${name}; the columns are ${this.columns.map((c) => c.name).join(', ')}`);
    return this.rows.map((r) => r[i]);
  }
}

/**
 * login opens a session (PROTOCOL 2) on the gateway at url ("http://host:port",
 * "host:port", or "" for the page's own origin in a browser).
 * @param {string} url
 * @param {string} username
 * @param {string} password
 * @param {{signal?: AbortSignal, fetch?: typeof fetch, WebSocket?: unknown, maxResultBytes?: number}} [options]
 * @returns {Promise<Session>}
 */
export async function login(url, username, password, options = {}) {
  const cfg = {
    base: baseURL(url),
    fetch: options.fetch ?? globalThis.fetch?.bind(globalThis),
    WebSocket: options.WebSocket ?? globalThis.WebSocket,
    maxResultBytes: options.maxResultBytes ?? DEFAULT_MAX_RESULT,
  };
  if (typeof cfg.fetch !== 'function') throw new TypeError('no fetch: use Node 20 or later, or pass options.fetch');
  if (typeof username !== 'string' || username === '' || typeof password !== 'string') {
    throw new TypeError('login needs a username and a password (strings)');
  }
  const body = JSON.stringify({ type: 'LoginReq', id: newId(), date: now(), msg: [{ username, password }] });
  const env = await post(cfg, '/connect/api/auth/login', body, { signal: options.signal, what: 'login', limit: SMALL });
  const m = Array.isArray(env.msg) ? env.msg[0] : null;
  if (!m || typeof m.sessionId !== 'string' || m.sessionId.length < 5) {
    throw new QConnectError('notGateway', 'the login answer holds no sessionId; is this a qconnect gateway?', { status: 0 });
  }
  return new Session(cfg, username, m.sessionId, m);
}

// post sends one POST and returns the parsed envelope of a success, or throws.
async function post(cfg, path, body, { auth, accept = CONTENT_TYPE, signal, what, method, limit }) {
  const res = await send(cfg, path, body, { auth, accept, signal, what });
  return readEnvelope(res, limit ?? cfg.maxResultBytes, signal, what, method);
}

async function send(cfg, path, body, { auth, accept, signal, what }) {
  if (signal && signal.aborted) throw abortError(signal, what);
  const headers = { 'Content-Type': CONTENT_TYPE, Accept: accept };
  if (auth) headers.Authorization = auth;
  try {
    return await cfg.fetch(cfg.base + path, { method: 'POST', headers, body, signal, credentials: 'omit', redirect: 'error' });
  } catch (e) {
    if (signal && signal.aborted) throw abortError(signal, what);
    throw new QConnectError('network', `${what}: the gateway at ${cfg.base || 'this origin'} could not be reached (${e.message}); check the URL and that it is running`, { status: 0, cause: e });
  }
}

async function readEnvelope(res, limit, signal, what, method) {
  const text = await readBounded(res.body, limit, signal, what);
  let env = null;
  try {
    env = parseJSON(text);
  } catch {
    env = null;
  }
  if (!isEnvelope(env)) {
    throw new QConnectError('notGateway', `${what}: HTTP ${res.status} with an answer that is not a Connect envelope; is this a qconnect gateway?`, { status: res.status, method });
  }
  if (!env.success) throw wireError(env.error, res.status, method, retryAfter(res));
  if (res.status !== 200) {
    throw new QConnectError('notGateway', `${what}: HTTP ${res.status} with success true`, { status: res.status, method });
  }
  return env;
}

// ---- the session ----

/**
 * Session is a logged-in session. The session id is the signing key: it is
 * kept in a private field, never logged, serialised or exposed.
 */
export class Session {
  #id;
  #cfg;
  #catalog = null; // Promise of the methods list, for column types
  #key = null; // Promise of the session's non-extractable HMAC CryptoKey

  constructor(cfg, username, id, info) {
    this.#cfg = cfg;
    this.#id = id;
    /** the username given at login, exactly (it is part of every signature) */
    this.username = username;
    /** the gateway's URL ("" = this page's origin) */
    this.url = cfg.base;
    /** the session's absolute expiry (IMF-fixdate) */
    this.expires = typeof info.expires === 'string' ? info.expires : '';
    /** seconds of inactivity after which the session ends */
    this.idleTimeout = typeof info.idleTimeout === 'number' ? info.idleTimeout : 0;
  }

  toJSON() {
    return { username: this.username, url: this.url, expires: this.expires };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Session { username: ${JSON.stringify(this.username)}, url: ${JSON.stringify(this.url)} }`;
  }

  async #signed(path, type, msg, opts) {
    const date = now();
    const body = typeof msg === 'string' ? msg : stringify({ type, id: newId(), date, msg });
    const s = await sign({ verb: 'POST', path, username: this.username, body, contentType: CONTENT_TYPE, date }, this.#id, await this.#hmac());
    return { body, auth: s.authorization };
  }

  #hmac() {
    this.#key ??= hmacKey(this.#id);
    return this.#key;
  }

  async #post(path, type, msg, { signal, what, method, limit, accept } = {}) {
    const { body, auth } = await this.#signed(path, type, msg);
    return post(this.#cfg, path, body, { auth, signal, what, method, limit, accept });
  }

  async #callRequest(method, params, accept, signal) {
    const { group, name } = splitMethod(method);
    const path = `/connect/api/${group}/${name}`;
    const msg = params && Object.keys(params).length ? [params] : [];
    const { body, auth } = await this.#signed(path, name + 'Req', msg);
    const res = await send(this.#cfg, path, body, { auth, accept, signal, what: method });
    if (res.status !== 200) {
      await readEnvelope(res, SMALL, signal, method, method); // throws the wire error
    }
    return res;
  }

  /**
   * call calls a method (PROTOCOL 4) and returns the whole result table.
   * @param {string} method "group/name"
   * @param {Record<string, unknown>} [params]
   * @param {{signal?: AbortSignal}} [options]
   * @returns {Promise<Result>}
   */
  async call(method, params = {}, options = {}) {
    const res = await this.#callRequest(method, params, CONTENT_TYPE, options.signal);
    const env = await readEnvelope(res, this.#cfg.maxResultBytes, options.signal, method, method);
    const meta = env.meta && typeof env.meta === 'object' ? env.meta : {};
    const rows = Array.isArray(env.msg) ? env.msg : [];
    const columns = Array.isArray(meta.columns) ? meta.columns.map((c) => ({ name: String(c.name), type: String(c.type) }))
      : Object.keys(rows[0] || {}).map((name) => ({ name, type: '' }));
    return new Result(columns, decodeRows(columns, rows), meta);
  }

  /**
   * fetch calls a method and returns the raw fetch Response in the chosen
   * format (json, ndjson, csv or arrow), after checking its status. The
   * outcome of a CSV or Arrow body is in its HTTP trailers (PROTOCOL
   * appendix 8), which fetch cannot read: prefer call, stream or csv.
   * @param {string} method
   * @param {Record<string, unknown>} [params]
   * @param {{format?: 'json'|'ndjson'|'csv'|'arrow', signal?: AbortSignal}} [options]
   */
  async fetch(method, params = {}, options = {}) {
    const accept = { json: CONTENT_TYPE, ndjson: NDJSON, csv: 'text/csv', arrow: 'application/vnd.apache.arrow.stream' }[options.format ?? 'json'];
    if (!accept) throw new TypeError(`format ${options.format} is not json, ndjson, csv or arrow`);
    return this.#callRequest(method, params, accept, options.signal);
  }

  /** columnsOf returns the declared columns of a method, from meta/methods (cached). */
  async columnsOf(method, signal) {
    if (!this.#catalog) {
      this.#catalog = this.methods({ signal });
      this.#catalog.catch(() => { this.#catalog = null; });
    }
    const list = await this.#catalog;
    const m = list.find((x) => `${x.group}/${x.name}` === method);
    return m && Array.isArray(m.columns) ? m.columns : null;
  }

  /**
   * stream calls a method with NDJSON (PROTOCOL 4.4) and returns an async
   * iterable of row objects, with values typed as in call. The iteration
   * ends when the final status line says success (then .meta holds the
   * meta); a failure reported mid-stream, or a cut stream, throws.
   * Breaking out of the loop cancels the call.
   * @param {string} method
   * @param {Record<string, unknown>} [params]
   * @param {{format?: 'ndjson', signal?: AbortSignal}} [options]
   */
  stream(method, params = {}, options = {}) {
    if ((options.format ?? 'ndjson') !== 'ndjson') {
      throw new TypeError(`stream iterates NDJSON rows; for ${options.format} use fetch(method, params, {format})`);
    }
    return new RowStream(this, method, params, options.signal, (m, p, s) => this.#callRequest(m, p, NDJSON, s));
  }

  /**
   * csv returns a ReadableStream of the result as RFC 4180 CSV (a header
   * row, CRLF, null as an empty field, values in the text form of 4.3). It
   * is written from the NDJSON stream, so a failure mid-stream errors the
   * stream instead of leaving a file that looks whole. With neutralize:
   * true, a text cell beginning with = + - @ TAB or CR gets a leading ' (for
   * files opened in a spreadsheet; OWASP CSV injection).
   * @param {string} method
   * @param {Record<string, unknown>} [params]
   * @param {{signal?: AbortSignal, neutralize?: boolean}} [options]
   * @returns {ReadableStream<Uint8Array>}
   */
  csv(method, params = {}, options = {}) {
    const rows = this.stream(method, params, { signal: options.signal });
    const opts = { neutralize: options.neutralize === true };
    let it = null;
    let names = null;
    return new ReadableStream({
      pull: async (ctl) => {
        if (!it) {
          it = rows[Symbol.asyncIterator]();
          const cols = await this.columnsOf(method, options.signal);
          names = cols ? cols.map((c) => c.name) : null;
          const first = await it.next();
          if (!names) names = first.done ? [] : Object.keys(first.value);
          ctl.enqueue(encoder.encode(csvLine(names, opts)));
          if (first.done) return ctl.close();
          ctl.enqueue(encoder.encode(csvLine(names.map((n) => first.value[n]), opts)));
          return;
        }
        const r = await it.next();
        if (r.done) return ctl.close();
        ctl.enqueue(encoder.encode(csvLine(names.map((n) => r.value[n]), opts)));
      },
      cancel: async () => {
        if (it) await it.return();
      },
    }, { highWaterMark: 16 });
  }

  /**
   * publish stores rows through a publishing method (PROTOCOL appendix 12)
   * and returns the number of rows stored. One bad row rejects the batch
   * (invalidParams naming rows[i].column).
   * @param {string} method
   * @param {Record<string, unknown>[]} rows
   * @param {{signal?: AbortSignal}} [options]
   */
  async publish(method, rows, options = {}) {
    const { group, name } = splitMethod(method);
    if (!Array.isArray(rows)) throw new TypeError('publish needs an array of row objects');
    const env = await this.#post(`/connect/api/${group}/${name}`, name + 'Req', [{ rows }],
      { signal: options.signal, what: method, method, limit: SMALL });
    const m = Array.isArray(env.msg) ? env.msg[0] : null;
    if (!m || typeof m.rows !== 'number') throw new QConnectError('notGateway', 'the publish answer has no row count (msg [{"rows": N}])', { status: 0 });
    return m.rows;
  }

  /**
   * methods lists the methods this user may call (PROTOCOL 6).
   * @param {{signal?: AbortSignal}} [options]
   */
  async methods(options = {}) {
    const env = await this.#post('/connect/api/meta/methods', 'MethodsReq', [], { signal: options.signal, what: 'meta/methods', limit: SMALL });
    return Array.isArray(env.msg) ? env.msg : [];
  }

  /**
   * ping keeps the session alive and returns {idleTimeout, expires}.
   * @param {{signal?: AbortSignal}} [options]
   */
  async ping(options = {}) {
    const env = await this.#post('/connect/api/auth/ping', 'PingReq', [], { signal: options.signal, what: 'ping', limit: SMALL });
    return Array.isArray(env.msg) && env.msg[0] ? env.msg[0] : {};
  }

  /**
   * logout ends the session on the gateway (PROTOCOL 5); its WebSockets close.
   * @param {{signal?: AbortSignal}} [options]
   */
  async logout(options = {}) {
    await this.#post('/connect/api/auth/logout', 'LogoutReq', [], { signal: options.signal, what: 'logout', limit: SMALL });
  }

  /**
   * subscribe opens /connect/ws, attaches this session with a signed AuthReq
   * and subscribes (PROTOCOL 7). The result is an async iterable of
   * messages: {type: 'snapshot', rows, meta} once first when the method has
   * one, then {type: 'update', seq, rows}. seq is checked: a gap throws
   * QConnectError seqGap. Breaking out of the loop (or unsubscribe())
   * unsubscribes and closes the socket. await sub.ready to learn the
   * subscription id, or a refusal, before iterating.
   * @param {string} method
   * @param {Record<string, unknown>} [params]
   * @param {{signal?: AbortSignal}} [options]
   */
  subscribe(method, params = {}, options = {}) {
    splitMethod(method);
    return new Subscription(this, this.#cfg, method, params, options.signal, (date) => this.#wsAuthorization(date));
  }

  async #wsAuthorization(date) {
    const s = await sign({ verb: 'GET', path: '/connect/ws', username: this.username, bodyMd5: EMPTY_MD5, contentType: '', date }, this.#id, await this.#hmac());
    return s.authorization;
  }
}

// ---- NDJSON rows ----

class RowStream {
  constructor(session, method, params, signal, request) {
    this.method = method;
    /** meta of the final status line, once the stream ended with success */
    this.meta = null;
    this._s = session;
    this._params = params;
    this._signal = signal;
    this._request = request;
    this._used = false;
  }

  async *[Symbol.asyncIterator]() {
    if (this._used) throw new TypeError('a stream can be iterated once; call stream() again');
    this._used = true;
    const { method, _signal: signal } = this;
    const res = await this._request(method, this._params, signal);
    const cols = await this._s.columnsOf(method, signal).catch(() => null);
    const types = cols ? Object.fromEntries(cols.map((c) => [c.name, c.type])) : {};
    const decode = (row) => {
      if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new QConnectError('notGateway', 'an NDJSON row is not an object', { status: 0 });
      for (const k of Object.keys(row)) if (types[k]) row[k] = decodeValue(types[k], row[k], k);
      return row;
    };
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let pending = null; // the last complete line: a row unless it is the final one
    let finished = false;
    try {
      for (;;) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (signal && signal.aborted) throw abortError(signal, method);
          throw new QConnectError('incomplete', `${method}: the stream was cut (${e.message}); run the call again`, { status: 0, cause: e });
        }
        if (chunk.done) break;
        buf += dec.decode(chunk.value, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() === '') continue;
          if (pending !== null) {
            if (signal && signal.aborted) throw abortError(signal, method);
            yield decode(parseJSON(pending));
          }
          pending = line;
        }
      }
      buf += dec.decode();
      if (buf.trim() !== '') {
        if (pending !== null) yield decode(parseJSON(pending));
        pending = buf;
      }
      let end = null;
      try {
        end = pending === null ? null : parseJSON(pending);
      } catch {
        end = null;
      }
      if (!isEnvelope(end)) {
        throw new QConnectError('incomplete', `${method}: the stream ended without its final status line; the result is incomplete, run the call again`, { status: 0 });
      }
      finished = true;
      if (!end.success) throw wireError(end.error, 0, method, 0);
      this.meta = end.meta ?? {};
    } finally {
      if (!finished) await reader.cancel().catch(() => {});
    }
  }
}

// ---- subscriptions ----

// Queue is an async queue of values, closed with an error or normally.
class Queue {
  constructor() {
    this.items = [];
    this.waiters = [];
    this.error = null;
    this.done = false;
  }

  push(v) {
    if (this.done) return;
    const w = this.waiters.shift();
    if (w) w.resolve({ value: v, done: false });
    else this.items.push(v);
  }

  end(err) {
    if (this.done) return;
    this.done = true;
    this.error = err ?? null;
    for (const w of this.waiters.splice(0)) {
      if (err) w.reject(err);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next() {
    if (this.items.length) return Promise.resolve({ value: this.items.shift(), done: false });
    if (this.done) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

class Subscription {
  constructor(session, cfg, method, params, signal, authorize) {
    this.method = method;
    /** the subscription id, once ready */
    this.id = '';
    this._s = session;
    this._q = new Queue();
    this._pending = new Map(); // request id → {resolve, reject, type}
    this._seq = 0;
    this._cols = null;
    this._closing = false;
    this._signal = signal;
    const WS = cfg.WebSocket;
    /** ready resolves with the subscription id once the gateway acknowledged it, or rejects. */
    this.ready = (async () => {
      if (typeof WS !== 'function') {
        throw new TypeError('no WebSocket: use Node 22 or later (or node --experimental-websocket on Node 20), or pass options.WebSocket (e.g. from the ws package) to login');
      }
      this._cols = await session.columnsOf(method, signal).catch(() => null);
      if (this._q.done) throw this._q.error ?? new QConnectError('closed', 'the subscription ended', { status: 0 });
      const origin = cfg.base || globalThis.location?.origin || '';
      const url = origin.replace(/^http/i, 'ws') + '/connect/ws';
      await this._open(WS, url, authorize, params);
      return this.id;
    })();
    const timer = setTimeout(() => this._fail(new QConnectError('network',
      `the subscription to ${method} was not acknowledged within ${SETUP_TIMEOUT_MS / 1000} s; check the gateway`, { status: 0 })), SETUP_TIMEOUT_MS);
    this.ready.then(() => clearTimeout(timer), (e) => {
      clearTimeout(timer);
      this._fail(e);
    });
    if (signal) {
      this._onAbort = () => this._fail(abortError(signal, 'the subscription to ' + method));
      if (signal.aborted) this._onAbort();
      else signal.addEventListener('abort', this._onAbort, { once: true });
    }
  }

  async _open(WS, url, authorize, params) {
    const ws = new WS(url);
    this._ws = ws;
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new QConnectError('network', `the WebSocket ${url} could not be opened; check the URL, and --cors-origins when this page is on another origin`, { status: 0 })), { once: true });
      this._openReject = reject;
    });
    ws.addEventListener('message', (ev) => this._frame(ev.data));
    ws.addEventListener('close', (ev) => {
      const why = ev.code === 4401 ? 'the session ended or authentication failed' : ev.code === 4008 ? 'slow consumer' : ev.code === 1001 ? 'the gateway is shutting down' : 'closed';
      this._fail(this._closing ? null : new QConnectError('closed', `the gateway closed the WebSocket (${ev.code}${ev.reason ? ' ' + ev.reason : ''}: ${why})`, { status: 0, closeCode: ev.code }));
    });
    const date = now();
    await this._request('AuthReq', 'AuthResp', [{ authorization: await authorize(date) }], date);
    const sub = await this._request('SubscribeReq', 'SubscribeResp', [{ method: this.method, params }]);
    const m = Array.isArray(sub.msg) ? sub.msg[0] : null;
    if (!m || typeof m.subscriptionId !== 'string') throw new QConnectError('notGateway', 'the SubscribeResp has no subscriptionId (PROTOCOL 7)', { status: 0 });
    this.id = m.subscriptionId;
  }

  _request(type, want, msg, date = now()) {
    const id = newId();
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, want });
      try {
        this._ws.send(stringify({ type, id, date, msg }));
      } catch (e) {
        this._pending.delete(id);
        reject(new QConnectError('network', `sending ${type}: ${e.message}`, { status: 0 }));
      }
    });
  }

  _frame(data) {
    let f;
    try {
      f = parseJSON(typeof data === 'string' ? data : new TextDecoder().decode(data));
    } catch {
      return this._fail(new QConnectError('notGateway', 'a WebSocket frame is not JSON', { status: 0 }));
    }
    if (f && typeof f.id === 'string' && this._pending.has(f.id)) {
      const p = this._pending.get(f.id);
      this._pending.delete(f.id);
      if (f.success === false || f.error) p.reject(wireError(f.error, 0, this.method, 0));
      else if (f.type !== p.want) p.reject(new QConnectError('notGateway', `expected a ${p.want}, got a ${f.type}`, { status: 0 }));
      else {
        // The id is set here, synchronously: the snapshot may follow in the
        // same task, before a promise continuation would run.
        const m = f.type === 'SubscribeResp' && Array.isArray(f.msg) ? f.msg[0] : null;
        if (m && typeof m.subscriptionId === 'string') this.id = m.subscriptionId;
        p.resolve(f);
      }
      return;
    }
    if (!f || f.subscriptionId !== this.id || !this.id) return;
    const rows = Array.isArray(f.msg) ? f.msg : [];
    try {
      switch (f.type) {
        case 'SnapshotMsg':
          return this._push({ type: 'snapshot', rows: this._decode(rows, f.meta), meta: f.meta ?? {}, date: f.date });
        case 'UpdateMsg':
          if (f.seq !== this._seq + 1) {
            return this._fail(new QConnectError('seqGap', `${this.method}: update seq ${f.seq} after ${this._seq}; an update was lost, subscribe again`, { status: 0 }));
          }
          this._seq = f.seq;
          return this._push({ type: 'update', seq: f.seq, rows: this._decode(rows, null), date: f.date });
        case 'SubscriptionEndMsg':
          return this._fail(f.error ? wireError(f.error, 0, this.method, 0) : null);
        default:
      }
    } catch (e) {
      this._fail(e);
    }
  }

  _decode(rows, meta) {
    const cols = meta && Array.isArray(meta.columns) ? meta.columns : this._cols;
    if (!cols) return rows;
    const types = Object.fromEntries(cols.map((c) => [c.name, c.type]));
    for (const r of rows) for (const k of Object.keys(r)) if (types[k]) r[k] = decodeValue(types[k], r[k], k);
    return rows;
  }

  _push(m) {
    if (this._q.items.length >= MAX_QUEUE) {
      return this._fail(new QConnectError('slowConsumer', `${this.method}: more than ${MAX_QUEUE} messages wait to be read; read faster or conflate`, { status: 0 }));
    }
    this._q.push(m);
  }

  // _fail ends the subscription with err (null: normally) and closes the socket.
  _fail(err) {
    if (this._q.done) return;
    this._q.end(err);
    if (this._openReject) this._openReject(err ?? new QConnectError('closed', 'the subscription ended', { status: 0 }));
    for (const p of this._pending.values()) p.reject(err ?? new QConnectError('closed', 'the subscription ended', { status: 0 }));
    this._pending.clear();
    if (this._signal && this._onAbort) this._signal.removeEventListener('abort', this._onAbort);
    this._closing = true;
    if (this._ws && this._ws.readyState <= 1) this._ws.close(1000);
  }

  /** seq is the last update's sequence number (0 before the first). */
  get seq() {
    return this._seq;
  }

  /** unsubscribe sends UnsubscribeReq, waits for its answer (at most 5 s) and closes the socket. */
  async unsubscribe() {
    if (this._q.done) return;
    try {
      await this.ready;
      this._closing = true;
      let timer;
      await Promise.race([
        this._request('UnsubscribeReq', 'UnsubscribeResp', [{ subscriptionId: this.id }]),
        new Promise((resolve) => { timer = setTimeout(resolve, 5000); }),
      ]).finally(() => clearTimeout(timer));
    } catch {
      // ending anyway
    }
    this._fail(null);
  }

  async *[Symbol.asyncIterator]() {
    await this.ready;
    try {
      for (;;) {
        const r = await this._q.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await this.unsubscribe();
    }
  }
}
