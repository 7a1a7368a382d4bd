// Charts of results and live streams, drawn with uPlot (assets/vendor/uplot,
// loaded on first use). A result with a timestamp column and numeric
// columns gets lines, one per symbol, of a measure the user picks; a bars
// result (open, high, low, close) gets candles of one symbol.

const NUMERIC = new Set(['long', 'int', 'short', 'float', 'real']);
const SYMBOLIC = new Set(['symbol', 'string', 'char']);
const OHLC = ['open', 'high', 'low', 'close'];
const MAX_POINTS = 20000; // rows drawn; the table and the CSV keep them all
const COLOURS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#475569', '#ea580c'];

let uPlotModule = null;
function loadUPlot() {
  uPlotModule ??= import('./vendor/uplot/uPlot.esm.js').then((m) => m.default);
  return uPlotModule;
}

/**
 * chartSpec says how to chart a table, or returns null when it has no
 * timestamp column or no numeric column.
 * @param {{name: string, type: string}[]} columns
 */
export function chartSpec(columns) {
  const time = columns.find((c) => c.type === 'timestamp');
  const measures = columns.filter((c) => NUMERIC.has(c.type)).map((c) => c.name);
  if (!time || measures.length === 0) return null;
  const sym = columns.find((c) => SYMBOLIC.has(c.type) && c.name !== time.name);
  const candles = OHLC.every((n) => measures.includes(n));
  return { time: time.name, sym: sym ? sym.name : null, measures, candles };
}

/** el makes an element with attributes ("class" sets className) and children (nulls skipped). */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function seconds(ts) {
  return Date.parse(ts) / 1000; // milliseconds are enough for a chart
}

function num(v) {
  if (v === null || v === undefined) return null;
  return typeof v === 'bigint' ? Number(v) : v;
}

// candles draws OHLC candles: a wick from low to high and a body from open to
// close, green when the close is at or above the open.
function candlesPlugin() {
  return {
    hooks: {
      draw: [(u) => {
        const [xs, open, high, low, close] = u.data;
        if (!xs.length) return;
        const ctx = u.ctx;
        const px = devicePixelRatio || 1;
        const step = xs.length > 1 ? Math.abs(u.valToPos(xs[1], 'x', true) - u.valToPos(xs[0], 'x', true)) : 10 * px;
        const body = Math.max(px, Math.min(step * 0.7, 14 * px));
        ctx.save();
        for (let i = 0; i < xs.length; i++) {
          if (open[i] === null || close[i] === null || high[i] === null || low[i] === null) continue;
          const x = u.valToPos(xs[i], 'x', true);
          const yo = u.valToPos(open[i], 'y', true);
          const yc = u.valToPos(close[i], 'y', true);
          const yh = u.valToPos(high[i], 'y', true);
          const yl = u.valToPos(low[i], 'y', true);
          ctx.fillStyle = close[i] >= open[i] ? '#059669' : '#dc2626';
          ctx.fillRect(Math.round(x - px / 2), yh, px, Math.max(px, yl - yh));
          ctx.fillRect(Math.round(x - body / 2), Math.min(yo, yc), body, Math.max(px, Math.abs(yc - yo)));
        }
        ctx.restore();
      }],
    },
  };
}

/**
 * ChartView is a chart beside a result table. setRows redraws it from row
 * objects (the whole table, or the live buffer of a subscription); the
 * chart is rebuilt when its series change (a new symbol, another measure).
 */
export class ChartView {
  constructor(columns, spec) {
    this.spec = spec;
    this.rows = [];
    this.measure = spec.candles ? 'close' : spec.measures[0];
    this.symbol = null; // candles: the symbol shown
    this.plot = null;
    this.key = '';
    this.box = el('div', { class: 'chart-plot' });
    this.select = el('select', { class: 'chart-select', 'aria-label': spec.candles ? 'Symbol' : 'Measure' });
    this.select.addEventListener('change', () => {
      if (this.spec.candles) this.symbol = this.select.value;
      else this.measure = this.select.value;
      this.draw();
    });
    const caption = spec.candles ? 'Candles of' : 'Lines per symbol of';
    this.node = el('figure', { class: 'chart', 'data-kind': spec.candles ? 'candles' : 'lines', 'data-series': '0' },
      el('figcaption', { class: 'chart-bar' }, el('span', { class: 'muted' }, caption + ' '), this.select), this.box);
    if (!spec.candles) this.setOptions(spec.measures, this.measure);
  }

  setOptions(values, selected) {
    const have = [...this.select.options].map((o) => o.value).join('\u0000');
    if (have !== values.join('\u0000')) this.select.replaceChildren(...values.map((v) => el('option', { value: v }, v)));
    this.select.value = selected;
  }

  setRows(rows) {
    this.rows = rows;
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }
  }

  // series computes the x values and one y array per series.
  series() {
    const { time, sym, candles } = this.spec;
    const rows = this.rows.length > MAX_POINTS ? this.rows.slice(-MAX_POINTS) : this.rows;
    if (candles) {
      const syms = sym ? [...new Set(rows.map((r) => String(r[sym])))] : [];
      if (sym) {
        if (!syms.includes(this.symbol)) this.symbol = syms[0] ?? null;
        this.setOptions(syms, this.symbol ?? '');
      }
      const mine = sym ? rows.filter((r) => String(r[sym]) === this.symbol) : rows;
      mine.sort((a, b) => seconds(a[time]) - seconds(b[time]));
      return {
        names: OHLC, labels: OHLC,
        data: [mine.map((r) => seconds(r[time])), ...OHLC.map((n) => mine.map((r) => num(r[n])))],
        drawn: this.symbol === null && sym ? 0 : 1,
      };
    }
    const m = this.measure;
    const groups = new Map();
    for (const r of rows) {
      const g = sym ? String(r[sym]) : m;
      if (!groups.has(g)) groups.set(g, new Map());
      groups.get(g).set(seconds(r[time]), num(r[m]));
    }
    const names = [...groups.keys()].sort();
    const xs = [...new Set(rows.map((r) => seconds(r[time])))].sort((a, b) => a - b);
    return { names, labels: names, data: [xs, ...names.map((g) => xs.map((x) => groups.get(g).get(x) ?? null))], drawn: names.length };
  }

  async draw() {
    const uPlot = await loadUPlot();
    const s = this.series();
    const key = (this.spec.candles ? 'c:' + this.symbol : 'l:' + this.measure) + '|' + s.names.join('\u0000');
    const width = Math.max(320, Math.min(this.node.parentElement ? this.node.parentElement.clientWidth - 24 : 640, 900));
    if (!this.plot || key !== this.key) {
      if (this.plot) this.plot.destroy();
      this.key = key;
      const series = [{ label: 'time (UTC)' }];
      s.labels.forEach((label, i) => {
        series.push(this.spec.candles
          ? { label, stroke: '#94a3b8', paths: () => null, points: { show: false } }
          : { label, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true, points: { show: false } });
      });
      this.plot = new uPlot({
        width, height: 260, series, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
        scales: { x: { time: true } }, legend: { live: true },
        axes: [{}, { label: this.spec.candles ? this.symbol ?? '' : this.measure, size: 60 }],
        plugins: this.spec.candles ? [candlesPlugin()] : [],
      }, s.data, this.box);
    } else {
      this.plot.setData(s.data);
    }
    this.node.dataset.series = String(s.drawn);
    this.node.dataset.points = String(s.data[0].length);
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }
}
