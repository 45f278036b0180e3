// Memory per idle subscribed connection: RSS of the server process after N connections are open and
// subscribed (and have settled), minus its RSS before, over N — odin (`odin serve`) against the naive hub,
// each in its own process, loaded by the same load tool (`odin load`'s workers) with the same options,
// measured in the same run, both servers up at once. Kernel socket buffers are not in a process's RSS;
// what is counted is what the server process holds per connection (ws and net objects, session state,
// buffers, heap growth). Median of the runs.
import { type BenchModule, type BenchReport, type RunOptions } from '../lib/report.js';
import { e2eReport, isE2e, kb, measuredLine, n, ratio, startClock, table } from './e2e-report.js';
import { connectSet, median, round, sleep } from './rig.js';
import { startNaive, startOdin, type ServerKind, type ServerProcess } from './servers.js';

export interface MemoryOptions {
  readonly connections: number;
  readonly runs: number;
  /** After the last connection: time for the servers to settle before the reading. */
  readonly settleMs: number;
  readonly rampPerSecond: number;
}

export interface MemoryRun {
  readonly run: number;
  readonly odin: { readonly beforeBytes: number; readonly afterBytes: number; readonly perConnectionBytes: number };
  readonly naive: { readonly beforeBytes: number; readonly afterBytes: number; readonly perConnectionBytes: number };
}

export const memoryDefaults: MemoryOptions = { connections: 10_000, runs: 3, settleMs: 5_000, rampPerSecond: 2_000 };
export const memoryQuick: MemoryOptions = { connections: 40, runs: 1, settleMs: 300, rampPerSecond: 0 };

/** Median of three readings, a little apart: one reading can land on a GC's peak. */
async function rss(server: ServerProcess): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(300);
    readings.push(server.rssBytes());
  }
  return median(readings);
}

export async function runMemory(o: MemoryOptions, odinSet: readonly string[], log: (line: string) => void): Promise<MemoryRun[]> {
  const runs: MemoryRun[] = [];
  for (let run = 1; run <= o.runs; run++) {
    const servers: Record<ServerKind, ServerProcess | null> = { odin: null, naive: null };
    const sessions = [];
    try {
      servers.odin = await startOdin({ settings: odinSet });
      servers.naive = await startNaive();
      await sleep(1_000);
      const before = { odin: await rss(servers.odin), naive: await rss(servers.naive) };
      // Alternate who connects first, so neither always meets the other's settling.
      const order: ServerKind[] = run % 2 === 1 ? ['odin', 'naive'] : ['naive', 'odin'];
      for (const kind of order) sessions.push(await connectSet(servers[kind]!, { connections: o.connections, rampPerSecond: o.rampPerSecond }));
      await sleep(o.settleMs);
      const after = { odin: await rss(servers.odin), naive: await rss(servers.naive) };
      const figures = (kind: ServerKind) => ({
        beforeBytes: before[kind],
        afterBytes: after[kind],
        perConnectionBytes: Math.round((after[kind] - before[kind]) / o.connections),
      });
      runs.push({ run, odin: figures('odin'), naive: figures('naive') });
      log(`  run ${run}: odin ${kb(runs.at(-1)!.odin.perConnectionBytes)} · naive ${kb(runs.at(-1)!.naive.perConnectionBytes)} per connection`);
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
      await Promise.all([servers.odin?.stop(), servers.naive?.stop()]);
    }
  }
  return runs;
}

export const bench: BenchModule = {
  name: 'memory-idle',
  title: 'RSS per idle subscribed connection: odin vs the naive hub (separate processes, same load tool)',
  async run(options: RunOptions): Promise<BenchReport> {
    const clock = startClock();
    const o = options.quick ? memoryQuick : memoryDefaults;
    const odinSet = options.odinSet ?? [];
    options.print(`  ${n(o.connections)} connections per server, ${o.runs} runs`);
    const runs = await runMemory(o, odinSet, options.print);
    const odin = median(runs.map((r) => r.odin.perConnectionBytes));
    const naive = median(runs.map((r) => r.naive.perConnectionBytes));
    const r = round(odin / naive, 2);
    return e2eReport(this.name, this.title, clock, {
      summary: [`RSS per idle subscribed connection (median of ${runs.length}): odin ${kb(odin)} · naive hub ${kb(naive)} · odin/naive ${ratio(r)}`],
      settings: { ...o },
      odinSet,
      figures: { runs, medianPerConnectionBytes: { odin, naive }, odinOverNaive: r },
      notes: [
        `${o.connections} connections per server, one channel each; RSS read from /proc after ${o.settleMs / 1000} s of quiet; per connection = (after − before) / N`,
      ],
      oursIs: '`odin serve` (embedded broker, default settings but the per-address handshake limits and the load brake, which the load would trip)',
      baselineIs: 'the naive hub (benchmarks/fanout/naive-hub.ts): a ws server with a Set of sockets per channel',
    });
  },
};

export function section(report: BenchReport): string[] {
  if (!isE2e(report)) return [];
  const f = report.extra.figures as { runs: MemoryRun[]; medianPerConnectionBytes: { odin: number; naive: number }; odinOverNaive: number };
  const s = report.extra.settings as unknown as MemoryOptions;
  const rows = f.runs.map((r) => [
    String(r.run),
    kb(r.odin.perConnectionBytes),
    kb(r.naive.perConnectionBytes),
    ratio(r.odin.perConnectionBytes / r.naive.perConnectionBytes),
  ]);
  rows.push(['**median**', `**${kb(f.medianPerConnectionBytes.odin)}**`, `**${kb(f.medianPerConnectionBytes.naive)}**`, `**${ratio(f.odinOverNaive)}**`]);
  return [
    `## Memory per idle subscribed connection (${n(s.connections)} connections)`,
    '',
    measuredLine(report),
    '',
    ...table(['run', 'odin', 'naive hub', 'odin / naive (lower is better)'], rows, ['l', 'r', 'r', 'r']),
    '',
    `RSS delta / N of each server process (both up at once, each loaded with ${n(s.connections)} subscribed connections by the same load workers), read after ${s.settleMs / 1000} s of quiet. Machine: ${report.machine.cpuModel}.`,
    '',
  ];
}
