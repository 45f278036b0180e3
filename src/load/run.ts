// One whole load run, as `odin load` does it and the benches reuse it: open the connections at the ramp
// rate, then either hold them (publishing at a steady rate, or idle) or publish bursts, then close and
// report. Interval lines come every reportEveryMs; an abort signal (SIGINT) ends the run early with a
// report of what happened until then. Children are always stopped, whatever happens.
import { summarize } from './histogram.js';
import { burstPhase, steadyPhase, type PhaseResult, type Sequence } from './phases.js';
import type { Progress } from './progress.js';
import { newStats, type Publisher } from './publishers.js';
import { intervalLine, type LoadReport } from './report.js';
import { LoadSession, type SessionOptions, type Snapshot } from './session.js';

export interface RunOptions extends SessionOptions {
  readonly publishLabel: string;
  readonly ratePerSecond: number;
  readonly sizeBytes: number;
  /** Hold after the ramp (steady publishing at ratePerSecond, or idle at 0). Ignored when bursting. */
  readonly holdMs: number;
  readonly bursts: number;
  readonly burstEvents: number;
  readonly burstGapMs: number;
  /** After publishing, how long deliveries may take to arrive (and bound on a burst's drain). */
  readonly settleMs: number;
  readonly reportEveryMs: number;
  readonly publishTimeoutMs: number;
}

export interface RunIo {
  readonly publisher: Publisher | null;
  readonly progress: Progress;
  readonly signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new Error(String(signal.reason ?? 'interrupted'));
}

/**
 * How long the ramp may go without one attempt settling before the run is declared stuck: every attempt
 * settles (open and subscribed, or failed) within its connect and subscribe timeouts, so a longer silence
 * is the tool's fault, not the server's. A ramp that is merely slower than asked (a loaded machine, a
 * server accepting at its own pace) keeps going and reports how long it took, as k6 and Artillery do.
 */
export function rampStallMs(o: SessionOptions): number {
  return o.connectTimeoutMs + o.subscribeTimeoutMs + 30_000;
}

export async function runLoad(options: RunOptions, io: RunIo): Promise<LoadReport> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const { progress, publisher, signal } = io;
  const session = await LoadSession.open(options);
  const onAbort = (): void => void session.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  const whole = session.recorder();
  const phases: PhaseResult[] = [];
  let stage = 'ramp';
  let stageValue = (): [number, number] => [0, 1];
  let interval = session.recorder();
  let previous: Snapshot = session.snapshot();
  let lastLine = performance.now();
  let heldAtEnd = 0;
  let rampMs = 0;
  let interrupted: string | null = null;
  const stopTicks = session.onTick((now) => {
    const [value, total] = stageValue();
    progress.show(
      stage,
      value,
      total,
      `open ${now.counts.open.toLocaleString('en-US')} · failed ${Object.values(now.counts.failures).reduce((a, b) => a + b, 0)} · drops ${Object.values(now.counts.drops).reduce((a, b) => a + b, 0)}`,
    );
    if (performance.now() - lastLine < options.reportEveryMs - options.tickMs / 2) return;
    lastLine = performance.now();
    progress.log(intervalLine(previous, now, summarize(interval.latency)));
    interval.stop();
    interval = session.recorder();
    previous = now;
  });
  const seq: Sequence = { next: 0 };
  try {
    stageValue = () => {
      const s = session.snapshot();
      return [s.counts.attempted - s.pending, s.planned];
    };
    const ramped = await Promise.race([
      session.rampDone(rampStallMs(options)),
      new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error(String(signal.reason ?? 'interrupted'))), { once: true })),
    ]);
    rampMs = ramped.elapsedMs;
    aborted(signal);
    if (options.bursts > 0 && publisher !== null) {
      stage = 'bursts';
      for (let b = 0; b < options.bursts; b++) {
        stageValue = () => [b, options.bursts];
        if (b > 0) await sleep(options.burstGapMs, signal);
        aborted(signal);
        const r = await burstPhase(
          session,
          publisher,
          options.channels,
          { events: options.burstEvents, sizeBytes: options.sizeBytes, timeoutMs: options.settleMs, publishTimeoutMs: options.publishTimeoutMs },
          seq,
        );
        phases.push(r);
        progress.log(
          `burst ${b + 1}/${options.bursts}: ${r.delivered.toLocaleString('en-US')} of ${r.expected.toLocaleString('en-US')} deliveries${r.drainMs !== null ? ` in ${r.drainMs} ms` : ' (incomplete)'} · p99 ${r.latency.p99Ms} ms`,
        );
      }
    } else {
      stage = 'hold';
      const holdStart = performance.now();
      stageValue = () => [Math.round((performance.now() - holdStart) / 1000), Math.round(options.holdMs / 1000)];
      const rate = publisher === null ? 0 : options.ratePerSecond;
      phases.push(
        await steadyPhase(
          session,
          publisher ?? nullPublisher,
          options.channels,
          {
            ratePerSecond: rate,
            durationMs: options.holdMs,
            sizeBytes: options.sizeBytes,
            settleMs: options.settleMs,
            publishTimeoutMs: options.publishTimeoutMs,
          },
          seq,
          signal,
        ),
      );
    }
    aborted(signal);
    heldAtEnd = (await session.mark()).reduce((sum, t) => sum + t.counts.open, 0);
  } catch (error) {
    if (signal?.aborted !== true && session.failure() === null) {
      // A harness failure (the ramp did not finish in its bound, a phase's worker did not answer): the
      // workers and their connections must not outlive the run.
      progress.stop();
      await session.close();
      throw error;
    }
    interrupted = signal?.aborted === true ? String(signal.reason ?? 'interrupted') : String(session.failure()?.message);
    heldAtEnd = session.snapshot().counts.open;
  } finally {
    stopTicks();
    signal?.removeEventListener('abort', onAbort);
    interval.stop();
  }
  const final = await session.close();
  progress.stop();
  const settings = {
    connections: options.connections,
    workers: session.workerCount,
    sourceAddresses: options.spreadAddresses ? session.spread.addresses.length : 1,
    rampPerSecond: options.rampPerSecond,
    holdMs: options.bursts > 0 ? 0 : options.holdMs,
    channels: options.channels.length,
    channelsPerConnection: options.channelsPerConnection,
    publish: publisher === null ? 'none' : options.publishLabel,
    ratePerSecond: options.ratePerSecond,
    sizeBytes: options.sizeBytes,
    bursts: options.bursts,
    burstEvents: options.burstEvents,
    sampleEvery: options.sampleEvery,
  };
  return {
    target: options.url,
    startedAt,
    durationMs: Math.round(performance.now() - t0),
    settings,
    connections: {
      attempted: final.counts.attempted,
      opened: final.counts.opened,
      subscribed: final.counts.subscribed,
      heldAtEnd,
      failures: final.counts.failures,
      drops: final.counts.drops,
      rampMs: Math.round(rampMs),
    },
    connectLatency: summarize(whole.connect),
    phases,
    latency: summarize(whole.latency),
    events: {
      delivered: final.counts.events,
      expected: phases.reduce((sum, p) => sum + p.expected, 0),
      control: final.counts.control,
      clippedSamples: final.counts.clipped,
    },
    interrupted,
  };
}

/** Stands in when nothing publishes: an idle hold. */
const nullPublisher: Publisher = {
  kind: 'none',
  publish: () => undefined,
  inFlight: 0,
  stats: newStats(),
  close: async () => undefined,
};
