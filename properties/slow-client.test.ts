// I6 and the slow-client policy (docs/design.md, "Slow clients") at the queue itself (src/core/outbound-queue.ts): whatever is
// pushed, conflated, shed or evicted, one take() writes every control frame, and per channel events and
// gap notices in offset order that together account for every event handed to the queue (nothing lost
// silently); and the byte count the policy steers by is the bytes actually held.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frameOf } from '../src/core/codec.js';
import type { EventRecord } from '../src/core/history.js';
import type { Priority } from '../src/core/options.js';
import { OutboundQueue } from '../src/core/outbound-queue.js';
import type { ServerMessage } from '../src/core/protocol.js';
import { System, realCore } from './model/system.js';
import { runs } from './support/runs.js';

const CH = ['a', 'b', 'c'];
const PRIORITIES: Priority[] = ['low', 'normal', 'high', 'critical'];
const GAP_FRAME_BYTES = 96; // the queue's documented estimate for a gap notice
const utf8 = new TextDecoder();

const op = fc.oneof(
  fc.record({ kind: fc.constantFrom('event', 'event', 'conflate', 'shed'), channel: fc.nat(2), size: fc.integer({ min: 1, max: 300 }), priority: fc.nat(3) }),
  fc.record({ kind: fc.constantFrom('control', 'boundary'), channel: fc.constant(0), size: fc.integer({ min: 1, max: 50 }), priority: fc.constant(3) }),
  fc.record({ kind: fc.constant('evict'), channel: fc.constant(0), size: fc.integer({ min: 0, max: 1_500 }), priority: fc.nat(3) }),
  fc.record({ kind: fc.constant('take'), channel: fc.constant(0), size: fc.constant(0), priority: fc.constant(0) }),
);

