// `--html FILE`: one self-contained page per scenario run set — inline CSS and inline SVG, no scripts, no
// external fetches. Pure: the bytes depend on the scenario and the results only (no dates, no wall time),
// so the same run gives the same file (I10). Chart elements carry stable hooks for tests and readers:
// `svg.chart[data-chart="outcomes"|"limits"|"timeline"]`, ids `chart-<kind>-<gateway>-<variant-slug>`.
import type { GatewayKind, RunResult, Scenario } from '../scenarios/scenario.js';
import { type Changed, verdictLines } from './verdict.js';
import { ATTEMPTS_COLOUR, el, esc, FAILURE_COLOURS, n1, OK_COLOUR, pathD, secs, svg, text, thousands, ticks } from './svg.js';

const WIDTH = 480;
const GATEWAY_TITLE: Record<GatewayKind, string> = { story: "The story's gateway", ours: 'Our gateway' };

/** "ok", "open+got-start", "users:open" are successes; everything else is a failure or an unfinished state. */
export function isSuccess(kind: string): boolean {
  if (/fail|error|timeout|refus|reset|E[A-Z]{3,}/i.test(kind)) return false;
  return /(^|[:\s])(ok|open|connected|delivered)(\b|$)/i.test(kind);
}

function slug(t: string): string {
  const s = t
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return s === '' ? 'x' : s;
}

