// Connections held: `odin serve --workers 2` takes N connections (39,000 by default: more than one process
// may hold under the 20,000 open-files limit of this machine) and holds them for five minutes while
// publishing one event a second to all of them; the result is how many it held to the end and how many
// it dropped unexpectedly (the goal: all, and none). The naive hub, one process, gets the same load in the
// same run: what one Node process can hold under the same limit. Each server runs alone (one after the
// other); the load is `odin load`'s (runLoad), with its report kept whole.
import type { BenchModule, BenchReport, RunOptions } from '../lib/report.js';
import { sessionDefaults } from '../../src/load/session.js';
import { readFdLimit } from '../../src/server/resources.js';
import type { LoadReport } from '../../src/load/report.js';
import { runLoad, type RunOptions as LoadRunOptions } from '../../src/load/run.js';
import { e2eReport, isE2e, kb, measuredLine, n, startClock, table } from './e2e-report.js';
import { publisherFor, sessionOptionsFor } from './rig.js';
import { startNaive, startOdin, type ServerKind, type ServerProcess } from './servers.js';

export interface HeldOptions {
  readonly connections: number;
  readonly workers: number;
  readonly holdMs: number;
  readonly rampPerSecond: number;
  readonly ratePerSecond: number;
  readonly reportEveryMs: number;
}

export const heldDefaults: HeldOptions = { connections: 39_000, workers: 2, holdMs: 300_000, rampPerSecond: 1_500, ratePerSecond: 1, reportEveryMs: 30_000 };
export const heldQuick: HeldOptions = { connections: 60, workers: 2, holdMs: 1_500, rampPerSecond: 0, ratePerSecond: 2, reportEveryMs: 1_000 };

export interface HeldResult {
  readonly server: ServerKind;
  readonly serverProcesses: number;
  readonly report: LoadReport;
  readonly peakRssBytes: number;
  readonly unexpectedDrops: number;
  readonly failedAttempts: number;
}

const total = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((a, b) => a + b, 0);

async function hold(server: ServerProcess, serverProcesses: number, o: HeldOptions, log: (line: string) => void): Promise<HeldResult> {
  let peakRssBytes = server.rssBytes();
  const sampler = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, server.rssBytes())), 2_000);
  const publisher = publisherFor(server);
  try {
    const session = sessionOptionsFor(server, { connections: o.connections, rampPerSecond: o.rampPerSecond, tickMs: Math.min(1_000, o.reportEveryMs) });
    const options: LoadRunOptions = {
      ...session,
      // Attempts that find a server full must not wait out long timeouts one after another.
      connectTimeoutMs: 10_000,
      subscribeTimeoutMs: 10_000,
      publishLabel: 'http',
      ratePerSecond: o.ratePerSecond,
      sizeBytes: 100,
      holdMs: o.holdMs,
      bursts: 0,
      burstEvents: 0,
      burstGapMs: 0,
      settleMs: 10_000,
      reportEveryMs: o.reportEveryMs,
      publishTimeoutMs: 10_000,
    };
    const report = await runLoad(options, {
      publisher,
      progress: { show: () => undefined, log: (line) => log(`    ${server.kind}${line}`), stop: () => undefined },
    });
    return {
      server: server.kind,
      serverProcesses,
      report,
      peakRssBytes,
      unexpectedDrops: total(report.connections.drops),
      failedAttempts: total(report.connections.failures),
    };
  } finally {
    clearInterval(sampler);
    await publisher.close();
  }
}

export async function runHeld(o: HeldOptions, odinSet: readonly string[], log: (line: string) => void): Promise<HeldResult[]> {
  const results: HeldResult[] = [];
  for (const kind of ['odin', 'naive'] as const) {
    const server = kind === 'odin' ? await startOdin({ workers: o.workers, settings: odinSet }) : await startNaive();
    try {
      log(`  ${kind}: ${n(o.connections)} connections, hold ${o.holdMs / 1000} s`);
      const r = await hold(server, kind === 'odin' ? o.workers : 1, o, log);
      results.push(r);
      log(
        `  ${kind}: held ${n(r.report.connections.heldAtEnd)} of ${n(o.connections)} · unexpected drops ${r.unexpectedDrops} · failed attempts ${r.failedAttempts}`,
      );
    } finally {
      await server.stop();
    }
  }
  return results;
}

