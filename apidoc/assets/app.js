// The docs page's script: login, request signing (PROTOCOL 3.1), the Try-it
// forms, result tables, CSV download, copy buttons and the method filter.
// No framework, no inline script (the page's CSP forbids it), no storage:
// the session id lives only in a variable of this module.

import { md5Hex } from './md5.js';

const CONTENT_TYPE = 'application/json';
const LOGIN_PATH = '/connect/api/auth/login';
const LOGOUT_PATH = '/connect/api/auth/logout';
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024; // larger answers: use the command line
const MAX_TABLE_ROWS = 1000; // rows drawn on the page; the CSV holds them all
const CALL_TIMEOUT_MS = 120 * 1000;
const encoder = new TextEncoder();

// ---- signing (PROTOCOL 3.1) ----

/** stringToSign joins the elements of the signature and the session id with "\n". */
export function stringToSign(input, sessionId) {
  return [input.verb, input.path, input.username, input.bodyMd5, input.contentType, input.date, sessionId].join('\n');
}

/** hmacSha1Base64 is Base64(HMAC-SHA1(key, data)) over the UTF-8 bytes of both, with WebCrypto. */
export async function hmacSha1Base64(key, data) {
  const k = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', k, encoder.encode(data)));
  let bin = '';
  for (const b of mac) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** authorization is username + last 5 characters of the session id + ":" + signature. */
export function authorization(username, sessionId, signature) {
  return username + sessionId.slice(-5) + ':' + signature;
}

/**
 * sign signs one request. input: {verb, path, username, contentType, date} and
 * either body (the exact body text; its UTF-8 bytes are hashed) or bodyMd5.
 * Resolves to {bodyMd5, stringToSign, signature, authorization}.
 */
export async function sign(input, sessionId) {
  const bodyMd5 = input.bodyMd5 ?? md5Hex(encoder.encode(input.body ?? ''));
  const sts = stringToSign({ ...input, bodyMd5 }, sessionId);
  const signature = await hmacSha1Base64(sessionId, sts);
  return { bodyMd5, stringToSign: sts, signature, authorization: authorization(input.username, sessionId, signature) };
}

// ---- values ----

/** CallError is a failure to show: a wire error code or a local one. */
class CallError extends Error {
  constructor(code, message, details, status) {
    super(message);
    this.code = code;
    this.details = details || [];
    this.status = status || 0;
  }
}

// JSON.parse keeps integers beyond 2^53 exact as BigInt where the browser
// gives the reviver the source text.
function reviver(key, value, context) {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context &&
      typeof context.source === 'string' && /^-?\d+$/.test(context.source)) {
    return BigInt(context.source);
  }
  return value;
}

