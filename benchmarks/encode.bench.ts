// (a) Encode once vs encode per client: the cost of turning one publish into bytes for N subscribers.
//
// Baseline — what a naive hub does: for every subscriber, build the event object, JSON.stringify it,
// turn the string into a Buffer and frame it (exactly what `ws.send(JSON.stringify(obj))` does per call).
// Ours — what the core does (docs/design.md, "Channels, positions and encode once"; I5): encodeEvent once (the publisher's JSON text spliced in, not
// re-serialised), frame it once for the wire (transport-ws wireChunks), and hand the same Frame to every
// subscriber's queue by reference.
// A third variant runs the whole core fan-out: MemoryBroker.publish → Gateway (history append, index
// match, per-session queue and slow-client policy, one flush per session) into counting connections.
import * as wsExports from 'ws';
import { MemoryBroker } from '../src/adapters/broker-memory.js';
import { wireBytes, wireChunks } from '../src/adapters/transport-ws.js';
import { encodeEvent } from '../src/core/codec.js';
import { Gateway, type Session } from '../src/core/gateway.js';
import { gatewayOptions } from '../src/core/options.js';
import type { BrokerEvent, Frame } from '../src/core/ports.js';
import { SimClock } from '../sim/adapters/clock-sim.js';
import { CountingConnection, seeded, silentTelemetry } from './lib/fakes.js';
import { check, comparisonTable, machine, runPairs, type BenchModule, type BenchReport, type PairSpec, type RunOptions } from './lib/report.js';

interface SenderStatic {
  frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
}
const Sender = (wsExports as unknown as { Sender: SenderStatic }).Sender;

export const CHANNEL = 'odin.token.ABC.trade';
/** A realistic trade payload (~130 bytes of JSON). */
export const PAYLOAD = { id: 'tr-8f3a2c', price: 0.000123456, size: 1520.25, side: 'buy', ts: 1_763_856_000_123, maker: '0x9a8b7c6d5e4f' };
const PAYLOAD_TEXT = JSON.stringify(PAYLOAD);

