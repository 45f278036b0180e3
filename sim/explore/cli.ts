// `npm run sim -- --explore --runs N --seed S [--bug NAME] [--kinds k1,k2] [--reruns N (minimiser budget)]`
// `npm run sim -- --replay SEED [--bug NAME] [--schedule file.json] [--kinds k1,k2]`
//
// `--explore --help` prints the flags and the table's columns (EXPLORE_USAGE).
//
// Explore: runs seeds S.0 … S.(N−1), one aligned table row each (stdout holds virtual-time facts only, so it is
// byte-stable; wall time goes to stderr). At the first violation it minimises the fault schedule, prints
// the seed, the invariant, the schedule one fault per line and the replay commands, and exits 1.
// Replay: one run of SEED — its own generated schedule, or the given one — with the same output.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runGuarded } from '../engine/determinism-guard.js';
import { BUGS, type BugName, isBug } from './bugs.js';
import { formatViolation } from './checks.js';
import { minimise } from './minimise.js';
import { exploreSeeds, type ExploreRun, type RunConfig, runOnce, scheduleFor } from './run.js';
import { defaultScheduleLimits, FAULT_KINDS, type FaultKind, formatSchedule, parseSchedule } from './schedule.js';

export interface ExploreIo {
  out(text: string): void;
  err(text: string): void;
  /** Wall-clock milliseconds, read outside the guarded runs only. */
  wallMs(): number;
  /** Reads a schedule file (--schedule); the one place the explorer touches the file system. */
  readText(path: string): string;
}

interface ExploreArgs {
  mode: 'explore' | 'replay' | 'help';
  seed: string;
  runs: number;
  bug: BugName | null;
  schedule: string | null;
  kinds: FaultKind[];
  /** Rerun budget of the minimiser. */
  reruns: number;
}

/** True when argv asks for the explorer (sim/cli.ts hands such argv here). */
export function wantsExplore(argv: readonly string[]): boolean {
  return argv.includes('--explore') || argv.includes('--replay');
}

const OPTIONS = {
  explore: { type: 'boolean', default: false },
  replay: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
  seed: { type: 'string' },
  runs: { type: 'string', default: '10' },
  bug: { type: 'string' },
  reruns: { type: 'string', default: '40' },
  schedule: { type: 'string' },
  kinds: { type: 'string' },
} satisfies ParseArgsConfig['options'];

function parse(argv: readonly string[]): ExploreArgs {
  const { values: v } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
  const runs = Number(v.runs);
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error('--runs expects a positive integer');
  const reruns = Number(v.reruns);
  if (!(Number.isInteger(reruns) && reruns >= 0)) throw new Error('--reruns expects a non-negative integer');
  if (v.bug !== undefined && !isBug(v.bug)) throw new Error(`--bug must be one of: ${BUGS.join(', ')}`);
  const kinds = v.kinds === undefined ? [...FAULT_KINDS] : v.kinds.split(',').filter((k) => k !== '');
  for (const k of kinds)
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`--kinds: unknown fault kind ${JSON.stringify(k)}; kinds: ${FAULT_KINDS.join(', ')}`);
  return {
    mode: v.help ? 'help' : v.replay === undefined ? 'explore' : 'replay',
    // --replay SEED names the seed; --seed is the explorer's first seed.
    seed: v.replay ?? v.seed ?? '1',
    runs,
    bug: v.bug ?? null,
    schedule: v.schedule ?? null,
    kinds: kinds as FaultKind[],
    reruns,
  };
}

