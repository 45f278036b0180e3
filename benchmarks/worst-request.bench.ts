// (g) The most expensive single inbound message, against the event-loop budget of ~10 ms.
//
// The embedded broker retains 100,000 events: 100 busy channels (odin.token.T0..T99.trade, about 998
// events each, round-robin) and one rare channel (odin.global.rare, 200 events spread over the whole log). The
// gateway's rings keep the last 100 events per channel, so resumes from offset 0 must ask the broker.
// Each case is one message through Gateway.onMessage plus the turn's flush (the frames written), timed
// with performance.now on a fresh connection, 15 times (the first few warm the JIT):
//
//   patterns-nomatch   subscribe to 100 patterns nomatchN.> resuming from offset 0
//   patterns-match     subscribe to 100 patterns odin.token.TN.> resuming from offset 0
//   channels-since-0   subscribe to the 100 busy channels resuming from offset 0
//   replay-rare        replay (0, 2^53 − 1] of the rare channel
//   replay-busy        replay (0, 2^53 − 1] of one busy channel
//
// Not a mitata pair: there is no baseline to race, only a budget. The report gives p50 and max per case
// and whether the max stays under the budget. No timing is asserted anywhere (test/benchmarks checks only
// that the harness does what it says).
import { MemoryBroker } from '../src/adapters/broker-memory.js';
import { Gateway, type Session } from '../src/core/gateway.js';
import { gatewayOptions } from '../src/core/options.js';
import type { ClientMessage } from '../src/core/protocol.js';
import { SimClock } from '../sim/adapters/clock-sim.js';
import { CountingConnection, seeded, silentTelemetry } from './lib/fakes.js';
import { machine, median, round, type BenchModule, type BenchReport, type RunOptions } from './lib/report.js';

export const RETAINED_EVENTS = 100_000;
const BUSY_CHANNELS = 100;
const RARE_EVERY = 500;
const BUDGET_MS = 10;
const PAYLOAD = '{"price":1.25,"size":100,"side":"buy"}';

export interface WorstRequestRig {
  readonly gateway: Gateway;
  readonly broker: MemoryBroker;
  readonly clock: SimClock;
  /** Opens a session, sends `message`, flushes; returns the frames written and the time taken. */
  send(message: ClientMessage): { readonly ms: number; readonly conn: CountingConnection; readonly session: Session };
}