function clip(t: string, max: number): string {
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

// ---- timeline (optional field; another change adds it to RunResult) ----

export interface TimelinePoint {
  readonly atMs: number;
  readonly connected: number;
  readonly attempts: number;
  readonly failures: Readonly<Record<string, number>>;
}

function numField(o: Record<string, unknown>, keys: readonly string[]): number | undefined {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

/**
 * Reads `result.timeline` whatever its exact shape turns out to be: an array of samples, or an object
 * holding one (`points`/`samples`), or parallel arrays keyed by series. Each sample: a time
 * (`atMs`/`tMs`/`timeMs`/`t`), `connected`, `attempts`, and failures as a number or a record by kind.
 * Returns [] when there is nothing chartable.
 */
export function timelineOf(r: RunResult): TimelinePoint[] {
  const raw = (r as unknown as { timeline?: unknown }).timeline;
  if (raw === undefined || raw === null) return [];
  let samples: unknown = raw;
  if (!Array.isArray(samples) && typeof samples === 'object') {
    const o = samples as Record<string, unknown>;
    samples = o['points'] ?? o['samples'] ?? o['buckets'] ?? fromColumns(o);
  }
  if (!Array.isArray(samples)) return [];
  const out: TimelinePoint[] = [];
  for (const s of samples) {
    if (typeof s !== 'object' || s === null) continue;
    const o = s as Record<string, unknown>;
    const atMs = numField(o, ['atMs', 'tMs', 'timeMs', 'ms', 't', 'at']);
    if (atMs === undefined) continue;
    const f = o['failures'] ?? o['failuresByKind'] ?? o['failed'];
    const failures: Record<string, number> = {};
    if (typeof f === 'number') failures['failures'] = f;
    else if (typeof f === 'object' && f !== null) {
      for (const [k, v] of Object.entries(f as Record<string, unknown>)) if (typeof v === 'number') failures[k] = v;
    }
    out.push({ atMs, connected: numField(o, ['connected', 'open', 'sessions']) ?? 0, attempts: numField(o, ['attempts']) ?? 0, failures });
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** `{ atMs: [...], connected: [...], ... }` → samples. */
function fromColumns(o: Record<string, unknown>): unknown {
  const times = o['atMs'] ?? o['tMs'] ?? o['timeMs'] ?? o['t'];
  if (!Array.isArray(times)) return undefined;
  return times.map((t, i) => {
    const row: Record<string, unknown> = { atMs: t };
    for (const [k, v] of Object.entries(o)) {
      if (Array.isArray(v)) row[k] = v[i];
      else if (typeof v === 'object' && v !== null && k.startsWith('fail')) {
        const byKind: Record<string, unknown> = {};
        for (const [kind, col] of Object.entries(v as Record<string, unknown>)) if (Array.isArray(col)) byKind[kind] = col[i];
        row['failures'] = byKind;
      }
    }
    return row;
  });
}

// ---- charts ----

type Colours = ReadonlyMap<string, string>;

function colourOf(colours: Colours, kind: string): string {
  return isSuccess(kind) ? OK_COLOUR : (colours.get(kind) ?? '#868e96');
}

/** Horizontal bars, one per outcome kind; `max` shared with the other gateway's card so lengths compare. */
function outcomesChart(id: string, r: RunResult, max: number, colours: Colours): string {
  const entries = Object.entries(r.outcomes);
  const row = 24;
  const labelW = 210;
  const barW = WIDTH - labelW - 70;
  const h = Math.max(1, entries.length) * row + 8;
  const parts: string[] = [];
  entries.forEach(([kind, count], i) => {
    const y = 4 + i * row;
    const w = max > 0 ? Math.max(count > 0 ? 2 : 0, (count / max) * barW) : 0;
    parts.push(text(labelW - 8, y + 15, clip(kind, 32), { class: 'label', 'text-anchor': 'end' }));
    parts.push(
      el(
        'rect',
        { class: isSuccess(kind) ? 'bar ok' : 'bar fail', x: labelW, y: y + 3, width: w, height: row - 8, rx: 2, fill: colourOf(colours, kind) },
        `<title>${esc(`${kind}: ${thousands(count)}`)}</title>`,
      ),
    );
    parts.push(text(labelW + w + 6, y + 15, thousands(count), { class: 'value' }));
  });
  if (entries.length === 0) parts.push(text(8, 18, 'no outcomes recorded', { class: 'muted' }));
  return svg('outcomes', id, WIDTH, h, `Outcomes, ${r.gateway} gateway, ${r.variant}`, parts.join(''));
}

function timeAxis(x0: number, x1: number, y: number, spanMs: number): string {
  const parts = [el('line', { class: 'axis', x1: x0, y1: y, x2: x1, y2: y })];
  for (const t of ticks(spanMs / 1000, 6)) {
    const x = x0 + ((t * 1000) / spanMs) * (x1 - x0);
    parts.push(el('line', { class: 'tick', x1: x, y1: y, x2: x, y2: y + 4 }));
    parts.push(text(x, y + 15, `${n1(t)} s`, { class: 'tick-label', 'text-anchor': 'middle' }));
  }
  return parts.join('');
}

/** A generous width per character of an 11 px label (≈ 6 px on average): what the label placement budgets. */
const LABEL_CHAR_PX = 6.5;
const LABEL_LINE_PX = 13;

/** Words into lines of at most `max` characters (a longer word gets a line of its own, split). */
export function wrapWords(t: string, max: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of t.split(' ')) {
    for (let w = word; w.length > 0; w = w.slice(max)) {
      const part = w.slice(0, max);
      if (cur === '') cur = part;
      else if (cur.length + 1 + part.length <= max) cur = `${cur} ${part}`;
      else {
        lines.push(cur);
        cur = part;
      }
    }
  }
  if (cur !== '') lines.push(cur);
  return lines;
}

/**
 * Each limit that bound: a marker at the virtual time it first bound, on the run's time axis. Its label is
 * the whole limit, wrapped to the plot's width and placed beside the marker on whichever side it fits, so
 * no label leaves the viewBox or loses its words.
 */
function limitsChart(id: string, r: RunResult, spanMs: number): string {
  const x0 = 12;
  const x1 = WIDTH - 12;
  const row = 26;
  const top = 8;
  const maxChars = Math.floor((x1 - x0) / LABEL_CHAR_PX);
  const rows = r.limits.map((l, i) => {
    const lines = wrapWords(`${secs(l.firstAtMs)} · ${l.limit} ×${thousands(l.count)}`, maxChars);
    return { l, i, lines };
  });
  const ys: number[] = [];
  let y = top;
  for (const x of rows) {
    ys.push(y + 12);
    y += row + (x.lines.length - 1) * LABEL_LINE_PX;
  }
  const axisY = (rows.length === 0 ? top + row : y) + 4;
  const parts: string[] = [];
  if (rows.length === 0) parts.push(text(x0, top + 16, 'no limit bound in this run', { class: 'muted' }));
  for (const { l, i, lines } of rows) {
    const my = ys[i] as number;
    const x = x0 + (Math.min(l.firstAtMs, spanMs) / spanMs) * (x1 - x0);
    parts.push(el('line', { class: 'guide', x1: x, y1: my, x2: x, y2: axisY }));
    parts.push(
      el(
        'rect',
        { class: 'marker', x: x - 5, y: my - 5, width: 10, height: 10, transform: `rotate(45 ${n1(x)} ${n1(my)})` },
        `<title>${esc(`${secs(l.firstAtMs)} ${l.limit} ×${l.count}`)}</title>`,
      ),
    );
    const w = Math.max(...lines.map((t) => t.length)) * LABEL_CHAR_PX;
    const right = x + 10 + w <= x1 || x - 10 - w < x0;
    const tx = right ? Math.max(x0, Math.min(x + 10, x1 - w)) : x - 10;
    lines.forEach((t, k) => parts.push(text(tx, my + 4 + k * LABEL_LINE_PX, t, { class: 'label limit-label', 'text-anchor': right ? 'start' : 'end' })));
  }
  parts.push(timeAxis(x0, x1, axisY, spanMs));
  return svg('limits', id, WIDTH, axisY + 22, `Limits over virtual time, ${r.gateway} gateway, ${r.variant}`, parts.join(''));
}

/** Connected, attempts and failures by kind over virtual time, with the limits as vertical marks. */
function timelineChart(id: string, r: RunResult, points: readonly TimelinePoint[], spanMs: number, colours: Colours, yShared: number): string {
  const x0 = 48;
  const x1 = WIDTH - 10;
  const yTop = 10;
  const yBot = 170;
  const kinds = [...new Set(points.flatMap((p) => Object.keys(p.failures)))];
  // One y-scale for the panels a variant compares side by side (yShared), so equal heights mean equal counts.
  const yMax = Math.max(1, yShared);
  const X = (t: number): number => x0 + (Math.min(t, spanMs) / spanMs) * (x1 - x0);
  const Y = (v: number): number => yBot - (v / yMax) * (yBot - yTop);
  const parts: string[] = [];
  for (const v of ticks(yMax, 4)) {
    parts.push(el('line', { class: 'grid', x1: x0, y1: Y(v), x2: x1, y2: Y(v) }));
    parts.push(text(x0 - 6, Y(v) + 4, thousands(v), { class: 'tick-label', 'text-anchor': 'end' }));
  }
  for (const l of r.limits)
    parts.push(
      el(
        'line',
        { class: 'limit-mark', x1: X(l.firstAtMs), y1: yTop, x2: X(l.firstAtMs), y2: yBot },
        `<title>${esc(`${secs(l.firstAtMs)} ${l.limit}`)}</title>`,
      ),
    );
  const series: { name: string; colour: string; cls: string; values: number[] }[] = [
    { name: 'connected', colour: OK_COLOUR, cls: 'line connected', values: points.map((p) => p.connected) },
    { name: 'attempts', colour: ATTEMPTS_COLOUR, cls: 'line attempts', values: points.map((p) => p.attempts) },
    ...kinds.map((k) => ({ name: k, colour: colours.get(k) ?? '#c92a2a', cls: 'line failures', values: points.map((p) => p.failures[k] ?? 0) })),
  ];
  for (const s of series) {
    // Points past the zoomed span are left out (the axis shows where the action is, see zoomSpanMs).
    const pts = points.filter((p) => p.atMs <= spanMs).map((p) => [X(p.atMs), Y(s.values[points.indexOf(p)] ?? 0)] as const);
    parts.push(
      el(
        'path',
        { class: s.cls, d: pathD(pts), stroke: s.colour, ...(s.name === 'attempts' ? { 'stroke-dasharray': '4 3' } : {}) },
        `<title>${esc(s.name)}</title>`,
      ),
    );
  }
  parts.push(timeAxis(x0, x1, yBot, spanMs));
  let lx = x0;
  let ly = yBot + 36;
  for (const s of series) {
    // ≈ 7 px per character at 11 px (upper-case kinds are wide), plus the swatch and a gap.
    const w = 30 + Math.min(30, s.name.length) * 7;
    if (lx + w > x1) {
      lx = x0;
      ly += 16;
    }
    parts.push(el('rect', { x: lx, y: ly - 8, width: 12, height: 4, fill: s.colour }));
    parts.push(text(lx + 16, ly - 3, clip(s.name, 30), { class: 'legend' }));
    lx += w;
  }
  return svg('timeline', id, WIDTH, ly + 8, `Timeline, ${r.gateway} gateway, ${r.variant}`, parts.join(''));
}

// ---- page ----

const CSS = `
:root{--fg:#212529;--muted:#6c757d;--line:#dee2e6;--bg:#f8f9fa;--ok:${OK_COLOUR};--bad:#c92a2a}
*{box-sizing:border-box}
.verdict{border-left:4px solid var(--fg);padding:4px 16px;margin:16px 0;background:var(--bg)}
.verdict ul{margin:4px 0;padding-left:18px}
.inputs .changed{background:#fff3bf}
.inputs del{color:var(--muted)}
.inputs ins{text-decoration:none;font-weight:600}
body{margin:0;padding:24px 32px 48px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:0 0 2px}h4{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:14px 0 4px}
.story{color:var(--muted);margin:0 0 12px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.inputs{columns:2 320px;column-gap:32px;font-size:12.5px}.inputs div{break-inside:avoid;display:flex;justify-content:space-between;border-bottom:1px dotted var(--line);padding:1px 0}
.inputs code{color:var(--muted)}
.summary td.ok{color:var(--ok)}.summary td.bad{color:var(--bad)}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(${WIDTH + 34}px,1fr));gap:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:14px 16px;background:#fff}
.card.missing{background:var(--bg);color:var(--muted)}
.meta{color:var(--muted);font-size:12.5px;margin:0 0 4px}
.overrides code{background:var(--bg);padding:0 4px;border-radius:3px}
ul.diagnosis{margin:4px 0 0;padding-left:18px}ul.diagnosis li{margin:3px 0}
ol.limits{margin:4px 0 0;padding-left:18px;font-size:13px}
details{margin-top:8px;font-size:12.5px}summary{cursor:pointer;color:var(--muted)}
svg.chart{display:block;max-width:100%;height:auto;font-size:11px}
svg .label,svg .value,svg .legend{fill:var(--fg)}svg .muted{fill:var(--muted)}
svg .tick-label{fill:var(--muted);font-size:10px}svg .axis,svg .tick{stroke:#adb5bd}svg .grid{stroke:#f1f3f5}
svg .guide{stroke:#ced4da;stroke-dasharray:2 3}svg .marker{fill:#e8590c}
svg .line{fill:none;stroke-width:1.8}svg .line.attempts{stroke-dasharray:4 3}svg .limit-mark{stroke:#e8590c;stroke-dasharray:3 3}
footer{margin-top:32px;color:var(--muted);font-size:12px}
`;

function inputsBlock(r: RunResult | undefined, changed: Readonly<Record<string, Changed>>): string {
  if (r === undefined) return '';
  const rows = Object.entries(r.inputs).map(([k, v]) => {
    const c = changed[k];
    return c === undefined
      ? `<div><code>${esc(k)}</code><span>${esc(String(v))}</span></div>`
      : `<div class="changed"><code>${esc(k)}</code><span><del>${esc(String(c.from))}</del> → <ins>${esc(String(c.to))}</ins> (what-if)</span></div>`;
  });
  return `<h2>Inputs</h2><div class="inputs" id="inputs">${rows.join('')}</div>`;
}

/** The text report's first screen, the same lines (sim/report/verdict.ts). */
function verdictBlock(s: Scenario, results: readonly RunResult[], changed: Readonly<Record<string, Changed>>): string {
  const lines = verdictLines(s, results, changed);
  return `<section class="verdict" id="verdict"><h2>Verdict</h2><ul>${lines
    .slice(1)
    .map((l) => `<li>${esc(l.trim())}</li>`)
    .join('')}</ul></section>`;
}

/** Inputs a variant changed relative to the gateway's "as given" run. */
function overrides(r: RunResult, base: RunResult | undefined): string[] {
  if (base === undefined || base === r) return [];
  return Object.keys(r.inputs)
    .filter((k) => r.inputs[k] !== base.inputs[k])
    .map((k) => `${k}=${String(r.inputs[k])}`);
}

/** The same counts as the text report's side-by-side table: peak, attempts and their failures, users, first limit. */
function summaryTable(results: readonly RunResult[]): string {
  const rows = results.map((r) => {
    const failed = Object.values(r.attempts.failures).reduce((n, v) => n + v, 0);
    const kinds = Object.entries(r.attempts.failures)
      .map(([k, v]) => `${k} ${thousands(v)}`)
      .join(', ');
    const first = r.limits[0];
    return (
      `<tr><td>${esc(r.gateway)}</td><td>${esc(r.variant)}</td><td class="num ok">${thousands(r.peakConnected)}</td><td class="num">${thousands(r.attempts.total)}</td>` +
      `<td class="num${failed > 0 ? ' bad' : ''}">${thousands(failed)}</td><td>${esc(kinds === '' ? '—' : kinds)}</td>` +
      `<td class="num">${r.users === null ? '—' : `${thousands(r.users.ok)} of ${thousands(r.users.total)}`}</td>` +
      `<td>${first === undefined ? '—' : `${esc(first.key ?? first.limit)} at ${esc(secs(first.firstAtMs))}`}</td></tr>`
    );
  });
  return (
    '<h2>At a glance</h2><table class="summary" id="summary"><thead><tr><th>gateway</th><th>variant</th><th>peak connected</th><th>attempts</th>' +
    `<th>failed attempts</th><th>by kind</th><th>users connected at the end</th><th>first limit</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    '<p class="meta">Counted as in the text report: attempts are connection attempts (a retrying client makes several), users each user\'s final outcome where the scenario tracks users.</p>'
  );
}

/**
 * The time span worth plotting for a variant's runs: up to the last change of any plotted series or the
 * last limit, plus a tenth, never past the longest run. A 180 s run whose ramp ends at 10 s shows ~11 s.
 */
export function zoomSpanMs(runs: readonly RunResult[]): number {
  const full = Math.max(1, ...runs.map((r) => r.virtualMs));
  let last = 0;
  for (const r of runs) {
    const pts = timelineOf(r);
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1] as TimelinePoint;
      const b = pts[i] as TimelinePoint;
      if (a.connected !== b.connected || a.attempts !== b.attempts || JSON.stringify(a.failures) !== JSON.stringify(b.failures)) last = Math.max(last, b.atMs);
    }
    for (const l of r.limits) last = Math.max(last, l.firstAtMs);
  }
  return last <= 0 ? full : Math.min(full, Math.max(1000, Math.ceil((last * 1.1) / 1000) * 1000));
}

/** Latency metrics (…LatencyP50Ms, …P99Ms) per run, where a variant changes them: one bar chart, one x-scale. */
function latencyChart(results: readonly RunResult[]): string {
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.metrics).filter((k) => /Latency(P50|P99)Ms$/.test(k))))].sort();
  const varying = keys.filter((k) => new Set(results.filter((r) => r.metrics[k] !== undefined).map((r) => r.metrics[k])).size > 1);
  if (varying.length === 0) return '';
  const rows = results.flatMap((r) =>
    varying.filter((k) => r.metrics[k] !== undefined).map((k) => ({ label: `${r.gateway} · ${r.variant} · ${k}`, v: r.metrics[k] as number })),
  );
  const max = Math.max(1e-9, ...rows.map((x) => x.v));
  const labelW = 330;
  const barW = 900 - labelW - 90;
  const row = 20;
  const parts: string[] = [];
  rows.forEach((x, i) => {
    const y = 4 + i * row;
    const w = Math.max(x.v > 0 ? 2 : 0, (x.v / max) * barW);
    parts.push(text(labelW - 8, y + 13, clip(x.label, 56), { class: 'label', 'text-anchor': 'end' }));
    parts.push(
      el(
        'rect',
        { class: 'bar', x: labelW, y: y + 3, width: w, height: row - 6, rx: 2, fill: /P99/.test(x.label) ? '#c92a2a' : '#1971c2' },
        `<title>${esc(`${x.label}: ${x.v} ms`)}</title>`,
      ),
    );
    parts.push(text(labelW + w + 6, y + 13, `${x.v} ms`, { class: 'value' }));
  });
  return `<h2>Latency by run</h2><p class="meta">Shown because a variant changes it (blue p50, red p99; one scale).</p>${svg('latency', 'chart-latency', 900, rows.length * row + 8, 'Latency by run', parts.join(''))}`;
}

function card(r: RunResult, base: RunResult | undefined, outcomeMax: number, spanMs: number, colours: Colours, yShared: number): string {
  const key = `${r.gateway}-${slug(r.variant)}`;
  const ov = overrides(r, base);
  const tl = timelineOf(r);
  const parts: string[] = [];
  parts.push(`<div class="card" data-gateway="${esc(r.gateway)}" data-variant="${esc(r.variant)}">`);
  parts.push(`<h3>${esc(GATEWAY_TITLE[r.gateway])}</h3>`);
  parts.push(`<p class="meta">virtual time ${secs(r.virtualMs)} · ${thousands(r.events)} events</p>`);
  if (ov.length > 0) parts.push(`<p class="meta overrides">changes: ${ov.map((o) => `<code>${esc(o)}</code>`).join(' ')}</p>`);
  parts.push('<h4>Outcomes</h4>', outcomesChart(`chart-outcomes-${key}`, r, outcomeMax, colours));
  if (tl.length > 0) {
    const zoomed = spanMs < r.virtualMs ? ` — the first ${secs(spanMs)} of ${secs(r.virtualMs)}; nothing plotted changes after` : '';
    parts.push(`<h4>Over time${esc(zoomed)}</h4>`, timelineChart(`chart-timeline-${key}`, r, tl, spanMs, colours, yShared));
  }
  parts.push('<h4>Limits that bound</h4>', limitsChart(`chart-limits-${key}`, r, spanMs));
  if (r.limits.length > 0) {
    parts.push(`<ol class="limits">${r.limits.map((l) => `<li><b>${secs(l.firstAtMs)}</b> ${esc(l.limit)} ×${thousands(l.count)}</li>`).join('')}</ol>`);
  }
  parts.push(`<h4>Diagnosis</h4><ul class="diagnosis">${r.diagnosis.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>`);
  const metrics = Object.entries(r.metrics).map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${esc(String(v))}</td></tr>`);
  parts.push(`<details><summary>metrics (${metrics.length})</summary><table>${metrics.join('')}</table></details>`);
  parts.push('</div>');
  return parts.join('\n');
}

export function renderHtml(s: Scenario, results: readonly RunResult[], changed: Readonly<Record<string, Changed>> = {}): string {
  const gateways = [...new Set(results.map((r) => r.gateway))];
  const variants = [...new Set(results.map((r) => r.variant))];
  const failureKinds: string[] = [];
  for (const r of results) {
    for (const k of Object.keys(r.outcomes)) if (!isSuccess(k) && !failureKinds.includes(k)) failureKinds.push(k);
    for (const p of timelineOf(r)) for (const k of Object.keys(p.failures)) if (!failureKinds.includes(k)) failureKinds.push(k);
  }
  const colours = new Map(failureKinds.map((k, i) => [k, FAILURE_COLOURS[i % FAILURE_COLOURS.length] as string]));
  const first = results[0];
  const out: string[] = [];
  out.push('<!doctype html>', '<html lang="en"><head><meta charset="utf-8">', '<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push(`<title>${esc(`odin lab — ${s.name}`)}</title>`, `<style>${CSS}</style>`, '</head><body>');
  out.push(`<header><h1>${esc(s.name)}</h1><p class="story">${esc(s.story)}</p>`);
  out.push(
    `<p class="meta">seed <b>${esc(first?.seed ?? '—')}</b> · ${results.length} run(s) · gateways: ${gateways.map((g) => esc(g)).join(', ') || '—'} · virtual time only (the same inputs and seed give the same page)</p></header>`,
  );
  out.push(verdictBlock(s, results, changed));
  out.push(summaryTable(results));
  out.push(latencyChart(results));
  out.push(inputsBlock(results.find((r) => r.variant === 'as given') ?? first, changed));
  for (const v of variants) {
    const runs = results.filter((r) => r.variant === v);
    const outcomeMax = Math.max(0, ...runs.flatMap((r) => Object.values(r.outcomes)));
    const spanMs = zoomSpanMs(runs);
    const yShared = Math.max(1, ...runs.flatMap((r) => timelineOf(r).map((p) => Math.max(p.connected, p.attempts, ...Object.values(p.failures)))));
    out.push(`<section class="variant" id="variant-${esc(slug(v))}"><h2>Variant: ${esc(v)}</h2><div class="pair">`);
    for (const g of gateways) {
      const r = runs.find((x) => x.gateway === g);
      const base = results.find((x) => x.gateway === g && x.variant === 'as given');
      out.push(
        r === undefined
          ? `<div class="card missing"><h3>${esc(GATEWAY_TITLE[g])}</h3><p>Not run for this variant (the story's fixes mostly do not apply to ours).</p></div>`
          : card(r, base, outcomeMax, spanMs, colours, yShared),
      );
    }
    out.push('</div></section>');
  }
  out.push(
    `<footer>odin laboratory · scenario ${esc(s.name)} · ${results.reduce((n, r) => n + r.events, 0)} simulated events · generated from virtual time only</footer>`,
  );
  out.push('</body></html>', '');
  return out.join('\n');
}