export const EXPLORE_USAGE = `usage: npm run sim -- --explore [--runs N] [--seed S] [--bug NAME] [--kinds k1,k2] [--reruns N]
       npm run sim -- --replay SEED [--bug NAME] [--kinds k1,k2] [--schedule file.json]
  --explore          run seeds S.0 … S.(N−1), each with a generated fault schedule; stop at the first violation
  --runs N           how many seeds (default 10)
  --seed S           the first seed's prefix (default 1)
  --replay SEED      one run of SEED: its own schedule, or --schedule's
  --schedule FILE    a fault schedule (the JSON list a failing run prints)
  --bug NAME         plant a known bug to show the explorer finds it: ${BUGS.join(', ')}
  --kinds k1,k2      fault kinds to draw from (default all): ${FAULT_KINDS.join(', ')}
  --reruns N         the minimiser's rerun budget (default 40)
  --help             this text
One table row per run. Columns: run; seed; faults in its schedule; healed (s, virtual) when the last fault
ended; end (s) when the run stopped; acks (publishes the broker acknowledged); what the robots' apps saw,
summed over subscriptions — events, gaps (announced holes), resets (recovered:false), positions (offsets
handed over); sim events; trace (hash of every client-visible event); verdict (ok, or FAIL and the invariant).
Below the table, what each fault kind in the runs is expected to cause: gaps and resets there are by design.
`;

/** What each fault kind should make the apps see (docs/lab.md, "Explorer"): gaps and resets that are not bugs. */
const FAULT_EXPECTED: Readonly<Record<FaultKind, string>> = {
  'latency-spike': 'deliveries arrive late; no gap or reset expected',
  'loss-burst': 'lost segments cost one retransmission timeout each; no gap or reset expected',
  'partition-broker':
    'the gateway reports not ready and resumes from its sequence; a resume asked meanwhile fails as unavailable (a reset), events past retention become gaps',
  'partition-clients': 'held packets; clients may reconnect and resume — a reset (history_expired, too_many) where the history no longer covers them',
  'broker-restart': 'like an outage with history kept: resumes asked meanwhile fail as unavailable (resets), events past retention become gaps',
  'broker-restart-new-epoch': 'a new, empty stream: every subscription gets a reset (recovered:false) — resets expected',
  'gateway-restart': 'every client reconnects and resumes from history: positions re-sent, a reset where the history no longer covers a client',
  'slow-reader': "the robot's backlog outgrows its queue: gap notices for that robot (explicit, replayable)",
  'stalled-reader': 'the stalled robot is shed and resumes later: gaps or resets for that robot only',
  'reconnect-storm': 'the robots reconnect together and resume: positions re-sent, resets only if a resume is refused (too_many)',
};

const COLUMNS = ['run', 'seed', 'faults', 'healed s', 'end s', 'acks', 'events', 'gaps', 'resets', 'positions', 'sim events', 'trace', 'verdict'] as const;
const WIDTHS = [9, 10, 6, 8, 7, 7, 8, 6, 6, 9, 10, 14, 0];

function row(cells: readonly string[]): string {
  // Text columns (run, seed, trace, verdict) left-aligned, numbers right-aligned.
  return `${cells
    .map((c, i) => (i === 0 || i === 1 || i >= 11 ? c.padEnd(WIDTHS[i] ?? 0) : c.padStart(WIDTHS[i] ?? 0)))
    .join('  ')
    .trimEnd()}\n`;
}

const HEADER = row(COLUMNS);

function runLine(label: string, r: ExploreRun): string {
  const t = r.trace;
  const verdict = r.violation === undefined ? 'ok' : `FAIL ${r.violation.invariant}`;
  // What the apps saw, summed over robots and subscriptions: how hard the faults bit.
  const seen = { e: 0, g: 0, r: 0, s: 0 };
  for (const robot of t.robots) for (const sub of robot.subs) for (const x of sub.seen) seen[x[0]]++;
  return row([
    label,
    r.seed,
    String(r.faults.length),
    (t.healedByMs / 1000).toFixed(1),
    (t.endMs / 1000).toFixed(1),
    String(t.acks.length),
    String(seen.e),
    String(seen.g),
    String(seen.r),
    String(seen.s),
    String(t.events),
    r.hash,
    verdict,
  ]);
}

function expectedLines(runs: readonly ExploreRun[]): string {
  const kinds = [...new Set(runs.flatMap((r) => r.faults.map((f) => f.kind)))].sort();
  if (kinds.length === 0) return '';
  return `expected from the faults above:\n${kinds.map((k) => `  ${k}: ${FAULT_EXPECTED[k]}\n`).join('')}`;
}

