import { describe, expect, it } from 'vitest';
import { ChannelTrack, type TrackOutput } from '../../src/client/positions.js';

const CH = 'odin.token.ABC.trade';

function track(last: number, limits = { bufferEventsMax: 100, replayOffsetsMax: 10_000 }) {
  const counters = { duplicatesDropped: 0, gapsDetected: 0 };
  return { t: new ChannelTrack(CH, 'E1', last, limits, counters), counters };
}

function ev(offset: number, prev: number | null) {
  return { channel: CH, offset, prev, data: offset };
}

/** Compact form of outputs: d58 = deliver 58, r41-57 = replay (41, 57], l42-57 = lost 42..57. */
function show(out: readonly TrackOutput[]): string[] {
  return out.map((o) => {
    if (o.kind === 'deliver') return `d${o.event.offset}`;
    if (o.kind === 'replay') return `r${o.from}-${o.to}`;
    return `l${o.gap.from}-${o.gap.to}:${o.gap.reason}`;
  });
}

function ticketOf(out: readonly TrackOutput[]): number {
  const replay = out.find((o) => o.kind === 'replay');
  if (replay?.kind !== 'replay') throw new Error('no replay requested');
  return replay.ticket;
}

describe('ChannelTrack', () => {
  it('delivers a prev chain and drops duplicates', () => {
    const { t, counters } = track(10);
    const out: TrackOutput[] = [];
    t.onEvent(ev(12, 10), out);
    t.onEvent(ev(12, 10), out);
    t.onEvent(ev(11, null), out);
    t.onEvent(ev(15, 12), out);
    expect(show(out)).toEqual(['d12', 'd15']);
    expect(counters.duplicatesDropped).toBe(2);
    expect(t.offset).toBe(15);
  });

  it('delivers prev-less events in offset order without gap checks', () => {
    const { t } = track(0);
    const out: TrackOutput[] = [];
    t.onEvent(ev(5, null), out);
    t.onEvent(ev(9, null), out);
    expect(show(out)).toEqual(['d5', 'd9']);
  });

  it('worked example: replays (41, 57], holds live events, then delivers all in order', () => {
    const { t, counters } = track(41);
    const out: TrackOutput[] = [];
    t.onEvent(ev(58, 57), out);
    expect(show(out)).toEqual(['r41-57']);
    const ticket = ticketOf(out);
    out.length = 0;
    t.onEvent(ev(60, 58), out);
    t.onEvent(ev(45, 41), out);
    t.onEvent(ev(57, 45), out);
    t.onEvent(ev(57, 45), out);
    expect(out).toEqual([]);
    t.onReplayDone(ticket, null, out);
    expect(show(out)).toEqual(['d45', 'd57', 'd58', 'd60']);
    expect(counters.gapsDetected).toBe(1);
    expect(counters.duplicatesDropped).toBe(1);
    expect(t.repairing).toBe(false);
  });

  it('reports a failed replay as lost and continues with held events', () => {
    const { t } = track(41);
    const out: TrackOutput[] = [];
    t.onEvent(ev(58, 57), out);
    const ticket = ticketOf(out);
    out.length = 0;
    t.onEvent(ev(60, 58), out);
    t.onReplayDone(ticket, 'history_unavailable', out);
    expect(show(out)).toEqual(['l42-57:history_unavailable', 'd58', 'd60']);
  });

  it('ignores an answer for a ticket that is no longer in flight', () => {
    const { t } = track(41);
    const out: TrackOutput[] = [];
    t.onEvent(ev(58, 57), out);
    const ticket = ticketOf(out);
    t.abandon();
    out.length = 0;
    t.onReplayDone(ticket, null, out);
    expect(out).toEqual([]);
    expect(t.offset).toBe(41);
  });

  it('finds a second hole among held events and asks again', () => {
    const { t } = track(10);
    const out: TrackOutput[] = [];
    t.onEvent(ev(20, 15), out);
    const first = ticketOf(out);
    out.length = 0;
    t.onEvent(ev(30, 25), out); // 25 is missing too, but not covered by (10, 15]
    t.onEvent(ev(15, 10), out);
    t.onReplayDone(first, null, out);
    expect(show(out)).toEqual(['d15', 'd20', 'r20-25']);
    const second = ticketOf(out);
    out.length = 0;
    t.onEvent(ev(25, 20), out);
    t.onReplayDone(second, null, out);
    expect(show(out)).toEqual(['d25', 'd30']);
  });

  it('replays a shed gap notice and reports a conflated one without asking', () => {
    const { t } = track(40);
    const out: TrackOutput[] = [];
    t.onGapNotice(57, 'conflated', false, out);
    expect(show(out)).toEqual(['l41-57:conflated']);
    out.length = 0;
    t.onEvent(ev(58, 57), out);
    t.onGapNotice(61, 'shed', true, out);
    expect(show(out)).toEqual(['d58', 'r58-61']);
  });

  it('fetches a conflated range that arrives during a repair instead of reporting past held events', () => {
    const { t } = track(10);
    const out: TrackOutput[] = [];
    t.onEvent(ev(20, 15), out);
    const ticket = ticketOf(out);
    out.length = 0;
    t.onGapNotice(29, 'conflated', false, out);
    t.onEvent(ev(30, 29), out);
    t.onEvent(ev(15, 10), out);
    t.onReplayDone(ticket, null, out);
    expect(show(out)).toEqual(['d15', 'd20', 'r20-29']);
  });

  it('ignores gap notices for ranges already accounted for', () => {
    const { t, counters } = track(50);
    const out: TrackOutput[] = [];
    t.onGapNotice(50, 'shed', true, out);
    expect(out).toEqual([]);
    expect(counters.gapsDetected).toBe(0);
  });

  it('reports a range wider than replayOffsetsMax without asking', () => {
    const { t } = track(10, { bufferEventsMax: 100, replayOffsetsMax: 100 });
    const out: TrackOutput[] = [];
    t.onEvent(ev(500, 400), out);
    expect(show(out)).toEqual(['l11-400:replay_range_too_large', 'd500']);
  });

  it('on buffer overflow keeps the lowest offsets and fetches the evicted ones again', () => {
    const { t } = track(0, { bufferEventsMax: 2, replayOffsetsMax: 10_000 });
    const out: TrackOutput[] = [];
    t.onEvent(ev(5, 4), out);
    const first = ticketOf(out);
    out.length = 0;
    t.onEvent(ev(6, 5), out);
    t.onEvent(ev(7, 6), out); // evicted: the buffer holds 5 and 6
    t.onEvent(ev(4, null), out); // replayed; evicts 6
    t.onReplayDone(first, null, out);
    expect(show(out)).toEqual(['d4', 'd5', 'r5-7']);
    const second = ticketOf(out);
    out.length = 0;
    t.onEvent(ev(6, 5), out);
    t.onEvent(ev(7, 6), out);
    t.onReplayDone(second, null, out);
    expect(show(out)).toEqual(['d6', 'd7']);
  });

  it('a replay answer is complete only below the lowest evicted offset', () => {
    const { t } = track(0, { bufferEventsMax: 2, replayOffsetsMax: 10_000 });
    const out: TrackOutput[] = [];
    t.onEvent(ev(9, 8), out);
    const ticket = ticketOf(out);
    out.length = 0;
    for (const offset of [2, 4, 6, 8]) t.onEvent(ev(offset, offset - 2), out); // 6 and 8 evicted
    t.onReplayDone(ticket, null, out);
    // The answer vouches for (0, 5]; from 6 on it must be fetched again, not assumed delivered.
    expect(show(out)).toEqual(['d2', 'd4', 'r5-9']);
  });

  it('reset drops held events and restarts at the new baseline', () => {
    const { t } = track(10);
    const out: TrackOutput[] = [];
    t.onEvent(ev(20, 15), out);
    t.reset('E2', 100);
    out.length = 0;
    t.onEvent(ev(101, 90), out);
    expect(show(out)).toEqual(['d101']);
    expect(t.epoch).toBe('E2');
  });
});
