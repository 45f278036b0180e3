// I1–I3 from the client's side: for random streams with silent drops, shed and conflated ranges,
// duplicates, slow or failing replays, a small hold buffer and an optional reconnect, the application
// sees each channel's events in strictly increasing order, each at most once, and every event the server
// revealed (by sending it, a later prev, a notice or a replay) is either delivered or inside a reported gap
// or reset. The model server below keeps the full history and answers replays and resumes from it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { subjectMatches } from '../../src/core/protocol.js';
import { runs } from '../../properties/support/runs.js';
import { harness, nextSocket, recorder, type FakeSocket } from './helpers.js';

const CHANNELS = ['p.a', 'p.b', 'p.c'];
/** Not subscribed: its events only make each channel's offsets non-contiguous. */
const FOREIGN = 'q.x';
const NO_HEARTBEAT_MS = 1e9;

type Fate = 'send' | 'drop' | 'shed' | 'conflate';

interface Scenario {
  steps: { channel: number; fate: Fate; dup: boolean }[];
  plans: { delaySteps: number; fail: boolean }[];
  pattern: boolean;
  bufferEventsMax: number;
  disconnectAt: number | null;
  resumeFails: boolean;
}

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  steps: fc.array(
    fc.record({
      channel: fc.integer({ min: 0, max: CHANNELS.length }),
      fate: fc.constantFrom<Fate>('send', 'send', 'send', 'drop', 'shed', 'conflate'),
      dup: fc.boolean(),
    }),
    { minLength: 1, maxLength: 60 },
  ),
  plans: fc.array(fc.record({ delaySteps: fc.integer({ min: 0, max: 4 }), fail: fc.integer({ min: 0, max: 3 }).map((n) => n === 0) }), {
    minLength: 1,
    maxLength: 8,
  }),
  pattern: fc.boolean(),
  bufferEventsMax: fc.integer({ min: 1, max: 6 }),
  disconnectAt: fc.option(fc.integer({ min: 0, max: 59 }), { nil: null }),
  resumeFails: fc.boolean(),
});

interface Stored {
  readonly ch: string;
  readonly offset: number;
  readonly prev: number;
}

interface PendingReplay {
  readonly id: number;
  readonly channel: string;
  readonly from: number;
  readonly to: number;
  readonly dueStep: number;
  readonly fail: boolean;
}