export function startRig(retained = RETAINED_EVENTS): WorstRequestRig {
  const clock = new SimClock();
  const random = seeded(9);
  const broker = new MemoryBroker(clock, random, { eventsMax: retained, bytesMax: 1024 ** 3, ageMs: 1e12 });
  const options = gatewayOptions({
    inbound: { messageBurst: 1e6, messagesPerSecond: 1e6 },
    admission: { connectionsMax: 1e6, perIpMax: 1e6, handshakeBurst: 1e6, handshakesPerSecond: 1e6 },
  });
  const gateway = new Gateway({ clock, random, broker, telemetry: silentTelemetry }, options);
  gateway.start();
  for (let i = 1; i <= retained; i++) {
    const channel = i % RARE_EVERY === 0 ? 'odin.global.rare' : `odin.token.T${i % BUSY_CHANNELS}.trade`;
    broker.publish(channel, PAYLOAD, () => undefined);
  }
  clock.settle();
  let ip = 0;
  const send = (message: ClientMessage) => {
    const admission = gateway.admit({ ip: `10.0.${(++ip >> 8) & 255}.${ip & 255}`, userId: null });
    if (!admission.ok) throw new Error(`admission refused: ${admission.message}`);
    const conn = new CountingConnection();
    const session = gateway.open(conn, admission.ticket);
    clock.settle();
    const text = JSON.stringify(message);
    const t0 = performance.now();
    gateway.onMessage(session, text);
    clock.settle();
    const ms = performance.now() - t0;
    gateway.onClosed(session, 1000);
    return { ms, conn, session };
  };
  return { gateway, broker, clock, send };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The worst-case messages, by case name. `epoch` is the broker's, so every resume is a real resume. */
export function cases(epoch: string): Readonly<Record<string, ClientMessage>> {
  const since = (channels: readonly string[]) => Object.fromEntries(channels.map((c) => [c, { epoch, offset: 0 }]));
  const nomatch = range(100).map((i) => `nomatch${i}.>`);
  const match = range(BUSY_CHANNELS).map((i) => `odin.token.T${i}.>`);
  const busy = range(BUSY_CHANNELS).map((i) => `odin.token.T${i}.trade`);
  return {
    'patterns-nomatch': { type: 'subscribe', id: 1, channels: nomatch, since: since(nomatch) },
    'patterns-match': { type: 'subscribe', id: 1, channels: match, since: since(match) },
    'channels-since-0': { type: 'subscribe', id: 1, channels: busy, since: since(busy) },
    'replay-rare': { type: 'subscribe', id: 1, channels: ['odin.global.rare'] },
    'replay-busy': { type: 'subscribe', id: 1, channels: ['odin.token.T7.trade'] },
  };
}

const REPLAYS: Readonly<Record<string, string>> = { 'replay-rare': 'odin.global.rare', 'replay-busy': 'odin.token.T7.trade' };

export interface CaseTiming {
  readonly name: string;
  readonly p50Ms: number;
  readonly maxMs: number;
  readonly framesWritten: number;
  readonly withinBudget: boolean;
}

/** Times one case `rounds` times; replay cases subscribe first (untimed) and time the replay alone. */
export function timeCase(rig: WorstRequestRig, name: string, message: ClientMessage, rounds: number): CaseTiming {
  const times: number[] = [];
  let frames = 0;
  for (let r = 0; r < rounds; r++) {
    const channel = REPLAYS[name];
    if (channel === undefined) {
      const { ms, conn } = rig.send(message);
      times.push(ms);
      frames = conn.frames;
      continue;
    }
    const admission = rig.gateway.admit({ ip: `10.1.0.${r}`, userId: null });
    if (!admission.ok) throw new Error(admission.message);
    const conn = new CountingConnection();
    const session = rig.gateway.open(conn, admission.ticket);
    rig.gateway.onMessage(session, JSON.stringify(message));
    rig.clock.settle();
    const before = conn.frames;
    const t0 = performance.now();
    rig.gateway.onMessage(session, JSON.stringify({ type: 'replay', id: 2, channel, from: 0, to: Number.MAX_SAFE_INTEGER }));
    rig.clock.settle();
    times.push(performance.now() - t0);
    frames = conn.frames - before;
    rig.gateway.onClosed(session, 1000);
  }
  const warm = times.slice(Math.min(3, times.length - 1));
  const maxMs = Math.max(...warm);
  return { name, p50Ms: round(median(warm), 3), maxMs: round(maxMs, 3), framesWritten: frames, withinBudget: maxMs <= BUDGET_MS };
}

export const bench: BenchModule = {
  name: 'worst-request',
  title: `the most expensive single inbound message at ${RETAINED_EVENTS.toLocaleString('en')} retained events, against a ${BUDGET_MS} ms budget`,
  async run(options: RunOptions): Promise<BenchReport> {
    const started = performance.now();
    const retained = options.quick ? 10_000 : RETAINED_EVENTS;
    const rig = startRig(retained);
    const rounds = options.quick ? 4 : 15;
    const timings: CaseTiming[] = [];
    for (const [name, message] of Object.entries(cases(rig.broker.epoch()))) {
      const t = timeCase(rig, name, message, rounds);
      timings.push(t);
      options.print(
        `${name.padEnd(18)} p50 ${t.p50Ms.toFixed(3).padStart(9)} ms   max ${t.maxMs.toFixed(3).padStart(9)} ms   ${t.framesWritten} frames   ${t.withinBudget ? 'within' : 'OVER'} ${BUDGET_MS} ms`,
      );
    }
    return {
      name: 'worst-request',
      title: this.title,
      baselineIs: `the budget: ${BUDGET_MS} ms of event loop per inbound message`,
      oursIs: 'Gateway.onMessage plus the flush of its frames, embedded broker',
      machine: machine(),
      comparisons: [],
      extra: {
        retained,
        timings,
        summary: timings.map(
          (t) => `${t.name.padEnd(18)} p50 ${t.p50Ms} ms, max ${t.maxMs} ms, ${t.framesWritten} frames — ${t.withinBudget ? 'within' : 'OVER'} ${BUDGET_MS} ms`,
        ),
      },
      notes: [`${rounds} rounds per case, the first 3 dropped as JIT warm-up`],
      durationMs: performance.now() - started,
    };
  },
};