export const bench: BenchModule = {
  name: 'held',
  title: 'Connections held for five minutes: odin serve --workers 2 vs the naive hub (one process)',
  async run(options: RunOptions): Promise<BenchReport> {
    const clock = startClock();
    const o = options.quick ? heldQuick : heldDefaults;
    const odinSet = options.odinSet ?? [];
    const results = await runHeld(o, odinSet, options.print);
    const line = (r: HeldResult): string =>
      `${r.server} held ${n(r.report.connections.heldAtEnd)}/${n(o.connections)} (${r.unexpectedDrops} unexpected drops, ${r.failedAttempts} failed attempts)`;
    return e2eReport(this.name, this.title, clock, {
      summary: [`held ${o.holdMs / 1000} s: ${results.map(line).join(' · ')}`],
      settings: { ...o, openFilesLimit: readFdLimit().soft },
      odinSet,
      figures: { results },
      notes: ['the naive hub is one process: under a 20,000 open-files limit it cannot hold more than ~20,000 sockets'],
      oursIs: `\`odin serve --workers ${o.workers}\` (embedded broker in the primary)`,
      baselineIs: 'the naive hub (one process)',
    });
  },
};

export function section(report: BenchReport): string[] {
  if (!isE2e(report)) return [];
  const { results } = report.extra.figures as { results: HeldResult[] };
  const s = report.extra.settings as unknown as HeldOptions & { openFilesLimit: number | null };
  const rows = results.map((r) => {
    const c = r.report.connections;
    const hold = r.report.phases[0];
    return [
      r.server === 'odin' ? `odin (--workers ${s.workers})` : 'naive hub (1 process)',
      n(c.heldAtEnd),
      String(r.unexpectedDrops),
      r.failedAttempts === 0
        ? '0'
        : `${n(r.failedAttempts)} (${Object.entries(c.failures)
            .map(([k, v]) => `${k} ${n(v)}`)
            .join(', ')})`,
      hold === undefined ? '—' : `${n(hold.delivered)} / ${n(hold.expected)}`,
      hold === undefined
        ? '—'
        : `${n(hold.published.ok)} / ${n(hold.published.sent)}${
            Object.keys(hold.published.failures).length > 0
              ? ` (${Object.entries(hold.published.failures)
                  .map(([k, v]) => `${k} ${n(v)}`)
                  .join(', ')})`
              : ''
          }`,
      c.heldAtEnd > 0 ? kb(r.peakRssBytes / c.heldAtEnd) : '—',
      `${(c.rampMs / 1000).toFixed(0)} s`,
    ];
  });
  return [
    `## Connections held for ${s.holdMs / 60_000} minutes (${n(s.connections)} attempted)`,
    '',
    measuredLine(report),
    '',
    ...table(
      [
        'server',
        'held to the end',
        'unexpected drops',
        'failed attempts',
        'deliveries / expected',
        'publishes accepted / sent',
        'peak RSS / held connection',
        'ramp',
      ],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    `Ramp ${n(s.rampPerSecond)} connections/s from ${Math.ceil(s.connections / sessionDefaults.perAddressMax)} loopback source address(es), then ${s.holdMs / 1000} s holding them with ${s.ratePerSecond} event/s published to all over HTTP (every connection must keep receiving). Open-files limit ${s.openFilesLimit === null ? 'unknown' : n(s.openFilesLimit)} per process. ` +
      'Expected deliveries count the publishes the server acknowledged; a publish that timed out on the publisher but was carried out anyway shows as more deliveries than expected. A server at its open-files limit cannot accept the publisher’s own connection either.',
    '',
  ];
}
