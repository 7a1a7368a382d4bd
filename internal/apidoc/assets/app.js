// The docs page's script: login, the Try-it forms (calls, publishes and
// live subscriptions), result tables with charts, CSV download, copy buttons
// and the method filter. Every request goes through the JavaScript SDK
// (assets/sdk/, the npm package qconnect-client, served from clients/js):
// there is one implementation of signing in JavaScript. No framework, no
// inline script (the page's CSP forbids it), no storage: the session lives
// only in a variable of this module, and the SDK keeps its id private.

import * as sdk from './sdk/index.js';
import { ChartView, chartSpec, el } from './chart.js';

const MAX_TABLE_ROWS = 1000; // rows drawn on the page; the CSV holds them all
const MAX_LIVE_ROWS = 500; // rows kept in a live table (the chart keeps more)
const MAX_LIVE_CHART_ROWS = 5000;
const CALL_TIMEOUT_MS = 120 * 1000;
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024; // larger answers: use the command line

// ---- values ----

/** CallError is a failure to show: the SDK's error class (code, status, details). */
const CallError = sdk.QConnectError;

function textOf(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * toCSV writes RFC 4180 CSV for the Download CSV button. A file made to be
 * opened in a spreadsheet neutralises formulas by default (OWASP CSV
 * injection: a text cell beginning with = + - @ TAB or CR gets a leading '
 * and is quoted); {neutralize: false} writes the exact values. The HTTP API
 * always returns the exact data.
 */
export function toCSV(columns, rows, opts = {}) {
  return sdk.toCSV(columns, rows, { neutralize: opts.neutralize !== false });
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

// ---- session: the SDK's Session, kept only here (never in storage, cookies or URLs) ----

let session = null; // sdk.Session

// withTimeout runs fn(signal), aborting after CALL_TIMEOUT_MS.
async function withTimeout(fn) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), CALL_TIMEOUT_MS);
  try {
    return await fn(ctl.signal);
  } catch (e) {
    if (e instanceof CallError && e.code === 'aborted') {
      throw new CallError('timeout', `no answer within ${CALL_TIMEOUT_MS / 1000} s; narrow the query or use the command line`, { status: 0 });
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function login(username, password) {
  const s = await withTimeout((signal) => sdk.login('', username, password, { signal, maxResultBytes: MAX_RESPONSE_BYTES }));
  session = s;
  return { username, expires: s.expires };
}

function sessionEnded(err) {
  if (err && err.code === 'invalidSession') {
    session = null;
    updateSessionUI();
    setStatus('Your session has ended; log in again.', true);
  }
}

// ---- page ----

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

// cell is one table cell of a value.
function cell(v) {
  return el('td', v === null || v === undefined ? { class: 'null' } : null, v === null || v === undefined ? 'null' : textOf(v));
}

// csvControls is the Download CSV button with its opt-out of the formula guard.
function csvControls(method, columns, rowsOf) {
  const exact = el('input', { type: 'checkbox', class: 'csv-exact' });
  const label = el('label', { class: 'csv-exact-label', title: 'By default a text cell beginning with = + - @ or a tab is written as text (a leading \') so a spreadsheet cannot run it as a formula.' },
    exact, ' exact values (no formula guard)');
  const csv = el('button', { type: 'button', class: 'download-csv' }, 'Download CSV');
  csv.addEventListener('click', () => download(method.replace('/', '_') + '.csv', toCSV(columns, rowsOf(), { neutralize: !exact.checked })));
  return [label, csv];
}

// renderRows shows a result table (an sdk.Result), with a chart beside it
// when the result has a timestamp column and numeric columns.
function renderRows(box, result, method, elapsed) {
  const columns = result.columns.map((c) => c.name);
  const records = result.records();
  const n = result.rowCount;
  const summary = `${n} ${n === 1 ? 'row' : 'rows'}${result.truncated ? ' (truncated)' : ''}`;
  const timing = ` · ${result.elapsedMs} ms on the server, ${Math.round(elapsed)} ms in all`;
  const head = el('tr', null, ...columns.map((c) => el('th', null, c)));
  const body = el('tbody');
  for (const r of records.slice(0, MAX_TABLE_ROWS)) body.append(el('tr', null, ...columns.map((c) => cell(r[c]))));
  const parts = [el('div', { class: 'result-bar' },
    el('span', { class: 'result-summary' }, summary), el('span', { class: 'muted' }, timing), ...csvControls(method, columns, () => records))];
  if (records.length > MAX_TABLE_ROWS) {
    parts.push(el('p', { class: 'muted' }, `Showing the first ${MAX_TABLE_ROWS} rows; the CSV holds all ${records.length}.`));
  }
  const spec = records.length ? chartSpec(result.columns) : null;
  let chart = null;
  if (spec) {
    chart = new ChartView(result.columns, spec);
    parts.push(chart.node);
  }
  parts.push(el('div', { class: 'table-wrap result-wrap' }, el('table', { class: 'result-table' }, el('thead', null, head), body)));
  box.replaceChildren(...parts);
  if (chart) chart.setRows(records);
}

// renderPublished shows the answer of a publish: the number of rows stored.
function renderPublished(box, n, elapsed) {
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
    const s = session;
    session = null;
    for (const live of liveForms.values()) live.stop();
    try {
      if (s) await withTimeout((signal) => s.logout({ signal }));
    } catch {
      // The session is forgotten here whatever the server says.
    }
    updateSessionUI();
    setStatus('Logged out.');
  });
}

