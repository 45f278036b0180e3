// Renders scenario results as text, JSON or a minimal HTML page. Only virtual-time data goes in, so the
// bytes depend on scenario, inputs and seed alone (I10); wall-clock speed is reported by the CLI on stderr.
import type { RunResult, Scenario } from '../scenarios/scenario.js';
import { profileResult } from './contract.js';
import type { TimelinePoint } from './timeline.js';

function ms(x: number): string {
  return `${(x / 1000).toFixed(3)} s`;
}

export function renderText(s: Scenario, results: readonly RunResult[]): string {
  const lines: string[] = [];
  lines.push(`scenario ${s.name} — ${s.story}`);
  const first = results[0];
  if (first !== undefined) {
    lines.push(`seed ${first.seed}`);
    lines.push('inputs (as given; --inputs lists their meanings):');
    for (const [k, v] of Object.entries(first.inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`  ${k.padEnd(32)} ${String(v)}`);
  }
  for (const r of results) {
    lines.push('');
    lines.push(`== gateway: ${r.gateway} · variant: ${r.variant} ==`);
    lines.push(`virtual time ${ms(r.virtualMs)}, ${r.events} events`);
    lines.push('outcomes:');
    for (const [k, v] of Object.entries(r.outcomes)) lines.push(`  ${k.padEnd(32)} ${v}`);
    lines.push('limits (earliest first):');
    if (r.limits.length === 0) lines.push('  none');
    for (const l of r.limits) lines.push(`  ${ms(l.firstAtMs).padStart(10)}  ${l.limit} ×${l.count}`);
    lines.push('metrics:');
    for (const [k, v] of Object.entries(r.metrics)) lines.push(`  ${k.padEnd(32)} ${v}`);
    const p = profileResult(r);
    lines.push(`first limit to bind: ${p.firstLimit === null ? 'none' : `${p.boundBy ?? '(not an input)'} at ${ms(p.firstLimit.atMs)}`}`);
    if (r.timeline !== undefined && r.timeline.length > 0) {
      lines.push('timeline (connected now, attempts so far, failures so far by kind):');
      for (const pt of thin(r.timeline, 12)) {
        const f = Object.entries(pt.failures).map(([k, v]) => `${k} ${v}`).join(', ');
        lines.push(`  ${ms(pt.atMs).padStart(10)}  connected ${String(pt.connected).padStart(7)}  attempts ${String(pt.attempts).padStart(7)}${f === '' ? '' : `  ${f}`}`);
      }
    }
    lines.push('diagnosis:');
    for (const d of r.diagnosis) lines.push(`  - ${d}`);
  }
  if (results.length > 1) {
    lines.push('');
    lines.push('== what-if: each run side by side (attempted, peak connected, failures, first limit) ==');
    for (const r of results) {
      const p = profileResult(r);
      const f = Object.entries(p.failures).map(([k, v]) => `${k} ${v}`).join(', ');
      lines.push(`  ${`${r.gateway} · ${r.variant}`.padEnd(48)} attempted ${p.attempted}, connected ${p.connected}, failures ${f === '' ? 'none' : f}, bound by ${p.boundBy ?? 'none'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** At most `n` points, evenly spaced, always keeping the last. */
function thin(points: readonly TimelinePoint[], n: number): TimelinePoint[] {
  if (points.length <= n) return [...points];
  const out: TimelinePoint[] = [];
  for (let i = 0; i < n - 1; i++) out.push(points[Math.floor((i * (points.length - 1)) / (n - 1))] as TimelinePoint);
  out.push(points[points.length - 1] as TimelinePoint);
  return out;
}
