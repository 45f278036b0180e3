// What a load worker does per received frame, without JSON.parse: count the events in it (a frame holds one
// message today; with write batching it may hold several, newline-delimited, so every line that starts an
// event counts) and, on the sampled connections only, read the publish time the load publisher embedded as
// the first field of the event's data: `"data":{"t":<µs>,…}`. Both servers the benches drive (odin and the
// naive hub) keep the publisher's field order, so the time is found by a byte search.
//
// Buffer.indexOf is a native memchr-style search: counting a 200-byte frame costs well under a microsecond,
// where JSON.parse would cost several and allocate.

const EVENT = Buffer.from('{"type":"event"');
const NEXT_EVENT = Buffer.from('\n{"type":"event"');
/** The first field of every payload the load publisher sends (see payload.ts). */
const SENT_AT = Buffer.from('{"t":');

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Events in one received frame: 1 for a plain event frame, n for n newline-delimited events, 0 otherwise. */
export function countEvents(frame: Buffer): number {
  let count = frame.length >= EVENT.length && frame.compare(EVENT, 0, EVENT.length, 0, EVENT.length) === 0 ? 1 : 0;
  for (let at = frame.indexOf(NEXT_EVENT); at >= 0; at = frame.indexOf(NEXT_EVENT, at + NEXT_EVENT.length)) count++;
  return count;
}

/**
 * Calls `visit` with each embedded publish time (microseconds, as written by the publisher) in the frame,
 * in order. A field that is not a run of digits is skipped: a server that rewrites payloads can cost us a
 * sample, never a wrong one.
 */
export function forEachSentTime(frame: Buffer, visit: (sentUs: number) => void): void {
  for (let at = frame.indexOf(SENT_AT); at >= 0; at = frame.indexOf(SENT_AT, at + SENT_AT.length)) {
    let value = 0;
    let digits = 0;
    for (let i = at + SENT_AT.length; i < frame.length && digits < 16; i++, digits++) {
      const byte = frame[i]!;
      if (byte < DIGIT_0 || byte > DIGIT_9) break;
      value = value * 10 + (byte - DIGIT_0);
    }
    if (digits > 0) visit(value);
  }
}

export type ControlKind = 'welcome' | 'subscribed' | 'error' | 'gap' | 'throttle' | 'pong' | 'other';

const CONTROL: ReadonlyArray<[Buffer, ControlKind]> = (['welcome', 'subscribed', 'error', 'gap', 'throttle', 'pong'] as const).map((kind) => [
  Buffer.from(`{"type":"${kind}"`),
  kind,
]);

/** What a frame that holds no event is (by its first bytes). */
export function controlKind(frame: Buffer): ControlKind {
  for (const [prefix, kind] of CONTROL) if (frame.length >= prefix.length && frame.compare(prefix, 0, prefix.length, 0, prefix.length) === 0) return kind;
  return 'other';
}
