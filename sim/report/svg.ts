// Small, pure helpers for the HTML report's inline SVG charts: escaping, fixed-precision numbers (so the
// bytes never depend on float printing quirks), axis ticks and element builders. No DOM, no scripts.

export function esc(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A coordinate with at most one decimal ("12.5", "3"). */
export function n1(x: number): string {
  const r = Math.round(x * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/** 1234567 → "1,234,567" without locale tables (byte-stable everywhere). */
export function thousands(x: number): string {
  const s = String(Math.round(Math.abs(x)));
  const out = s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return x < 0 ? `-${out}` : out;
}

/** Virtual milliseconds as seconds: "9.082 s" (three decimals, as the text report). */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** A tick step of 1, 2 or 5 × 10^k giving about `count` ticks over [0, max]. */
export function niceStep(max: number, count: number): number {
  if (!(max > 0)) return 1;
  const raw = max / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

export function ticks(max: number, count: number): number[] {
  const step = niceStep(max, count);
  const out: number[] = [];
  for (let i = 0; i * step <= max * (1 + 1e-9); i++) out.push(Math.round(i * step * 1e6) / 1e6);
  return out;
}

/** Attributes from a record, in insertion order, escaped. */
function attrs(a: Readonly<Record<string, string | number>>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${esc(typeof v === 'number' ? n1(v) : v)}"`)
    .join('');
}

export function el(tag: string, a: Readonly<Record<string, string | number>>, body?: string): string {
  return body === undefined ? `<${tag}${attrs(a)}/>` : `<${tag}${attrs(a)}>${body}</${tag}>`;
}

export function text(x: number, y: number, t: string, a: Readonly<Record<string, string | number>> = {}): string {
  return el('text', { x, y, ...a }, esc(t));
}

/** A polyline as a path `d` through points already in pixel space. */
export function pathD(points: readonly (readonly [number, number])[]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${n1(x)} ${n1(y)}`).join(' ');
}

/** An `<svg class="chart">` with a title for screen readers and the chart kind in `data-chart`. */
export function svg(kind: string, id: string, width: number, height: number, title: string, body: string): string {
  return (
    `<svg class="chart" data-chart="${esc(kind)}" id="${esc(id)}" xmlns="http://www.w3.org/2000/svg" ` +
    `viewBox="0 0 ${n1(width)} ${n1(height)}" width="${n1(width)}" height="${n1(height)}" role="img">` +
    `<title>${esc(title)}</title>${body}</svg>`
  );
}

/** Fixed palettes: successes green, failure kinds warm-to-cool in order of first appearance. */
export const OK_COLOUR = '#2f9e44';
export const FAILURE_COLOURS = ['#e8590c', '#c92a2a', '#9c36b5', '#1971c2', '#f08c00', '#5c940d', '#0c8599', '#862e9c', '#a61e4d'];
/** Attempts: a dashed near-black line, unlike every failure colour. */
export const ATTEMPTS_COLOUR = '#212529';
