// The report shape of the end-to-end benches (inside BenchReport.extra) and the Markdown helpers that
// turn it into benchmarks/RESULTS.md sections. Every e2e figure is ours beside the naive hub's from the
// same run, with the machine's load average at the start and the end.
import { machine, type BenchReport } from '../lib/report.js';
import { cpuSample, otherCores, type CpuSample } from './other-work.js';
import { loadNow, type LoadAverage } from './rig.js';

/** Where /proc/stat is missing: above this 1-minute load average per core, figures are marked as taken under load. */
export const QUIET_LOAD_PER_CORE = 1;
/** Above this share of the machine's cores used by other work during a bench, its figures are marked as taken under load. */
export const QUIET_OTHER_SHARE = 0.25;

export interface E2eExtra {
  readonly kind: 'e2e';
  readonly load: { readonly start: LoadAverage; readonly end: LoadAverage };
  /** Cores other work used on average during the bench (src: other-work.ts); null off Linux. */
  readonly otherCores?: number | null;
  readonly underLoad: boolean;
  /** Lines for the terminal summary (run.ts prints extra.summary). */
  readonly summary: readonly string[];
  readonly settings: Readonly<Record<string, unknown>>;
  readonly odinSet: readonly string[];
  readonly figures: unknown;
}

export interface E2eClock {
  readonly started: number;
  readonly load: LoadAverage;
  readonly cpu: CpuSample | null;
}

export function startClock(): E2eClock {
  return { started: performance.now(), load: loadNow(), cpu: cpuSample() };
}

/** Other work above a quarter of the cores; without /proc, a 1-minute load average above the core count. */
export function takenUnderLoad(other: number | null, load: readonly LoadAverage[], cores: number): boolean {
  if (other !== null) return other > QUIET_OTHER_SHARE * cores;
  return Math.max(...load.map((l) => l.one)) > QUIET_LOAD_PER_CORE * cores;
}

export function e2eReport(
  name: string,
  title: string,
  clock: E2eClock,
  parts: {
    summary: readonly string[];
    settings: Record<string, unknown>;
    odinSet: readonly string[];
    figures: unknown;
    notes: readonly string[];
    oursIs: string;
    baselineIs: string;
  },
): BenchReport {
  const m = machine();
  const end = loadNow();
  const cpuEnd = cpuSample();
  const other = clock.cpu !== null && cpuEnd !== null ? otherCores(clock.cpu, cpuEnd) : null;
  const extra: E2eExtra = {
    kind: 'e2e',
    load: { start: clock.load, end },
    otherCores: other,
    underLoad: takenUnderLoad(other, [clock.load, end], m.cores),
    summary: parts.summary,
    settings: parts.settings,
    odinSet: parts.odinSet,
    figures: parts.figures,
  };
  return {
    name,
    title,
    baselineIs: parts.baselineIs,
    oursIs: parts.oursIs,
    machine: { ...m, loadAverage1m: clock.load.one },
    comparisons: [],
    extra,
    notes: parts.notes,
    durationMs: Math.round(performance.now() - clock.started),
  };
}

export function isE2e(report: BenchReport): report is BenchReport & { extra: E2eExtra } {
  return (report.extra as { kind?: unknown } | undefined)?.kind === 'e2e';
}

export const n = (v: number): string => Math.round(v).toLocaleString('en-US');
export const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
export const ratio = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '—');

export function table(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** The line under each section title: when, how loaded, how long. */
export function measuredLine(report: BenchReport & { extra: E2eExtra }): string {
  const l = report.extra.load;
  const flag = report.extra.underLoad ? ' — **taken under load** (other work shared the cores; re-run on a quiet machine for figures to quote)' : '';
  const other = report.extra.otherCores;
  const others = other === undefined || other === null ? '' : ` · other work ${other.toFixed(2)} cores`;
  const set = report.extra.odinSet.length > 0 ? ` · odin settings: \`${report.extra.odinSet.join(' ')}\`` : '';
  return `Measured ${report.machine.date.slice(0, 16).replace('T', ' ')} UTC in ${(report.durationMs / 1000).toFixed(0)} s · load average ${l.start.one} → ${l.end.one} (1 min)${others} on ${report.machine.cores} cores${flag}${set}.`;
}