/** The baseline's per-subscriber work. Returns the framed wire bytes, as ws would write them. */
export function naiveEncodeFor(offset: number, prev: number): Buffer[] {
  const message = { type: 'event', ch: CHANNEL, offset, prev, data: PAYLOAD };
  return Sender.frame(Buffer.from(JSON.stringify(message)), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
}

/** Ours: one frame for everyone, framed for the wire once. */
export function encodeOnce(offset: number, prev: number): Frame {
  const event: BrokerEvent = { channel: CHANNEL, offset, prev, data: PAYLOAD_TEXT };
  const frame = encodeEvent(event);
  wireChunks(frame);
  return frame;
}

export interface EncodeSetup {
  readonly n: number;
  naive(): void;
  ours(): void;
  gateway(): void;
  /** What the last iteration produced, for validation. */
  readonly naiveQueue: Buffer[][];
  readonly oursQueue: Frame[];
  readonly conns: readonly CountingConnection[];
}

/** A core with `n` sessions subscribed to CHANNEL, driven synchronously. */
function coreWith(n: number): { publish(): void; conns: CountingConnection[] } {
  const clock = new SimClock();
  const random = seeded(1);
  const broker = new MemoryBroker(clock, random, { eventsMax: 1_000, bytesMax: 16 * 1024 * 1024, ageMs: 60_000 });
  const options = gatewayOptions({ admission: { connectionsMax: n + 10, perIpMax: n + 10, handshakeBurst: n + 10 } });
  const gateway = new Gateway({ clock, random, broker, telemetry: silentTelemetry }, options);
  gateway.start();
  const conns: CountingConnection[] = [];
  const sessions: Session[] = [];
  for (let i = 0; i < n; i++) {
    const admission = gateway.admit({ ip: '127.0.0.1', userId: null });
    if (!admission.ok) throw new Error(`admission refused: ${admission.reason}`);
    const conn = new CountingConnection();
    sessions.push(gateway.open(conn, admission.ticket));
    conns.push(conn);
  }
  for (const session of sessions) gateway.onMessage(session, JSON.stringify({ type: 'subscribe', id: 1, channels: [CHANNEL] }));
  clock.settle();
  return {
    conns,
    publish() {
      broker.publish(CHANNEL, PAYLOAD_TEXT, () => undefined);
      clock.settle();
      // Keeps the history ring's age bound honest: a publish every 0.1 ms of virtual time.
      clock.advance(0.1);
    },
  };
}

export function setup(n: number): EncodeSetup {
  const naiveQueue: Buffer[][] = new Array<Buffer[]>(n);
  const oursQueue: Frame[] = new Array<Frame>(n);
  let offset = 1;
  const core = coreWith(n);
  return {
    n,
    naiveQueue,
    oursQueue,
    conns: core.conns,
    naive() {
      const prev = offset++;
      for (let i = 0; i < n; i++) naiveQueue[i] = naiveEncodeFor(offset, prev);
    },
    ours() {
      const prev = offset++;
      const frame = encodeOnce(offset, prev);
      for (let i = 0; i < n; i++) oursQueue[i] = frame;
    },
    gateway: core.publish,
  };
}

/** The payload of one unmasked server frame (RFC 6455 §5.2 length forms). */
function payloadOf(wire: Buffer): Buffer {
  const len = wire[1]! & 0x7f;
  return wire.subarray(len < 126 ? 2 : len === 126 ? 4 : 10);
}

/** Both variants produce the same message for every subscriber; the core path reaches every session. */
export function validate(s: EncodeSetup): void {
  s.naive();
  s.ours();
  const decoder = new TextDecoder();
  const ours = JSON.parse(decoder.decode(s.oursQueue[0]!.bytes)) as Record<string, unknown>;
  for (let i = 0; i < s.n; i++) {
    check(s.oursQueue[i] === s.oursQueue[0], 'ours shares one Frame object between subscribers');
    const naive = JSON.parse(payloadOf(Buffer.concat(s.naiveQueue[i]!)).toString('utf8')) as Record<string, unknown>;
    check(JSON.stringify(naive.data) === JSON.stringify(ours.data) && naive.ch === ours.ch, `subscriber ${i}: naive and ours differ`);
  }
  const wire = wireBytes(s.oursQueue[0]!);
  check(wire[0] === 0x81 && payloadOf(wire).equals(Buffer.from(s.oursQueue[0]!.bytes)), 'wire frame holds the payload');
  const before = s.conns.map((c) => c.frames);
  s.gateway();
  s.conns.forEach((c, i) => check(c.frames === before[i]! + 1, `gateway path: session ${i} got ${c.frames - before[i]!} frames for one publish`));
  const first = s.conns[0]!.last;
  check(first !== null && s.conns.every((c) => c.last === first), 'gateway path: every session got the same Frame (I5)');
}

export const bench: BenchModule = {
  name: 'encode',
  title: 'Encode once vs per client (one publish → N subscribers)',
  async run(options: RunOptions): Promise<BenchReport> {
    const started = performance.now();
    const sizes = options.quick ? [100] : [100, 1_000, 10_000];
    const pairs: PairSpec[] = [];
    for (const n of sizes) {
      const s = setup(n);
      validate(s);
      pairs.push({
        label: `N=${n}`,
        itemsPerIteration: n,
        itemName: 'subscriber',
        baseline: { name: 'naive: stringify+frame per client', fn: s.naive },
        ours: { name: 'odin: encodeEvent+frame once, shared', fn: s.ours },
        others: [{ name: 'odin: full core fan-out (Gateway)', fn: s.gateway }],
      });
    }
    const comparisons = await runPairs(pairs, options);
    options.print(comparisonTable(comparisons));
    return {
      name: 'encode',
      title: this.title,
      baselineIs:
        'per subscriber: build {type,ch,offset,prev,data} object, JSON.stringify, Buffer.from, ws Sender.frame (= ws.send(JSON.stringify(obj)) minus the socket write)',
      oursIs: 'per publish: encodeEvent (payload text spliced in) + wireChunks once; per subscriber: store the shared Frame reference',
      machine: machine(),
      comparisons,
      notes: [
        `payload ${PAYLOAD_TEXT.length} bytes of JSON; event frame ${encodeOnce(1, 0).bytes.byteLength} bytes`,
        'the "full core fan-out" variant adds what the Gateway does per subscriber (index match, queue slot, throttle check, flush into a connection) — compare it with the baseline for the end-to-end core cost',
      ],
      durationMs: Math.round(performance.now() - started),
    };
  },
};
