// What a load run does once its connections are up: publish at a steady rate for a while (the hold), or
// publish bursts and time how long each takes to reach every subscriber (the drain). Each phase counts the
// deliveries it caused against what the subscribers should have received, and keeps its own latency.
import { bump } from './failures.js';
import { summarize, type LatencySummary } from './histogram.js';
import type { Counts } from './messages.js';
import { eventData, monotonicUs } from './payload.js';
import type { Publisher, PublishStats } from './publishers.js';
import { expectedDeliveries, sumTicks, type LoadSession, type Marks } from './session.js';

/** Publishing steps: at 2,000 events/s, ten per step. */
const PACE_STEP_MS = 5;

/** A source of publish sequence numbers shared by a run's phases (n in the payload). */
export interface Sequence {
  next: number;
}

export interface PublishFigures {
  readonly sent: number;
  readonly ok: number;
  readonly skipped: number;
  readonly retried: number;
  readonly failures: Readonly<Record<string, number>>;
}

export interface PhaseResult {
  readonly kind: 'steady' | 'burst';
  /** Events per second asked for (steady), or events in the burst. */
  readonly target: number;
  readonly publishMs: number;
  readonly published: PublishFigures;
  /** What the subscribers should receive from the accepted events, and what they did. */
  readonly expected: number;
  readonly delivered: number;
  /** Every expected delivery arrived within the settle time. */
  readonly complete: boolean;
  /** First publish → last expected delivery (null when incomplete). */
  readonly drainMs: number | null;
  readonly deliveriesPerSecond: number;
  readonly latency: LatencySummary;
  readonly drops: Readonly<Record<string, number>>;
  readonly control: Readonly<Record<string, number>>;
}

function snapshotStats(p: Publisher): PublishStats {
  return { ...p.stats, failures: { ...p.stats.failures }, okPerChannel: { ...p.stats.okPerChannel } };
}

function since<T extends Record<string, number>>(now: Readonly<T>, before: Readonly<T>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) if (v - (before[k] ?? 0) !== 0) out[k] = v - (before[k] ?? 0);
  return out;
}

function countsSince(end: Marks, start: Marks): Counts {
  const a = sumTicks(end).counts;
  const b = sumTicks(start).counts;
  return { ...a, events: a.events - b.events, eventBytes: a.eventBytes - b.eventBytes, drops: since(a.drops, b.drops), control: since(a.control, b.control) };
}

function idle(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
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
}

async function untilIdle(publisher: Publisher, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (publisher.inFlight > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Round-robin over the channels, `ratePerSecond` events per second for `durationMs` (open loop). */
export async function publishAtRate(
  publisher: Publisher,
  channels: readonly string[],
  ratePerSecond: number,
  durationMs: number,
  sizeBytes: number,
  seq: Sequence,
  signal?: AbortSignal,
): Promise<void> {
  const started = performance.now();
  let done = 0;
  for (;;) {
    if (signal?.aborted === true) return;
    const elapsed = performance.now() - started;
    const due = Math.floor((Math.min(elapsed, durationMs) / 1000) * ratePerSecond);
    for (; done < due; done++) {
      const n = seq.next++;
      publisher.publish(channels[n % channels.length]!, eventData(monotonicUs(), n, sizeBytes));
    }
    if (elapsed >= durationMs) return;
    await new Promise((resolve) => setTimeout(resolve, PACE_STEP_MS));
  }
}

export interface SteadyOptions {
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly sizeBytes: number;
  /** After the last publish, how long deliveries may take to arrive. */
  readonly settleMs: number;
  readonly publishTimeoutMs: number;
}

/** Publishes at a steady rate for durationMs (nothing when the rate is 0: an idle hold). */
export async function steadyPhase(
  session: LoadSession,
  publisher: Publisher,
  channels: readonly string[],
  options: SteadyOptions,
  seq: Sequence,
  signal?: AbortSignal,
): Promise<PhaseResult> {
  const start = await session.mark();
  const before = snapshotStats(publisher);
  const recorder = session.recorder();
  const t0 = process.hrtime.bigint();
  if (options.ratePerSecond > 0) await publishAtRate(publisher, channels, options.ratePerSecond, options.durationMs, options.sizeBytes, seq, signal);
  else await idle(options.durationMs, signal);
  const publishMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await untilIdle(publisher, options.publishTimeoutMs);
  const after = snapshotStats(publisher);
  const okPerChannel = since(after.okPerChannel, before.okPerChannel);
  const perWorker = expectedDeliveries(start, okPerChannel);
  const wait = await session.expect(start, perWorker);
  const lastNs = await wait(options.settleMs);
  const end = await session.mark();
  recorder.stop();
  return result('steady', options.ratePerSecond, publishMs, before, after, start, end, perWorker, t0, lastNs, recorder.latency);
}

export interface BurstOptions {
  readonly events: number;
  readonly sizeBytes: number;
  readonly timeoutMs: number;
  readonly publishTimeoutMs: number;
}

/** Publishes `events` events at once (round-robin over the channels) and times their drain. */
export async function burstPhase(
  session: LoadSession,
  publisher: Publisher,
  channels: readonly string[],
  options: BurstOptions,
  seq: Sequence,
): Promise<PhaseResult> {
  const start = await session.mark();
  const perChannel: Record<string, number> = {};
  for (let i = 0; i < options.events; i++) bump(perChannel, channels[(seq.next + i) % channels.length]!);
  const perWorker = expectedDeliveries(start, perChannel);
  const wait = await session.expect(start, perWorker);
  const before = snapshotStats(publisher);
  const recorder = session.recorder();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < options.events; i++) {
    const n = seq.next++;
    publisher.publish(channels[n % channels.length]!, eventData(monotonicUs(), n, options.sizeBytes));
  }
  const publishMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const lastNs = await wait(options.timeoutMs);
  await untilIdle(publisher, options.publishTimeoutMs);
  const after = snapshotStats(publisher);
  const end = await session.mark();
  recorder.stop();
  return result('burst', options.events, publishMs, before, after, start, end, perWorker, t0, lastNs, recorder.latency);
}

function result(
  kind: PhaseResult['kind'],
  target: number,
  publishMs: number,
  before: ReturnType<typeof snapshotStats>,
  after: ReturnType<typeof snapshotStats>,
  start: Marks,
  end: Marks,
  perWorker: readonly number[],
  t0: bigint,
  lastNs: bigint | null,
  latency: Parameters<typeof summarize>[0],
): PhaseResult {
  const delta = countsSince(end, start);
  const expected = perWorker.reduce((a, b) => a + b, 0);
  const complete = lastNs !== null;
  const drainMs = complete ? Math.max(0, Number(lastNs - t0) / 1e6) : null;
  // Deliveries over the time they took: to the last one when all came, else over the whole phase.
  const windowMs = drainMs ?? Math.max(publishMs, Number(BigInt(end[0]?.atNs ?? '0') - t0) / 1e6);
  return {
    kind,
    target,
    publishMs: Math.round(publishMs * 100) / 100,
    published: {
      sent: after.sent - before.sent,
      ok: after.ok - before.ok,
      skipped: after.skipped - before.skipped,
      retried: after.retried - before.retried,
      failures: since(after.failures, before.failures),
    },
    expected,
    delivered: delta.events,
    complete,
    drainMs: drainMs === null ? null : Math.round(drainMs * 100) / 100,
    deliveriesPerSecond: windowMs > 0 ? Math.round(delta.events / (windowMs / 1000)) : 0,
    latency: summarize(latency),
    drops: delta.drops,
    control: delta.control,
  };
}