function replayCommand(seed: string, args: ExploreArgs, withSchedule: boolean): string {
  const bug = args.bug === null ? '' : ` --bug ${args.bug}`;
  const kinds = args.kinds.length === FAULT_KINDS.length ? '' : ` --kinds ${args.kinds.join(',')}`;
  return `npm run sim -- --replay ${seed}${bug}${kinds}${withSchedule ? ' --schedule schedule.json' : ''}`;
}

function report(io: ExploreIo, r: ExploreRun): void {
  const v = r.violation;
  if (v === undefined) return;
  io.out(`violation: ${formatViolation(v)}\n`);
  const more = r.check.safety.length + r.check.liveness.length - 1;
  if (more > 0) io.out(`  (+${more} more: ${r.check.safety.length} safety, ${r.check.liveness.length} liveness in all)\n`);
}

/** Returns the exit code: 0 no violation, 1 a violation, 2 a usage error. */
export function exploreMain(argv: readonly string[], io: ExploreIo): number {
  let args: ExploreArgs;
  try {
    args = parse(argv);
  } catch (e) {
    io.err(`sim explore: ${(e as Error).message}\n${EXPLORE_USAGE}`);
    return 2;
  }
  if (args.mode === 'help') {
    io.out(EXPLORE_USAGE);
    return 0;
  }
  const config: RunConfig = { bug: args.bug, limits: { ...defaultScheduleLimits, kinds: args.kinds } };
  io.out(`explore: bug ${args.bug ?? 'none'}; fault kinds ${args.kinds.join(',')}\n`);
  if (args.mode === 'replay') {
    let faults;
    try {
      faults = args.schedule === null ? scheduleFor(args.seed, config) : parseSchedule(io.readText(args.schedule));
    } catch (e) {
      io.err(`sim explore: ${(e as Error).message}\n`);
      return 2;
    }
    const t0 = io.wallMs();
    const r = runGuarded(() => runOnce(args.seed, config, faults));
    io.err(`replay: ${((io.wallMs() - t0) / 1000).toFixed(2)} s wall\n`);
    io.out(HEADER);
    io.out(runLine('replay', r));
    io.out(expectedLines([r]));
    io.out(`schedule:\n${formatSchedule(r.faults)}\n`);
    report(io, r);
    return r.violation === undefined ? 0 : 1;
  }
  const seeds = exploreSeeds(args.seed, args.runs);
  const done: ExploreRun[] = [];
  io.out(HEADER);
  for (let i = 0; i < seeds.length; i++) {
    const seed = seeds[i] as string;
    const t0 = io.wallMs();
    const r = runGuarded(() => runOnce(seed, config));
    io.err(`run ${seed}: ${((io.wallMs() - t0) / 1000).toFixed(2)} s wall\n`);
    io.out(runLine(`${i + 1}/${seeds.length}`, r));
    done.push(r);
    if (r.violation === undefined) continue;
    io.out(expectedLines(done));
    report(io, r);
    const t1 = io.wallMs();
    const m = runGuarded(() => minimise(r, config, args.reruns));
    io.err(`minimise: ${m.reruns} reruns, ${((io.wallMs() - t1) / 1000).toFixed(2)} s wall\n`);
    io.out(`failing seed: ${seed}\n`);
    io.out(`replay: ${replayCommand(seed, args, false)}\n`);
    io.out(
      `minimised schedule (${m.run.faults.length} of ${m.originalFaults} faults, ${m.reruns} reruns, trace ${m.run.hash}):\n${formatSchedule(m.run.faults)}\n`,
    );
    if (m.run.violation !== undefined) io.out(`minimised violation: ${formatViolation(m.run.violation)}\n`);
    io.out(`replay minimised (save the list above as schedule.json): ${replayCommand(seed, args, true)}\n`);
    return 1;
  }
  io.out(expectedLines(done));
  io.out(`explore: ${seeds.length} run(s), no violation\n`);
  return 0;
}
