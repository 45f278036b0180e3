// How a load run reads, in the conventions of k6 and Artillery: a line every few seconds while it runs
// (what happened in that interval), then a summary of the whole run with dotted labels, latency as
// p50/p90/p95/p99/p99.9/max, and failures by kind. `--json` prints the same figures as one document.
import type { LatencySummary } from './histogram.js';
import type { Counts } from './messages.js';
import type { PhaseResult } from './phases.js';
import type { Snapshot } from './session.js';

export interface LoadReport {
  readonly target: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly settings: {
    readonly connections: number;
    readonly workers: number;
    readonly sourceAddresses: number;
    readonly rampPerSecond: number;
    readonly holdMs: number;
    readonly channels: number;
    readonly channelsPerConnection: number;
    readonly publish: string;
    readonly ratePerSecond: number;
    readonly sizeBytes: number;
    readonly bursts: number;
    readonly burstEvents: number;
    readonly sampleEvery: number;
  };
  readonly connections: {
    readonly attempted: number;
    readonly opened: number;
    readonly subscribed: number;
    /** Open at the end of the hold, before the tool closed them. */
    readonly heldAtEnd: number;
    readonly failures: Readonly<Record<string, number>>;
    readonly drops: Readonly<Record<string, number>>;
    readonly rampMs: number;
  };
  readonly connectLatency: LatencySummary;
  readonly phases: readonly PhaseResult[];
  /** Over every phase. */
  readonly latency: LatencySummary;
  readonly events: {
    readonly delivered: number;
    readonly expected: number;
    readonly control: Readonly<Record<string, number>>;
    readonly clippedSamples: number;
  };
  /** Set when the run was cut short (SIGINT, a worker failure): what happened until then. */
  readonly interrupted: string | null;
}

const n = (v: number): string => Math.round(v).toLocaleString('en-US');
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function kinds(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).filter(([, v]) => v > 0);
  if (entries.length === 0) return 'none';
  return entries
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(' · ');
}

export function latencyLine(l: LatencySummary): string {
  if (l.count === 0) return 'no samples';
  return `p50=${ms(l.p50Ms)}ms p90=${ms(l.p90Ms)}ms p95=${ms(l.p95Ms)}ms p99=${ms(l.p99Ms)}ms p99.9=${ms(l.p999Ms)}ms max=${ms(l.maxMs)}ms (${n(l.count)} samples)`;
}

const total = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** One line for the interval between two snapshots (k6's and Artillery's periodic report). */
export function intervalLine(previous: Snapshot, now: Snapshot, latency: LatencySummary): string {
  const seconds = Math.max(0.001, (now.elapsedMs - previous.elapsedMs) / 1000);
  const c: Counts = now.counts;
  const events = (c.events - previous.counts.events) / seconds;
  const newFailures = total(c.failures) - total(previous.counts.failures);
  const drops = total(c.drops);
  const t = `${(now.elapsedMs / 1000).toFixed(0)}s`.padStart(6);
  const parts = [
    `${t}  open ${n(c.open)}/${n(now.planned)}`,
    `+${n((c.opened - previous.counts.opened) / seconds)}/s`,
    `failed ${n(total(c.failures))}${newFailures > 0 ? ` (+${n(newFailures)}: ${kinds(c.failures)})` : ''}`,
    `drops ${n(drops)}`,
    `events ${n(events)}/s`,
  ];
  if (latency.count > 0) parts.push(`p50 ${ms(latency.p50Ms)} p99 ${ms(latency.p99Ms)} max ${ms(latency.maxMs)} ms`);
  return parts.join(' · ');
}

function row(label: string, value: string): string {
  return `  ${`${label} `.padEnd(28, '.')} ${value}`;
}

export function summaryText(r: LoadReport): string {
  const s = r.settings;
  const c = r.connections;
  const lines = [
    '',
    `odin load — ${r.target}${r.interrupted !== null ? ` (interrupted: ${r.interrupted})` : ''}`,
    `  ${n(s.connections)} connections over ${s.workers} worker process${s.workers === 1 ? '' : 'es'} and ${s.sourceAddresses} source address${s.sourceAddresses === 1 ? '' : 'es'} · ramp ${s.rampPerSecond > 0 ? `${n(s.rampPerSecond)}/s` : 'unpaced'} · ${s.channels} channel${s.channels === 1 ? '' : 's'}, ${s.channelsPerConnection} per connection`,
    '',
    row(
      'connections',
      `${n(c.attempted)} attempted · ${n(c.opened)} upgraded · ${n(c.subscribed)} subscribed · ${n(total(c.failures))} failed · ${n(c.heldAtEnd)} held at the end`,
    ),
    row('ramp', `${(c.rampMs / 1000).toFixed(1)} s`),
    row('connect (TCP + Upgrade)', latencyLine(r.connectLatency)),
    row('failures', kinds(c.failures)),
    row('unexpected drops', `${n(total(c.drops))}${total(c.drops) > 0 ? ` (${kinds(c.drops)})` : ''}`),
  ];
  for (const [i, p] of r.phases.entries()) {
    const label = p.kind === 'burst' ? `burst ${i + 1} (${n(p.target)} events)` : `hold (${n(p.target)}/s for ${(p.publishMs / 1000).toFixed(0)} s)`;
    const pub = `${n(p.published.ok)} of ${n(p.published.sent)} published accepted${p.published.skipped > 0 ? ` · ${n(p.published.skipped)} skipped (publisher at its in-flight bound)` : ''}${(p.published.retried ?? 0) > 0 ? ` · ${n(p.published.retried)} sent again (the server had closed an idle connection)` : ''}${total(p.published.failures) > 0 ? ` · failed ${kinds(p.published.failures)}` : ''}`;
    lines.push(row(label, pub));
    const delivered = `${n(p.delivered)} of ${n(p.expected)} expected deliveries${p.expected > 0 ? ` (${((p.delivered / p.expected) * 100).toFixed(2)}%)` : ''} · ${n(p.deliveriesPerSecond)}/s`;
    lines.push(
      row('  delivered', `${delivered}${p.drainMs !== null && p.expected > 0 ? ` · all in ${ms(p.drainMs)} ms` : p.expected > 0 ? ' · incomplete' : ''}`),
    );
    if (p.latency.count > 0) lines.push(row('  publish→deliver', latencyLine(p.latency)));
  }
  lines.push(row('publish→deliver (all)', `${latencyLine(r.latency)}${s.sampleEvery > 1 ? `, on 1 connection in ${s.sampleEvery}` : ''}`));
  lines.push(row('events', `${n(r.events.delivered)} delivered of ${n(r.events.expected)} expected`));
  const notices = Object.entries(r.events.control).filter(([k]) => !['welcome', 'subscribed', 'pong'].includes(k));
  lines.push(row('server notices', notices.length === 0 ? 'none' : kinds(Object.fromEntries(notices))));
  if (r.events.clippedSamples > 0) lines.push(row('clipped samples', `${n(r.events.clippedSamples)} above 60 s`));
  lines.push(row('duration', `${(r.durationMs / 1000).toFixed(1)} s`));
  return lines.join('\n');
}