describe('outbound queue (slow-client policy)', () => {
  it('accounts for every event (delivered or named by a gap), in order per channel, and counts its bytes truly', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60, size: 'max' }), (ops) => {
        const queue = new OutboundQueue();
        let offset = 0;
        const priorityOf = new Map<number, number>(); // an event keeps the priority of the slot it sits in
        const handed = new Map<string, number[]>(); // offsets given to the queue since the last take
        const controls: Uint8Array[] = [];
        // For each boundary control frame (a `subscribed` reply), the last offset handed before it.
        const boundaries = new Map<Uint8Array, number>();
        let sinceBoundary = 0; // snapshot index of the first slot after the last boundary
        const take = (): void => {
          const bytesHeld = queue.bytes;
          const frames = queue.take();
          let counted = 0;
          const seen = new Map<string, number>();
          const covered = new Set<number>();
          let controlIndex = 0;
          // Nothing before a boundary may name an offset handed after it (a later subscription's event).
          const limitAhead = frames.map(() => Infinity);
          for (let i = frames.length - 1, limit = Infinity; i >= 0; i--) {
            limitAhead[i] = limit;
            limit = Math.min(limit, boundaries.get(frames[i]!.bytes) ?? Infinity);
          }
          for (const [i, f] of frames.entries()) {
            const m = JSON.parse(utf8.decode(f.bytes)) as ServerMessage | { c: number };
            if ('c' in m) {
              // Control frames leave unchanged, in the order they were queued.
              expect(f.bytes).toBe(controls[controlIndex++]);
              counted += f.bytes.byteLength;
              continue;
            }
            if (m.type === 'gap') {
              expect(m.from).toBeLessThanOrEqual(m.to);
              expect(m.from).toBeGreaterThan(seen.get(m.ch) ?? 0);
              expect(['shed', 'conflated']).toContain(m.reason);
              expect(m.to).toBeLessThanOrEqual(limitAhead[i]!);
              seen.set(m.ch, m.to);
              for (const o of handed.get(m.ch) ?? []) if (o >= m.from && o <= m.to) covered.add(o);
              counted += GAP_FRAME_BYTES;
            } else if (m.type === 'event') {
              expect(m.offset).toBeGreaterThan(seen.get(m.ch) ?? 0);
              expect(m.offset).toBeLessThanOrEqual(limitAhead[i]!);
              seen.set(m.ch, m.offset);
              covered.add(m.offset);
              counted += f.bytes.byteLength;
            }
          }
          expect(controlIndex).toBe(controls.length);
          for (const [, offsets] of handed) for (const o of offsets) expect(covered.has(o)).toBe(true);
          expect(bytesHeld).toBe(counted);
          expect(queue.bytes).toBe(0);
          expect(queue.length).toBe(0);
          expect(queue.snapshot()).toEqual([]);
          handed.clear();
          controls.length = 0;
          boundaries.clear();
          sinceBoundary = 0;
        };
        for (const o of ops) {
          const channel = CH[o.channel]!;
          if (o.kind === 'take') {
            take();
            continue;
          }
          if (o.kind === 'control' || o.kind === 'boundary') {
            const frame = frameOf(JSON.stringify({ c: o.size, pad: 'x'.repeat(o.size) }));
            controls.push(frame.bytes);
            if (o.kind === 'control') queue.pushControl(frame);
            else {
              queue.pushBoundary(frame);
              boundaries.set(frame.bytes, offset);
              sinceBoundary = queue.snapshot().length;
            }
            continue;
          }
          if (o.kind === 'evict') {
            const before = queue.bytes;
            const above = o.priority;
            const queuedBefore = new Set(queue.snapshot().flatMap((slot) => (slot.event === null ? [] : [slot.event])));
            const freed = queue.evictBelow(PRIORITIES[above]!, o.size);
            // (An event smaller than a gap notice frees nothing by becoming one: bytes may even grow.)
            expect(freed).toBe(before - queue.bytes >= o.size);
            const queuedAfter = new Set(queue.snapshot().flatMap((slot) => (slot.event === null ? [] : [slot.event])));
            const evicted = [...queuedBefore].filter((e) => !queuedAfter.has(e));
            // Only events below `above` go, lowest priority first; and it gives up only with none left.
            for (const e of evicted) expect(priorityOf.get(e)!).toBeLessThan(above);
            const lowestKept = Math.min(...[...queuedAfter].map((e) => priorityOf.get(e)!));
            for (const e of evicted) expect(priorityOf.get(e)!).toBeLessThanOrEqual(lowestKept);
            if (!freed) for (const e of queuedAfter) expect(priorityOf.get(e)!).toBeGreaterThanOrEqual(above);
            continue;
          }
          const record: EventRecord = {
            channel,
            offset: ++offset,
            prev: null,
            frame: frameOf(JSON.stringify({ type: 'event', ch: channel, offset, prev: null, data: 'x'.repeat(o.size) })),
            atMs: 0,
            evicted: false,
          };
          handed.set(channel, [...(handed.get(channel) ?? []), offset]);
          // A conflated event takes over the slot, and so the priority, of the event it replaces.
          const slots = queue.snapshot();
          const tailAt = slots.map((slot) => slot.channel).lastIndexOf(channel);
          const tail = tailAt >= sinceBoundary ? slots[tailAt] : undefined;
          priorityOf.set(offset, o.kind === 'conflate' && tail?.event != null ? priorityOf.get(tail.event)! : o.priority);
          if (o.kind === 'event') queue.pushEvent(record, PRIORITIES[o.priority]!);
          else if (o.kind === 'shed') queue.shed(record, 'shed');
          else if (queue.conflate(record)) expect(tail?.event).not.toBeNull();
          else {
            expect(tail?.event ?? null).toBeNull(); // conflation needs a queued event of the channel
            queue.pushEvent(record, PRIORITIES[o.priority]!);
          }
          const snapshot = queue.snapshot();
          expect(snapshot.length).toBeLessThanOrEqual(queue.length);
        }
        take();
      }),
      runs(400),
    );
  });

  it('coalesces consecutive sheds of a channel into one gap notice', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(2), { minLength: 1, maxLength: 30, size: 'max' }), (channels) => {
        const queue = new OutboundQueue();
        channels.forEach((c, i) => queue.shed({ channel: CH[c]!, offset: i + 1, prev: null, frame: frameOf('{}'), atMs: 0, evicted: false }, 'shed'));
        const gaps = queue.take().map((f) => JSON.parse(utf8.decode(f.bytes)) as Extract<ServerMessage, { type: 'gap' }>);
        const used = [...new Set(channels)].map((c) => CH[c]!);
        expect(gaps.map((g) => g.ch).sort()).toEqual(used.sort());
        for (const g of gaps) {
          const offsets = channels.flatMap((c, i) => (CH[c] === g.ch ? [i + 1] : []));
          expect([g.from, g.to]).toEqual([offsets[0], offsets.at(-1)]);
        }
      }),
      runs(100),
    );
  });
});

// ---- the slow-client policy, through the gateway -------------------------------------------------------

