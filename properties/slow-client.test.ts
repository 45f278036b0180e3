// I6 and the slow-client policy (DESIGN §4) at the queue itself (src/core/outbound-queue.ts): whatever is
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
import { runs } from './support/runs.js';

const CH = ['a', 'b', 'c'];
const PRIORITIES: Priority[] = ['low', 'normal', 'high', 'critical'];
const GAP_FRAME_BYTES = 96; // the queue's documented estimate for a gap notice
const utf8 = new TextDecoder();

const op = fc.oneof(
  fc.record({ kind: fc.constantFrom('event', 'event', 'conflate', 'shed'), channel: fc.nat(2), size: fc.integer({ min: 1, max: 300 }), priority: fc.nat(3) }),
  fc.record({ kind: fc.constant('control'), channel: fc.constant(0), size: fc.integer({ min: 1, max: 50 }), priority: fc.constant(3) }),
  fc.record({ kind: fc.constant('evict'), channel: fc.constant(0), size: fc.integer({ min: 0, max: 1_500 }), priority: fc.nat(3) }),
  fc.record({ kind: fc.constant('take'), channel: fc.constant(0), size: fc.constant(0), priority: fc.constant(0) }),
);

describe('outbound queue (slow-client policy)', () => {
  it('accounts for every event (delivered or named by a gap), in order per channel, and counts its bytes truly', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const queue = new OutboundQueue();
        let offset = 0;
        const handed = new Map<string, number[]>(); // offsets given to the queue since the last take
        const controls: Uint8Array[] = [];
        const take = (): void => {
          const bytesHeld = queue.bytes;
          const frames = queue.take();
          let counted = 0;
          const seen = new Map<string, number>();
          const covered = new Set<number>();
          let controlIndex = 0;
          for (const f of frames) {
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
              seen.set(m.ch, m.to);
              for (const o of handed.get(m.ch) ?? []) if (o >= m.from && o <= m.to) covered.add(o);
              counted += GAP_FRAME_BYTES;
            } else if (m.type === 'event') {
              expect(m.offset).toBeGreaterThan(seen.get(m.ch) ?? 0);
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
        };
        for (const o of ops) {
          const channel = CH[o.channel]!;
          if (o.kind === 'take') {
            take();
            continue;
          }
          if (o.kind === 'control') {
            const frame = frameOf(JSON.stringify({ c: o.size, pad: 'x'.repeat(o.size) }));
            controls.push(frame.bytes);
            queue.pushControl(frame);
            continue;
          }
          if (o.kind === 'evict') {
            const before = queue.bytes;
            const freed = queue.evictBelow(PRIORITIES[o.priority]!, o.size);
            // (An event smaller than a gap notice frees nothing by becoming one: bytes may even grow.)
            expect(freed).toBe(before - queue.bytes >= o.size);
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
          if (o.kind === 'event') queue.pushEvent(record, PRIORITIES[o.priority]!);
          else if (o.kind === 'shed') queue.shed(record, 'shed');
          else if (!queue.conflate(record)) queue.pushEvent(record, PRIORITIES[o.priority]!);
          const snapshot = queue.snapshot();
          expect(snapshot.length).toBeLessThanOrEqual(queue.length);
        }
        take();
      }),
      runs(400),
    );
  });
});
