// The replay–live seam under every interleaving fc.scheduler() can produce: broker history answers arrive
// late and in any order, publishes land while replays load, subscribe replies race publishes. The broker's
// readHistory answers through the scheduler; each scheduled step is followed by a settle and a check of
// every client's stream against the model (Model.racing: positions and counts are fixed at request time).
import fc from 'fast-check';
import type { MemoryBroker } from '../../src/adapters/broker-memory.js';
import type { Broker, HistoryRequest, HistoryResult } from '../../src/core/ports.js';
import type { SimClock } from '../../sim/adapters/clock-sim.js';
import { CHANNELS, KEYS, modelOptions, observe, type Real } from '../model/commands.js';
import { Model, expectThat } from '../model/model.js';
import { System, type Variant } from '../model/system.js';

/** A broker whose history answers are delivered by the scheduler; `onAnswer` settles and checks. */
export function scheduledBroker(s: fc.Scheduler, inner: Broker, onAnswer: () => void): Broker {
  return {
    epoch: () => inner.epoch(),
    start: (sink) => inner.start(sink),
    stop: () => inner.stop(),
    publish: (channel, data, done) => inner.publish(channel, data, done),
    readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
      void s.schedule(Promise.resolve(), `history ${request.subject} after ${request.afterOffset}`).then(() =>
        inner.readHistory(request, (result) => {
          done(result);
          onAnswer();
        }),
      );
    },
  };
}

export const SEAM_CLIENTS = 3;
/** Rings of two events: most resumes need the broker, so they are asynchronous. */
const seamOptions = { ...modelOptions, replayEventsMax: 5, history: { eventsMax: 2, bytesMax: 1e6, ageMs: 1e9 } };
const seamRetention = { eventsMax: 10_000, bytesMax: 1e9, ageMs: 1e9 };

export interface SeamScenario {
  readonly pre: readonly number[];
  readonly requests: readonly { client: number; mask: number; since: readonly number[] }[];
  readonly live: readonly number[];
}

export const seamScenarios: fc.Arbitrary<SeamScenario> = fc.record({
  pre: fc.array(fc.integer({ min: 0, max: CHANNELS.length - 1 }), { maxLength: 12 }),
  requests: fc.array(
    fc.record({
      client: fc.integer({ min: 0, max: SEAM_CLIENTS - 1 }),
      mask: fc.integer({ min: 1, max: 7 }),
      // Where `since` falls, per key, as a fraction of the head when the request is sent; -1: no since.
      since: fc.array(fc.constantFrom(-1, 0, 0.3, 0.6, 0.9, 1), { minLength: KEYS.length, maxLength: KEYS.length }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  live: fc.array(fc.integer({ min: 0, max: CHANNELS.length - 1 }), { minLength: 1, maxLength: 10 }),
});

export interface SeamRun {
  readonly model: Model;
  readonly real: Real;
  /** Runs the scenario under the scheduler: every request and publish is a scheduled task. */
  play(s: fc.Scheduler, scenario: SeamScenario, extra?: (schedule: (label: string, task: () => void) => void) => void): Promise<void>;
}

export function seamRun(variant: Variant, s: fc.Scheduler): SeamRun {
  // A scheduled task that throws rejects a promise nobody awaits: keep the first failure, rethrow it after.
  let failure: Error | null = null;
  const guard = (fn: () => void): void => {
    if (failure !== null) return;
    try {
      fn();
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
  };
  let check = (): void => {};
  const sys = new System(
    { ...variant, wrapBroker: (inner: MemoryBroker, clock: SimClock) => scheduledBroker(s, variant.wrapBroker?.(inner, clock) ?? inner, () => guard(check)) },
    { options: seamOptions, retention: seamRetention },
  );
  const model = new Model(KEYS, SEAM_CLIENTS, seamRetention, sys.options.replayEventsMax, sys.memory.epoch(), sys.options.outbound.queueBytesMax);
  model.racing = true;
  const real: Real = { sys, links: [], nextId: 1 };
  check = () => {
    sys.settle();
    observe(model, real);
  };
  const publish = (channel: number): void => {
    const ch = CHANNELS[channel]!;
    const data = model.nextData(8);
    const [offset] = sys.publish([{ channel: ch, data }]);
    if (offset === null && real.draining === true) return; // refused (503): nothing was acknowledged
    expectThat(typeof offset === 'number', 'publish refused');
    model.record(ch, offset, data);
  };
  return {
    model,
    real,
    async play(s, scenario, extra) {
      for (const ch of scenario.pre) publish(ch);
      for (let i = 0; i < SEAM_CLIENTS; i++) {
        real.links.push(sys.connect({ ip: `10.1.0.${i}`, userId: null }));
        model.clients[i]!.newSession();
      }
      check();
      const schedule = (label: string, task: () => void): void => {
        void s.schedule(Promise.resolve(), label).then(() =>
          guard(() => {
            task();
            check();
          }),
        );
      };
      for (const request of scenario.requests) {
        schedule(`subscribe ${request.client}`, () => {
          const c = model.clients[request.client]!;
          if (!c.connected) return;
          const keys = KEYS.filter((k, i) => (request.mask >> i) & 1 && !c.requested.has(k));
          if (keys.length === 0) return;
          const since: Record<string, number> = {};
          keys.forEach((k) => {
            const at = request.since[KEYS.indexOf(k)] ?? -1;
            if (at >= 0) since[k] = Math.floor(at * model.head);
          });
          const id = real.nextId++;
          c.requestSubscribe(id, keys, since, model.head);
          const wire = Object.fromEntries(Object.entries(since).map(([k, offset]) => [k, { epoch: model.epoch, offset }]));
          sys.send(real.links[request.client]!, { type: 'subscribe', id, channels: keys, since: wire });
        });
      }
      for (const ch of scenario.live) schedule(`publish ${CHANNELS[ch]}`, () => publish(ch));
      extra?.(schedule);
      await s.waitAll();
      if (failure !== null) throw failure;
      check();
      // (After a drain nobody may be connected; the drain property says so in its own terms.)
      if (real.draining !== true)
        for (const c of model.clients) if (c.connected) expectThat(c.pending.size === 0, `I3: client ${c.index} never got its subscribe reply`);
    },
  };
}

/** I1–I4 at the seam: whatever the interleaving, each stream is the exact suffix, then live, once each. */
export function seamProperty(variant: Variant): fc.IAsyncPropertyWithHooks<[fc.Scheduler, SeamScenario]> {
  return fc.asyncProperty(fc.scheduler(), seamScenarios, async (s, scenario) => {
    await seamRun(variant, s).play(s, scenario);
  });
}