function run(s: Scenario) {
  const h = harness({ bufferEventsMax: s.bufferEventsMax });
  const app = recorder();
  if (s.pattern) h.client.subscribe('p.>', app.handlers);
  else for (const channel of CHANNELS) h.client.subscribe(channel, app.handlers);

  const history: Stored[] = [];
  const lastOf = new Map<string, number>();
  /** Highest offset of each channel the server revealed; later events are undetectable by design. */
  const horizon = new Map<string, number>();
  /** Offsets at or below this were excused by a reset. */
  const excused = new Map<string, number>();
  let pending: PendingReplay[] = [];
  let seen = 0;
  let planIndex = 0;
  let step = 0;

  h.client.connect();
  let socket: FakeSocket = h.net.last;
  socket.accept(NO_HEARTBEAT_MS);

  const reveal = (ch: string, offset: number) => horizon.set(ch, Math.max(horizon.get(ch) ?? 0, offset));
  const frameOf = (e: Stored) => ({ type: 'event', ch: e.ch, offset: e.offset, prev: e.prev, data: { ch: e.ch, offset: e.offset } });
  const deliver = (frame: object) => {
    socket.receive(frame);
    for (; seen < socket.sent.length; seen++) {
      const m = socket.sent[seen] as { type: string; id: number; channel: string; from: number; to: number };
      if (m.type !== 'replay') continue;
      const plan = s.plans[planIndex++ % s.plans.length]!;
      pending.push({ id: m.id, channel: m.channel, from: m.from, to: m.to, dueStep: step + plan.delaySteps, fail: plan.fail });
    }
  };
  const answer = (p: PendingReplay) => {
    if (p.fail) return deliver({ type: 'error', id: p.id, code: 'history_unavailable', message: 'gone' });
    const events = history.filter((e) => e.ch === p.channel && e.offset > p.from && e.offset <= p.to);
    for (const e of events) {
      reveal(e.ch, e.offset);
      deliver(frameOf(e));
    }
    deliver({ type: 'replayed', id: p.id, channel: p.channel, from: p.from, to: p.to, count: events.length });
  };
  const answerDue = (all: boolean) => {
    for (let guard = 0; guard < 10_000; guard++) {
      const i = pending.findIndex((p) => all || p.dueStep <= step);
      if (i < 0) return;
      answer(pending.splice(i, 1)[0]!);
    }
    throw new Error('replays never settle');
  };
  const subscribeAnswer = (head: number, resuming: boolean) => {
    const request = socket.lastOfType('subscribe') as { id: number; channels: string[]; since?: Record<string, { offset: number }> };
    const channels: Record<string, object> = {};
    const resumes: { name: string; after: number }[] = [];
    for (const name of request.channels) {
      const since = request.since?.[name];
      expect(since !== undefined).toBe(resuming); // every name is resumed after a reconnect, none before
      if (since === undefined) channels[name] = { epoch: 'E1', offset: head };
      else if (s.resumeFails) {
        channels[name] = { epoch: 'E1', offset: head, recovered: false, reason: 'history_expired' };
        for (const ch of CHANNELS) if (subjectMatches(name, ch)) excused.set(ch, head);
      } else {
        channels[name] = { epoch: 'E1', offset: head, recovered: true };
        resumes.push({ name, after: since.offset });
      }
    }
    deliver({ type: 'subscribed', id: request.id, channels });
    for (const { name, after } of resumes) {
      for (const e of history) {
        if (!subjectMatches(name, e.ch) || e.offset <= after) continue;
        reveal(e.ch, e.offset);
        deliver(frameOf(e));
      }
    }
  };

  subscribeAnswer(0, false);
  s.steps.forEach((plan, i) => {
    step = i;
    if (s.disconnectAt === i) {
      socket.end({ code: 1006, reason: '' });
      pending = [];
      socket = nextSocket(h);
      seen = 0;
      socket.accept(NO_HEARTBEAT_MS);
      subscribeAnswer(history.length, true);
    }
    const ch = CHANNELS[plan.channel] ?? FOREIGN;
    const stored = { ch, offset: i + 1, prev: lastOf.get(ch) ?? 0 };
    lastOf.set(ch, stored.offset);
    history.push(stored);
    if (ch !== FOREIGN && plan.fate !== 'drop') {
      reveal(ch, stored.offset);
      if (plan.fate === 'send') {
        deliver(frameOf(stored));
        if (plan.dup) deliver(frameOf(stored));
      } else {
        deliver({ type: 'gap', ch, from: stored.offset, to: stored.offset, reason: plan.fate === 'shed' ? 'shed' : 'conflated' });
      }
    }
    answerDue(false);
  });
  answerDue(true);
  return { app, history, horizon, excused, errors: h.errors };
}

describe('delivery property', () => {
  it('in order, at most once, and every revealed event delivered or reported', () => {
    fc.assert(
      fc.property(scenarios, (s) => {
        const { app, history, horizon, excused, errors } = run(s);
        expect(errors).toEqual([]);
        for (const ch of CHANNELS) {
          const got = app.events.filter((e) => e.channel === ch);
          got.forEach((e, i) => {
            if (i > 0) expect(e.offset).toBeGreaterThan(got[i - 1]!.offset);
            expect(e.data).toEqual({ ch, offset: e.offset }); // a real event of this channel
            expect(history.some((stored) => stored.ch === ch && stored.offset === e.offset)).toBe(true);
          });
          const gaps = app.gaps.filter((g) => g.channel === ch);
          const delivered = new Set(got.map((e) => e.offset));
          const due = history.filter((e) => e.ch === ch && e.offset <= (horizon.get(ch) ?? 0) && e.offset > (excused.get(ch) ?? 0));
          for (const e of due) {
            const accounted = delivered.has(e.offset) || gaps.some((g) => g.from <= e.offset && e.offset <= g.to);
            expect(accounted, `offset ${e.offset} of ${ch} neither delivered nor reported`).toBe(true);
          }
        }
      }),
      runs(500),
    );
  });
});