function readForm(form) {
  if (form.dataset.publish === 'true') return readRows(form);
  const { params, problems } = readParams(form);
  return { params, problems };
}

function setupForms() {
  for (const form of document.querySelectorAll('form.try')) {
    if (form.dataset.stream === 'true') {
      setupLive(form);
      continue;
    }
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const box = form.querySelector('.result');
      const btn = form.querySelector('button.call');
      const publish = form.dataset.publish === 'true';
      const { params, msg, problems } = readForm(form);
      if (problems.length) {
        renderError(box, new CallError('form', 'fix these inputs first', { status: 0, details: problems }));
        return;
      }
      if (!session) return;
      btn.disabled = true;
      box.replaceChildren(el('p', { class: 'muted' }, publish ? 'Publishing…' : 'Calling…'));
      const t0 = performance.now();
      const method = form.dataset.method;
      try {
        if (publish) {
          const n = await withTimeout((signal) => session.publish(method, msg[0].rows, { signal }));
          renderPublished(box, n, performance.now() - t0);
        } else {
          const result = await withTimeout((signal) => session.call(method, params, { signal }));
          renderRows(box, result, method, performance.now() - t0);
        }
      } catch (err) {
        renderError(box, err);
        sessionEnded(err);
      } finally {
        btn.disabled = session === null;
      }
    });
  }
}

// ---- live subscriptions (streaming methods) ----

const liveForms = new Map(); // form → {stop}

// setupLive makes a streaming method's form subscribe over /connect/ws with
// the SDK: the snapshot, then each update, is appended to the table and the
// chart, with the last seq shown, until Unsubscribe.
function setupLive(form) {
  const box = form.querySelector('.result');
  const btn = form.querySelector('button.call');
  const unsub = form.querySelector('button.unsubscribe');
  const method = form.dataset.method;
  let sub = null;
  const stop = () => {
    if (sub) sub.unsubscribe();
    sub = null;
    unsub.hidden = true;
    btn.disabled = session === null;
  };
  liveForms.set(form, { stop });
  unsub.addEventListener('click', () => {
    stop();
    const state = box.querySelector('.live-state');
    if (state) state.textContent = 'unsubscribed';
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const { params, problems } = readParams(form);
    if (problems.length) {
      renderError(box, new CallError('form', 'fix these inputs first', { status: 0, details: problems }));
      return;
    }
    if (!session) return;
    stop();
    btn.disabled = true;
    box.replaceChildren(el('p', { class: 'muted' }, 'Subscribing…'));
    const s = session;
    const mine = s.subscribe(method, params);
    sub = mine;
    let view = null;
    try {
      await mine.ready;
      unsub.hidden = false;
      for await (const m of mine) {
        if (sub !== mine) break;
        view ??= liveView(box, method, m.meta && Array.isArray(m.meta.columns) ? m.meta.columns : await s.columnsOf(method));
        view.add(m);
      }
    } catch (err) {
      if (sub === mine) {
        if (view) view.state(`ended: ${err.code}: ${err.message}`);
        else renderError(box, err);
        sessionEnded(err);
      }
    } finally {
      if (sub === mine) stop();
    }
  });
}

// liveView draws the live table and chart of a subscription and returns
// {add(message), state(text)}.
function liveView(box, method, columns) {
  const names = columns.map((c) => c.name);
  const seq = el('span', { class: 'live-seq' }, 'seq –');
  const count = el('span', { class: 'live-count' }, '0 rows');
  const state = el('span', { class: 'live-state muted' }, 'live');
  const rows = []; // every row received, up to MAX_LIVE_CHART_ROWS
  const body = el('tbody');
  const spec = chartSpec(columns);
  const chart = spec ? new ChartView(columns, spec) : null;
  let total = 0;
  const parts = [el('div', { class: 'result-bar' }, el('span', { class: 'result-summary live' }, count), seq, state,
    ...csvControls(method, names, () => rows))];
  if (chart) parts.push(chart.node);
  parts.push(el('div', { class: 'table-wrap result-wrap' },
    el('table', { class: 'result-table live-table' }, el('thead', null, el('tr', null, el('th', null, 'seq'), ...names.map((c) => el('th', null, c)))), body)));
  box.replaceChildren(...parts);
  return {
    add(m) {
      const label = m.type === 'snapshot' ? 'snapshot' : String(m.seq);
      for (const r of m.rows) {
        body.append(el('tr', { class: m.type === 'snapshot' ? 'snapshot' : 'update' }, el('td', { class: 'seq' }, label), ...names.map((c) => cell(r[c]))));
        rows.push(r);
      }
      while (body.rows.length > MAX_LIVE_ROWS) body.deleteRow(0);
      if (rows.length > MAX_LIVE_CHART_ROWS) rows.splice(0, rows.length - MAX_LIVE_CHART_ROWS);
      total += m.rows.length;
      count.textContent = `${total} ${total === 1 ? 'row' : 'rows'}`;
      if (m.type === 'update') seq.textContent = `seq ${m.seq}`;
      if (chart) chart.setRows(rows);
    },
    state(text) {
      state.textContent = text;
    },
  };
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

// The SDK's signing functions and the page's helpers, for scripts and tests.
// The session id is not exposed.
window.qconnect = Object.freeze({
  sdk,
  md5: sdk.md5,
  stringToSign: sdk.stringToSign,
  sign: sdk.sign,
  authorization: sdk.authorization,
  toCSV,
  readParams,
  readRows,
  username: () => (session ? session.username : null),
});

init();