const CLASSES = [
  { pattern: 'c', priority: 'critical' as const, conflate: false },
  { pattern: 'h', priority: 'high' as const, conflate: false },
  { pattern: 'n', priority: 'normal' as const, conflate: false },
  { pattern: 'nc', priority: 'normal' as const, conflate: true },
  { pattern: 'l', priority: 'low' as const, conflate: false },
  { pattern: 'lc', priority: 'low' as const, conflate: true },
];
const MAX = 4_000;
const LEVELS = [0.5, 0.75, 0.9] as const;

describe('slow-client policy: conflate, then shed by priority, critical never', () => {
  it('takes exactly the step the fill level calls for, and tells the client its level', () => {
    const seen = { queued: 0, conflated: 0, shed: 0, closed: 0 };
    const step = fc.oneof(
      { weight: 20, arbitrary: fc.record({ channel: fc.oneof(fc.constant(0), fc.nat(CLASSES.length - 1)), size: fc.integer({ min: 1, max: 900 }) }) },
      { weight: 1, arbitrary: fc.record({ unstall: fc.integer({ min: 0, max: 1_600 }) }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 1_600 }), fc.array(step, { maxLength: 60, size: 'max' }), (buffered, steps) => {
        const sys = new System(realCore, {
          options: {
            heartbeatMs: 1e9,
            channelClasses: CLASSES,
            outbound: { queueBytesMax: MAX, socketHighWaterBytes: 100, throttleLevels: [...LEVELS], slowCloseAfterMs: 1e9 },
          },
        });
        const link = sys.connect({ ip: '10.0.0.1', userId: null })!;
        sys.send(link, { type: 'subscribe', id: 1, channels: CLASSES.map((c) => c.pattern) });
        link.conn.buffered = buffered;
        const session = link.session;
        for (const s of steps) {
          if ('unstall' in s) {
            link.conn.buffered = 0;
            sys.gateway.onWritable(session);
            sys.settle();
            expect(session.queue.length).toBe(0);
            expect(session.throttleLevel).toBe(0); // caught up: the level steps down once the queue is empty
            link.conn.buffered = Math.max(100, s.unstall);
            continue;
          }
          if (link.ended !== null) break;
          const cls = CLASSES[s.channel]!;
          const pressure = session.queue.bytes + link.conn.buffered;
          const fill = pressure / MAX;
          const previous = session.throttleLevel;
          const tail = [...session.queue.snapshot()].reverse().find((slot) => slot.channel === cls.pattern);
          const [offset] = sys.publish([{ channel: cls.pattern, data: JSON.stringify('x'.repeat(s.size)) }]);
          const size = JSON.stringify({ type: 'event', ch: cls.pattern, offset, prev: 0, data: 'x'.repeat(s.size) }).length;
          // The level: thresholds crossed, stepping down only once clearly (0.1) below the one left.
          let level = LEVELS.filter((t) => fill >= t).length;
          if (level < previous && fill > LEVELS[previous - 1]! - 0.1) level = previous;
          const ended = link.ended as { code: number } | null;
          if (ended !== null) {
            seen.closed++;
            expect(cls.priority).toBe('critical');
            expect(ended.code).toBe(1008);
            expect(pressure + size).toBeGreaterThan(2 * MAX - 200); // frames' prev field varies a little
            break;
          }
          expect(session.throttleLevel).toBe(level);
          const after = session.queue.snapshot();
          const mine = after.filter((slot) => slot.channel === cls.pattern);
          const queued = mine.some((slot) => slot.event === offset);
          const shed = mine.some((slot) => slot.event !== offset && slot.gap !== null && slot.gap[0] <= offset! && offset! <= slot.gap[1]);
          const over = pressure + size > MAX + 50;
          const under = pressure + size < MAX - 50;
          if (cls.priority === 'critical') {
            expect(queued).toBe(true);
          } else if (cls.conflate && level >= 1 && tail?.event != null) {
            // Conflated: the newest queued event of the channel is replaced, its offset joins the gap.
            expect(queued).toBe(true);
            expect(mine.at(-1)?.gap?.[1]).toBe(tail.event);
          } else if ((cls.priority === 'low' && level >= 2) || (cls.priority === 'normal' && level >= 3) || over) {
            expect(shed).toBe(true);
          } else if (under) {
            expect(queued).toBe(true);
          }
          expect(queued !== shed).toBe(true);
          if (shed) seen.shed++;
          else if (tail?.event != null && mine.at(-1)?.gap?.[1] === tail.event) seen.conflated++;
          else seen.queued++;
        }
      }),
      runs(200),
    );
    // Guards the generator: every branch of the policy was taken.
    expect(
      Object.values(seen).every((n) => n > 0),
      JSON.stringify(seen),
    ).toBe(true);
  });
});
