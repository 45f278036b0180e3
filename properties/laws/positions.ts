// The client's gap detection and repair (src/client/positions.ts, ChannelTrack) against a lossy server:
// a true stream of one channel, delivered with holes, duplicates and gap notices, replays answered late,
// completely or not at all. Whatever happens, the application sees each offset at most once, in order
// (I1, I2), and every offset up to the track's position either arrives or is reported lost (I3); when every
// replay succeeds and the limits are generous, nothing is reported lost at all (the resume is exact).
import fc from 'fast-check';
import { ChannelTrack, type ChannelEvent, type TrackLimits, type TrackOutput } from '../../src/client/positions.js';
import { expectThat } from '../model/model.js';

export interface Track {
  readonly offset: number;
  readonly repairing: boolean;
  onEvent(event: ChannelEvent, out: TrackOutput[]): void;
  onGapNotice(to: number, reason: string, replayable: boolean, out: TrackOutput[]): void;
  onReplayDone(ticket: number, failure: string | null, out: TrackOutput[]): void;
}
export type TrackFactory = (last: number, limits: TrackLimits) => Track;
export const realTrack: TrackFactory = (last, limits) => new ChannelTrack('c', 'E1', last, limits, { duplicatesDropped: 0, gapsDetected: 0 });

type Fate = 'deliver' | 'drop' | 'duplicate' | 'notice' | 'lossy-notice' | 'answer' | 'fail';

export const trackScenarios = fc.record({
  steps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 40, size: 'max' }),
  start: fc.nat(5),
  fates: fc.array(fc.constantFrom<Fate>('deliver', 'deliver', 'deliver', 'drop', 'duplicate', 'notice', 'lossy-notice', 'answer', 'answer', 'fail'), {
    maxLength: 60,
    size: 'max',
  }),
  bufferEventsMax: fc.integer({ min: 1, max: 8 }),
  replayOffsetsMax: fc.integer({ min: 3, max: 120 }),
});
type TrackScenario = typeof trackScenarios extends fc.Arbitrary<infer T> ? T : never;

function run(make: TrackFactory, s: TrackScenario, perfect: boolean) {
  // The true stream: offsets on channel c (the holes between them belong to other channels).
  const truth: ChannelEvent[] = [];
  let offset = 0;
  for (const step of s.steps) {
    offset += step;
    truth.push({ channel: 'c', offset, prev: truth.at(-1)?.offset ?? 0, data: `d${offset}` });
  }
  const start = Math.min(s.start, truth.length - 1);
  const last0 = start === 0 ? 0 : truth[start - 1]!.offset;
  const limits = perfect ? { bufferEventsMax: 1_000, replayOffsetsMax: 1e9 } : { bufferEventsMax: s.bufferEventsMax, replayOffsetsMax: s.replayOffsetsMax };
  const track = make(last0, limits);
  const out: TrackOutput[] = [];
  const pending: { ticket: number; from: number; to: number }[] = [];
  let seen = 0;
  const drainOut = (): void => {
    for (; seen < out.length; seen++) {
      const o = out[seen]!;
      if (o.kind === 'replay') pending.push(o);
    }
  };
  const answer = (ok: boolean): void => {
    const replay = pending.shift();
    if (replay === undefined) return;
    if (ok) for (const e of truth) if (e.offset > replay.from && e.offset <= replay.to) track.onEvent(e, out);
    track.onReplayDone(replay.ticket, ok ? null : 'history_unavailable', out);
    drainOut();
  };
  let fate = 0;
  let notice: [number, number] | null = null;
  let maxSeen = last0;
  for (const e of truth.slice(start)) {
    // Replays are answered at arbitrary points among the live events.
    for (let f = s.fates[fate++ % Math.max(1, s.fates.length)]; f === 'answer' || f === 'fail'; f = s.fates[fate++ % s.fates.length]) {
      answer(perfect || f === 'answer');
      if (fate > 10_000) break;
    }
    const f = s.fates[fate++ % Math.max(1, s.fates.length)] ?? 'deliver';
    if (f === 'drop') continue;
    if (f === 'notice' || f === 'lossy-notice') {
      notice = notice === null ? [e.offset, e.offset] : [notice[0], e.offset];
      track.onGapNotice(notice[1], f === 'notice' ? 'shed' : 'conflated', perfect || f === 'notice', out);
      maxSeen = Math.max(maxSeen, e.offset);
      drainOut();
      continue;
    }
    notice = null;
    track.onEvent(e, out);
    if (f === 'duplicate') track.onEvent(e, out);
    maxSeen = Math.max(maxSeen, e.offset);
    drainOut();
  }
  for (let i = 0; pending.length > 0; i++) {
    expectThat(i < 1_000, 'repair never settles');
    answer(perfect || s.fates[i % Math.max(1, s.fates.length)] !== 'fail');
  }
  return { truth, last0, track, out, maxSeen };
}

function check(r: ReturnType<typeof run>, perfect: boolean): void {
  const delivered = r.out.filter((o): o is Extract<TrackOutput, { kind: 'deliver' }> => o.kind === 'deliver').map((o) => o.event);
  const lost = r.out.filter((o): o is Extract<TrackOutput, { kind: 'lost' }> => o.kind === 'lost').map((o) => o.gap);
  for (let i = 1; i < delivered.length; i++) {
    expectThat(delivered[i]!.offset > delivered[i - 1]!.offset, `I1/I2: delivered ${delivered[i - 1]!.offset} then ${delivered[i]!.offset}`);
  }
  for (const e of delivered)
    expectThat(e.offset > r.last0 && r.truth.some((t) => t.offset === e.offset && t.data === e.data), `delivered ${e.offset}, which is not owed`);
  expectThat(!r.track.repairing, 'a replay is still in flight after every answer');
  expectThat(r.track.offset >= r.maxSeen, `the track stopped at ${r.track.offset} although the server showed ${r.maxSeen}`);
  const got = new Set(delivered.map((e) => e.offset));
  for (const t of r.truth) {
    if (t.offset <= r.last0 || t.offset > r.track.offset) continue;
    const named = lost.some((g) => g.from <= t.offset && t.offset <= g.to);
    expectThat(got.has(t.offset) || named, `I3: offset ${t.offset} neither delivered nor reported lost (track at ${r.track.offset})`);
    if (perfect) expectThat(got.has(t.offset), `I4: offset ${t.offset} not recovered although every replay succeeded`);
  }
  if (perfect) expectThat(lost.length === 0, `I4: lost ${JSON.stringify(lost)} although every replay succeeded`);
}

/** Any loss pattern, any replay outcome: in order, once, and nothing vanishes without a lost report. */
export function trackProperty(make: TrackFactory): fc.IPropertyWithHooks<[TrackScenario]> {
  return fc.property(trackScenarios, (s) => check(run(make, s, false), false));
}

/** Every replay succeeds, limits are generous: the application gets exactly the true stream. */
export function exactRepairProperty(make: TrackFactory): fc.IPropertyWithHooks<[TrackScenario]> {
  return fc.property(trackScenarios, (s) => check(run(make, s, true), true));
}
