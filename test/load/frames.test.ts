// The load worker's per-frame work: counting events and reading the embedded publish time without
// JSON.parse must give the same answers a parse would.
import { describe, expect, it } from 'vitest';
import { controlKind, countEvents, forEachSentTime } from '../../src/load/frames.js';
import { eventData } from '../../src/load/payload.js';

const frame = (text: string): Buffer => Buffer.from(text, 'utf8');
const event = (offset: number, data: string): string => `{"type":"event","ch":"odin.token.load.0","offset":${offset},"prev":${offset - 1},"data":${data}}`;

function times(f: Buffer): number[] {
  const out: number[] = [];
  forEachSentTime(f, (t) => out.push(t));
  return out;
}

describe('load frames', () => {
  it('counts one event per event frame and none in control frames', () => {
    expect(countEvents(frame(event(1, eventData(123, 0, 10))))).toBe(1);
    for (const text of ['{"type":"welcome","session":"s"}', '{"type":"subscribed","id":1,"channels":{}}', '{"type":"gap","ch":"x","from":1,"to":2}', '']) {
      expect(countEvents(frame(text))).toBe(0);
    }
  });

  it('counts every event of a newline-delimited batch frame', () => {
    const batch = [event(1, eventData(1, 0, 0)), event(2, eventData(2, 1, 0)), event(3, eventData(3, 2, 0))].join('\n');
    expect(countEvents(frame(batch))).toBe(3);
    // A batch that starts with a control message still counts its events.
    expect(countEvents(frame(`{"type":"throttle","level":1}\n${event(4, '{}')}`))).toBe(1);
  });

  it('reads the publish time exactly as JSON.parse would', () => {
    const sent = 1_234_567_890_123;
    const text = event(7, eventData(sent, 7, 200));
    expect(times(frame(text))).toEqual([(JSON.parse(text) as { data: { t: number } }).data.t]);
  });

  it('reads one time per event in a batch, in order', () => {
    const batch = [event(1, eventData(10, 0, 5)), event(2, eventData(20, 1, 5))].join('\n');
    expect(times(frame(batch))).toEqual([10, 20]);
  });

  it('skips a time field that is not a number rather than inventing one', () => {
    expect(times(frame(event(1, '{"t":"soon","n":1}')))).toEqual([]);
    expect(times(frame(event(1, '{"price":1}')))).toEqual([]);
  });

  it('names control frames by their type', () => {
    expect(controlKind(frame('{"type":"gap","ch":"a","from":1,"to":3,"reason":"shed"}'))).toBe('gap');
    expect(controlKind(frame('{"type":"throttle","level":2}'))).toBe('throttle');
    expect(controlKind(frame('{"type":"subscribed","id":1}'))).toBe('subscribed');
    expect(controlKind(frame('not json'))).toBe('other');
  });

  it('pads event data to the requested size and keeps t first', () => {
    const data = eventData(42, 3, 300);
    expect(data.length).toBe(300);
    expect(data.startsWith('{"t":42,')).toBe(true);
    expect(JSON.parse(data)).toMatchObject({ t: 42, n: 3 });
    // Smaller than the bare fields: no padding, still valid.
    expect(JSON.parse(eventData(42, 3, 1))).toEqual({ t: 42, n: 3, p: '' });
  });
});
