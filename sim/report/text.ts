// Renders scenario results as text, JSON or a minimal HTML page. Only virtual-time data goes in, so the
// bytes depend on scenario, inputs and seed alone (I10); wall-clock speed is reported by the CLI on stderr.
import type { RunResult, Scenario } from '../scenarios/scenario.js';
import { profileResult } from './contract.js';
import { type Changed, deltas, failedTotal, fmt, verdictLines } from './verdict.js';
import type { TimelinePoint } from './timeline.js';

function ms(x: number): string {
  return `${(x / 1000).toFixed(3)} s`;
}

/**
 * The text report: the verdict (one screen, sim/report/verdict.ts), then every variant side by side with
 * what it changes against its gateway's as-given run, then the details of each run.
 */
export function renderText(s: Scenario, results: readonly RunResult[], changed: Readonly<Record<string, Changed>> = {}): string {
  const lines: string[] = [...verdictLines(s, results, changed)];
  if (results.length > 1) {
    lines.push('');
    lines.push(...sideBySide(results));
  }
  lines.push('');
  lines.push(`== details: scenario ${s.name} — ${s.story}`);
  const first = results[0];
  if (first !== undefined) {
    lines.push(`seed ${first.seed}`);
    lines.push(`inputs (${Object.keys(changed).length === 0 ? "the story's" : "the story's, what-ifs marked old → new"}; --inputs lists their meanings):`);
    const base = results.find((r) => r.variant === 'as given') ?? first;
    for (const [k, v] of Object.entries(base.inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const c = changed[k];
      lines.push(`  ${k.padEnd(32)} ${c === undefined ? String(v) : `${String(c.from)} → ${String(c.to)}  (what-if, --set)`}`);
    }
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
    lines.push(`attempts: ${r.attempts.total} (opened ${r.attempts.ok}), failed by kind: ${kindList(r.attempts.failures)}; peak connected ${r.peakConnected}`);
    if (r.users !== null) lines.push(`users: ${r.users.total} (connected at the end ${r.users.ok}), not connected by kind: ${kindList(r.users.failures)}`);
    if (r.timeline !== undefined && r.timeline.length > 0) {
      lines.push('timeline (connected now, attempts so far, failures so far by kind):');
      for (const pt of thin(r.timeline, 12)) {
        const f = Object.entries(pt.failures)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        lines.push(
          `  ${ms(pt.atMs).padStart(10)}  connected ${String(pt.connected).padStart(7)}  attempts ${String(pt.attempts).padStart(7)}${f === '' ? '' : `  ${f}`}`,
        );
      }
    }
    lines.push('diagnosis:');
    for (const d of r.diagnosis) lines.push(`  - ${d}`);
  }
  return `${lines.join('\n')}\n`;
}

function kindList(f: Readonly<Record<string, number>>): string {
  const parts = Object.entries(f).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** One aligned row per run: the as-given figures in full, a variant's as deltas against its gateway's as-given run. */
function sideBySide(results: readonly RunResult[]): string[] {
  const rows: string[][] = [['run', 'peak connected', 'failed attempts', 'first limit', 'what else changed']];
  for (const r of results) {
    const base = results.find((x) => x.gateway === r.gateway && x.variant === 'as given');
    const failed = failedTotal(r.attempts);
    const name = `${r.gateway} · ${r.variant}`;
    const limit = r.limits[0]?.key ?? (r.limits[0] === undefined ? 'none' : '(not an input)');
    if (base === undefined || base === r) {
      rows.push([name, fmt(r.peakConnected), fmt(failed), limit, '']);
      continue;
    }
    const bf = failedTotal(base.attempts);
    const dp = r.peakConnected - base.peakConnected;
    const df = failed - bf;
    const other = deltas(base, r, 3).filter((d) => !d.startsWith('peak connected') && !d.startsWith('failed attempts'));
    const baseLimit = base.limits[0]?.key ?? (base.limits[0] === undefined ? 'none' : '(not an input)');
    rows.push([
      `  ${name}`,
      dp === 0 ? '=' : `${dp > 0 ? '+' : '−'}${fmt(Math.abs(dp))}`,
      df === 0 ? '=' : `${df > 0 ? '+' : '−'}${fmt(Math.abs(df))}`,
      limit === baseLimit ? '=' : limit,
      other.join('; '),
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const out = ['== variants side by side (a fix shows only what it changes against its gateway as given; = unchanged) =='];
  for (const row of rows)
    out.push(
      row
        .map((c, i) => (i === 0 || i >= 3 ? c.padEnd(w[i]!) : c.padStart(w[i]!)))
        .join('  ')
        .trimEnd(),
    );
  return out;
}

/** At most `n` points, evenly spaced, always keeping the last. */
function thin(points: readonly TimelinePoint[], n: number): TimelinePoint[] {
  if (points.length <= n) return [...points];
  const out: TimelinePoint[] = [];
  for (let i = 0; i < n - 1; i++) out.push(points[Math.floor((i * (points.length - 1)) / (n - 1))] as TimelinePoint);
  out.push(points[points.length - 1] as TimelinePoint);
  return out;
}