function textOf(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** toCSV writes RFC 4180 CSV: a header row, CRLF line ends, null as an empty field. */
export function toCSV(columns, rows) {
  const field = (v) => {
    const s = textOf(v);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  const lines = [columns.map(field).join(',')];
  for (const r of rows) lines.push(columns.map((c) => field(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

function convert(type, s, name) {
  switch (type) {
    case 'long': {
      if (!/^[-+]?\d+$/.test(s)) throw new Error(`${name}: "${s}" is not an integer`);
      const n = Number(s);
      if (!Number.isSafeInteger(n)) throw new Error(`${name}: ${s} is too large for this form; use the command line`);
      return n;
    }
    case 'float': {
      const f = Number(s);
      if (!Number.isFinite(f)) throw new Error(`${name}: "${s}" is not a number`);
      return f;
    }
    case 'boolean':
      if (s === 'true') return true;
      if (s === 'false') return false;
      throw new Error(`${name}: write true or false`);
    case 'dict': {
      let v;
      try {
        v = JSON.parse(s);
      } catch {
        throw new Error(`${name}: not valid JSON`);
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${name}: must be a JSON object`);
      return v;
    }
    default:
      return s;
  }
}

/**
 * readParams reads a Try-it form into the parameter dictionary. Empty
 * optional inputs are left out; lists are comma-separated. Returns
 * {params, problems}; problems name each input that cannot be sent.
 */
export function readParams(form) {
  const params = {};
  const problems = [];
  for (const input of form.querySelectorAll('[data-param]')) {
    const name = input.dataset.param;
    const type = input.dataset.type;
    const list = input.dataset.list === 'true';
    const required = input.dataset.required === 'true';
    if (input.type === 'checkbox') {
      params[name] = input.checked;
      continue;
    }
    if (input.tagName === 'SELECT' && input.multiple) {
      const vals = [...input.selectedOptions].map((o) => o.value);
      if (vals.length > 0) params[name] = vals;
      else if (required) problems.push(`${name}: choose at least one value`);
      continue;
    }
    const raw = input.value.trim();
    if (raw === '') {
      if (required) problems.push(`${name} is required`);
      continue;
    }
    try {
      params[name] = list
        ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => convert(type, s, name))
        : convert(type, raw, name);
    } catch (e) {
      problems.push(e.message);
    }
  }
  return { params, problems };
}

/**
 * readRows reads the rows textarea of a publish form (data-publish="true")
 * into the msg of a publish, [{rows: [...]}] (PROTOCOL 7, appendix 12): a
 * non-empty JSON array of row objects. Returns {msg, problems}; msg is null
 * when there are problems.
 */
export function readRows(form) {
  const input = form.querySelector('[data-rows]');
  const problems = [];
  if (!input) return { msg: null, problems: ['this form has no rows input'] };
  let rows;
  try {
    rows = JSON.parse(input.value, (key, value, context) => {
      if (typeof value === 'number' && !Number.isSafeInteger(value) && context &&
          typeof context.source === 'string' && /^-?\d+$/.test(context.source)) {
        problems.push(`${key}: ${context.source} is too large for this form; use the command line (qconnect publish)`);
      }
      return value;
    });
  } catch (e) {
    return { msg: null, problems: [`rows: not valid JSON (${e.message})`] };
  }
  if (!Array.isArray(rows)) {
    problems.push('rows: write a JSON array of row objects, [{"column": value, ...}, ...]');
  } else if (rows.length === 0) {
    problems.push('rows: add at least one row object');
  } else {
    rows.forEach((r, i) => {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) problems.push(`rows[${i}]: must be an object of column → value`);
    });
  }
  return problems.length ? { msg: null, problems } : { msg: [{ rows }], problems };
}

// ---- HTTP ----

async function readBounded(res, limit) {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw new CallError('tooLarge', `the answer is larger than ${limit / 1048576} MiB; narrow the query or use the command line (qconnect call ... --format csv)`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

// post sends one envelope and resolves to {status, envelope}; it rejects
// with a CallError when no Connect envelope came back.
async function post(path, body, auth) {
  const headers = { 'Content-Type': CONTENT_TYPE, Accept: 'application/json' };
  if (auth) headers.Authorization = auth;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), CALL_TIMEOUT_MS);
  try {
    const res = await fetch(path, {
      method: 'POST', headers, body, credentials: 'omit', cache: 'no-store', redirect: 'error', signal: ctl.signal,
    });
    const text = await readBounded(res, MAX_RESPONSE_BYTES);
    let envelope;
    try {
      envelope = JSON.parse(text, reviver);
    } catch {
      envelope = null;
    }
    if (!envelope || typeof envelope !== 'object' || typeof envelope.success !== 'boolean') {
      throw new CallError('notConnect', `HTTP ${res.status}: the answer is not a Connect envelope; is this a qconnect server?`, [], res.status);
    }
    return { status: res.status, envelope };
  } catch (e) {
    if (e instanceof CallError) throw e;
    if (e.name === 'AbortError') {
      throw new CallError('timeout', `no answer within ${CALL_TIMEOUT_MS / 1000} s; narrow the query or use the command line`);
    }
    throw new CallError('network', `the server could not be reached (${e.message}); check that it is running`);
  } finally {
    clearTimeout(timer);
  }
}

function wireError(out) {
  const e = out.envelope.error || {};
  return new CallError(e.code || 'unknown', e.message || 'the call failed without an error message', e.details, out.status);
}

// ---- session: the id is kept only here, never in storage, cookies or URLs ----

let session = null; // {username, id}

async function login(username, password) {
  const body = JSON.stringify({ type: 'LoginReq', id: crypto.randomUUID(), date: new Date().toUTCString(), msg: [{ username, password }] });
  const out = await post(LOGIN_PATH, body, null);
  if (!out.envelope.success) throw wireError(out);
  const m = Array.isArray(out.envelope.msg) ? out.envelope.msg[0] : null;
  if (!m || typeof m.sessionId !== 'string') throw new CallError('notConnect', 'the login answer holds no sessionId');
  // The signature uses the username exactly as given at login.
  session = { username, id: m.sessionId };
  return { username, expires: m.expires };
}

async function callSigned(path, type, msg) {
  if (!session) throw new CallError('notLoggedIn', 'log in above first');
  const date = new Date().toUTCString();
  const body = JSON.stringify({ type, id: crypto.randomUUID(), date, msg });
  const s = await sign({ verb: 'POST', path, username: session.username, body, contentType: CONTENT_TYPE, date }, session.id);
  return post(path, body, s.authorization);
}

// ---- page ----

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const $ = (sel) => document.querySelector(sel);

function setStatus(text, isError) {
  const s = $('#login-status');
  s.textContent = text;
  s.classList.toggle('is-error', Boolean(isError));
}

function updateSessionUI(info) {
  const on = session !== null;
  $('#login-form').hidden = on;
  $('#session').hidden = !on;
  $('#session-user').textContent = on ? session.username : '';
  document.body.classList.toggle('signed-in', on);
  for (const b of document.querySelectorAll('form.try button.call')) b.disabled = !on;
  if (on && info && info.expires) setStatus(`Session expires ${info.expires}.`);
}

function renderError(box, err) {
  const details = (err.details || []).map((d) => el('li', null, d));
  box.replaceChildren(el('div', { class: 'error', role: 'alert' },
    el('div', null,
      el('span', { class: 'error-code' }, err.code || 'error'),
      err.status ? el('span', { class: 'error-status' }, ` HTTP ${err.status}`) : null),
    el('div', { class: 'error-message' }, err.message),
    details.length ? el('ul', { class: 'error-details' }, ...details) : null));
}

function renderRows(box, out, method, elapsed) {
  const env = out.envelope;
  const meta = env.meta || {};
  const rows = Array.isArray(env.msg) ? env.msg : [];
  const columns = Array.isArray(meta.columns) ? meta.columns.map((c) => c.name) : Object.keys(rows[0] || {});
  const n = typeof meta.rowCount === 'number' ? meta.rowCount : rows.length;
  const summary = `${n} ${n === 1 ? 'row' : 'rows'}${meta.truncated ? ' (truncated)' : ''}`;
  const timing = typeof meta.elapsedMs === 'number' ? ` · ${meta.elapsedMs} ms on the server, ${Math.round(elapsed)} ms in all` : '';
  const csv = el('button', { type: 'button', class: 'download-csv' }, 'Download CSV');
  csv.addEventListener('click', () => download(method.replace('/', '_') + '.csv', toCSV(columns, rows)));
  const head = el('tr', null, ...columns.map((c) => el('th', null, c)));
  const body = el('tbody');
  for (const r of rows.slice(0, MAX_TABLE_ROWS)) {
    body.append(el('tr', null, ...columns.map((c) => {
      const v = r[c];
      return el('td', v === null || v === undefined ? { class: 'null' } : null, v === null || v === undefined ? 'null' : textOf(v));
    })));
  }
  const parts = [el('div', { class: 'result-bar' },
    el('span', { class: 'result-summary' }, summary), el('span', { class: 'muted' }, timing), csv)];
  if (rows.length > MAX_TABLE_ROWS) {
    parts.push(el('p', { class: 'muted' }, `Showing the first ${MAX_TABLE_ROWS} rows; the CSV holds all ${rows.length}.`));
  }
  parts.push(el('div', { class: 'table-wrap result-wrap' }, el('table', { class: 'result-table' }, el('thead', null, head), body)));
  box.replaceChildren(...parts);
}

// renderPublished shows the answer of a publish, msg [{"rows": N}].
function renderPublished(box, out, elapsed) {
  const m = Array.isArray(out.envelope.msg) ? out.envelope.msg[0] : null;
  const n = m && typeof m.rows === 'number' ? m.rows : 0;
  box.replaceChildren(el('div', { class: 'result-bar' },
    el('span', { class: 'result-summary' }, `${n} ${n === 1 ? 'row' : 'rows'} published`),
    el('span', { class: 'muted' }, ` · ${Math.round(elapsed)} ms`)));
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60 * 1000);
}

function setupLogin() {
  $('#login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = $('#login-username');
    const pass = $('#login-password');
    const btn = $('#login-submit');
    if (!user.value || !pass.value) {
      setStatus('Enter a username and a password.', true);
      return;
    }
    btn.disabled = true;
    setStatus('Logging in…');
    try {
      const info = await login(user.value, pass.value);
      setStatus('');
      updateSessionUI(info);
    } catch (err) {
      setStatus(`${err.code}: ${err.message}`, true);
    } finally {
      pass.value = '';
      btn.disabled = false;
    }
  });
  $('#logout').addEventListener('click', async () => {
    try {
      await callSigned(LOGOUT_PATH, 'LogoutReq', []);
    } catch {
      // The session is forgotten here whatever the server says.
    }
    session = null;
    updateSessionUI();
    setStatus('Logged out.');
  });
}

function setupForms() {
  for (const form of document.querySelectorAll('form.try')) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const box = form.querySelector('.result');
      const btn = form.querySelector('button.call');
      const publish = form.dataset.publish === 'true';
      let msg;
      let problems;
      if (publish) {
        ({ msg, problems } = readRows(form));
      } else {
        let params;
        ({ params, problems } = readParams(form));
        msg = Object.keys(params).length ? [params] : [];
      }
      if (problems.length) {
        renderError(box, new CallError('form', 'fix these inputs first', problems));
        return;
      }
      btn.disabled = true;
      box.replaceChildren(el('p', { class: 'muted' }, publish ? 'Publishing…' : 'Calling…'));
      const t0 = performance.now();
      try {
        const out = await callSigned(form.dataset.path, form.dataset.type, msg);
        if (out.envelope.success && publish) {
          renderPublished(box, out, performance.now() - t0);
        } else if (out.envelope.success) {
          renderRows(box, out, form.dataset.method, performance.now() - t0);
        } else {
          const err = wireError(out);
          renderError(box, err);
          if (err.code === 'invalidSession') {
            session = null;
            updateSessionUI();
            setStatus('Your session has ended; log in again.', true);
          }
        }
      } catch (err) {
        renderError(box, err);
      } finally {
        btn.disabled = session === null;
      }
    });
  }
}

function setupCopy() {
  document.addEventListener('click', async (e) => {
    const btn = e.target.closest('button.copy');
    if (!btn) return;
    const pre = btn.parentElement.querySelector('pre');
    let label = 'Copied';
    try {
      await navigator.clipboard.writeText(pre.textContent);
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      label = 'Press Ctrl+C';
    }
    btn.textContent = label;
    setTimeout(() => { btn.textContent = 'Copy'; }, 1500);
  });
}

function setupFilter() {
  const input = $('#filter');
  input.addEventListener('input', () => {
    const q = input.value.trim().toLowerCase();
    const match = (node) => q === '' || node.dataset.search.includes(q);
    let any = false;
    for (const g of document.querySelectorAll('.toc-group')) {
      let shown = 0;
      for (const li of g.querySelectorAll('.toc-method')) {
        li.hidden = !match(li);
        if (!li.hidden) shown++;
      }
      g.hidden = shown === 0;
      any = any || shown > 0;
    }
    for (const s of document.querySelectorAll('section.group')) {
      let shown = 0;
      for (const a of s.querySelectorAll('article.method')) {
        a.hidden = !match(a);
        if (!a.hidden) shown++;
      }
      s.hidden = shown === 0;
    }
    $('#filter-empty').hidden = any;
  });
}

// prefillTimes sets time inputs relative to the browser's clock: end = now
// (to the minute), start = an hour before, day = today (UTC).
function prefillTimes() {
  const now = new Date();
  now.setUTCSeconds(0, 0);
  const iso = (d) => d.toISOString().replace('.000Z', 'Z');
  for (const input of document.querySelectorAll('input[data-relative]')) {
    const r = input.dataset.relative;
    if (r === 'end') input.value = iso(now);
    else if (r === 'start') input.value = iso(new Date(now.getTime() - 3600 * 1000));
    else if (r === 'day') input.value = iso(now).slice(0, 10);
  }
}

function init() {
  setupCopy();
  setupFilter();
  prefillTimes();
  if (!window.isSecureContext || !window.crypto || !crypto.subtle || !crypto.randomUUID) {
    setStatus('Try it needs HTTPS or localhost: the browser only offers WebCrypto (for the signature) in a secure context.', true);
    $('#login-submit').disabled = true;
    return;
  }
  setupLogin();
  setupForms();
  updateSessionUI();
}

// The signing functions, for scripts and tests. The session id is not exposed.
window.qconnect = Object.freeze({
  md5: (data) => md5Hex(typeof data === 'string' ? encoder.encode(data) : data),
  stringToSign,
  sign,
  authorization,
  toCSV,
  readParams,
  readRows,
  username: () => (session ? session.username : null),
});

init();
