// Wire protocol v1 (docs/protocol.md) as properties: the decoder never throws and names each malformation with
// its precise code (and a message a person can act on); channel names and subject matching agree with a
// reference written from the spec; event frames say exactly what was published (I5's bytes); reconnect
// hints survive the close reason.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeClientMessage, encodeEvent, encodeMessage } from '../src/core/codec.js';
import { channelNameProblem, closeReasonWithRetry, isPattern, retryHintOf, subjectMatches, type ClientMessage } from '../src/core/protocol.js';
import { runs } from './support/runs.js';

const LIMITS = { channelsPerRequestMax: 4 };
const utf8 = new TextDecoder();

// ---- reference rules, written from docs/protocol.md (Messages) --------------------------------------

const TOKEN_CHARS = 'abcXYZ019_-:@~=+';
function referenceValid(name: string, allowPattern: boolean): boolean {
  if (name.length === 0 || name.length > 200) return false;
  const tokens = name.split('.');
  if (tokens.length > 16) return false;
  return tokens.every((t, i) => {
    if (t === '*') return allowPattern;
    if (t === '>') return allowPattern && i === tokens.length - 1;
    return t.length > 0 && [...t].every((ch) => /[A-Za-z0-9_\-:@~=+]/.test(ch));
  });
}

function referenceMatch(pattern: string, channel: string): boolean {
  const source = pattern
    .split('.')
    .map((t) => (t === '*' ? '[^.]+' : t === '>' ? '.+' : t.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')))
    .join('\\.');
  return new RegExp(`^${source}$`).test(channel);
}

const token = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom('*', '>', '', 'a b', 'é', '#') },
);
const name = fc.oneof(
  { weight: 8, arbitrary: fc.array(token, { minLength: 1, maxLength: 5 }).map((t) => t.join('.')) },
  { weight: 1, arbitrary: fc.constantFrom('', 'a'.repeat(200), 'a'.repeat(201), Array(16).fill('a').join('.'), Array(17).fill('a').join('.')) },
);
const concrete = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 4 }).map((t) => t.join('.'));
const validChannel = fc
  .array(fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 })
  .map((t) => t.join('.'));
const offset = fc.nat({ max: 1e6 });

describe('channel names and subjects', () => {
  it('channelNameProblem agrees with the spec, and explains every refusal', () => {
    fc.assert(
      fc.property(name, fc.boolean(), (n, allowPattern) => {
        const problem = channelNameProblem(n, allowPattern);
        expect(problem === null).toBe(referenceValid(n, allowPattern));
        if (problem !== null) expect(problem.length).toBeGreaterThan(5);
        // The reason names the first thing wrong.
        if (n === '') expect(problem).toBe('is empty');
        else if (
          n.length <= 200 &&
          n.split('.').length <= 16 &&
          n.split('.').some((t) => t === '') &&
          !n.split('.').some((t) => t !== '' && t !== '*' && t !== '>' && !/^[A-Za-z0-9_\-:@~=+]+$/.test(t))
        )
          expect(problem).toMatch(/empty token|wildcard|before its last/);
      }),
      runs(1_000),
    );
  });

  it('subjectMatches agrees with a regex built from the pattern; isPattern sees the wildcards', () => {
    const pattern = fc
      .array(fc.constantFrom('a', 'b', '*'), { minLength: 1, maxLength: 4 })
      .chain((t) => fc.boolean().map((rest) => (rest ? [...t, '>'] : t).join('.')));
    fc.assert(
      fc.property(pattern, concrete, (p, c) => {
        expect(subjectMatches(p, c)).toBe(referenceMatch(p, c));
        expect(subjectMatches(c, c)).toBe(true);
        expect(isPattern(p)).toBe(p.split('.').some((t) => t === '*' || t === '>'));
        expect(isPattern(c)).toBe(false);
      }),
      runs(1_000),
    );
  });
});

describe('decoding client messages', () => {
  const subscribe = fc
    .record({
      id: offset,
      channels: fc.uniqueArray(validChannel, { minLength: 1, maxLength: LIMITS.channelsPerRequestMax }),
      since: fc.option(fc.constant(true)),
    })
    .chain(({ id, channels, since }) =>
      since === null
        ? fc.constant<ClientMessage>({ type: 'subscribe', id, channels })
        : fc
            .subarray(channels)
            .chain((keys) =>
              fc
                .tuple(...keys.map(() => fc.record({ epoch: fc.string({ maxLength: 4 }), offset })))
                .map((pos) => ({ type: 'subscribe' as const, id, channels, since: Object.fromEntries(keys.map((k, i) => [k, pos[i]!])) })),
            ),
    );
  const message: fc.Arbitrary<ClientMessage> = fc.oneof(
    subscribe,
    fc
      .record({ id: offset, channels: fc.uniqueArray(validChannel, { minLength: 1, maxLength: LIMITS.channelsPerRequestMax }) })
      .map((m) => ({ type: 'unsubscribe' as const, ...m })),
    fc
      .tuple(offset, validChannel, offset, fc.integer({ min: 1, max: 100 }))
      .map(([id, channel, from, n]) => ({ type: 'replay' as const, id, channel, from, to: from + n })),
    offset.map((id) => ({ type: 'ping' as const, id })),
  );

  it('decodes every valid message to itself', () => {
    fc.assert(
      fc.property(message, (m) => {
        // toEqual, not toStrictEqual: `since` is a null-prototype object (channel names are keys).
        expect(decodeClientMessage(JSON.stringify(m), LIMITS)).toEqual({ ok: true, message: JSON.parse(JSON.stringify(m)) as unknown });
      }),
      runs(500),
    );
  });

  type Breakage = [string, (m: Record<string, unknown>) => unknown, string, string?];
  const breakages: Breakage[] = [
    ['array instead of object', () => [1, 2], 'invalid_message'],
    ['null', () => null, 'invalid_message'],
    ['no type', ({ type: _t, ...m }) => m, 'missing_field', '"type"'],
    ['numeric type', (m) => ({ ...m, type: 7 }), 'invalid_field', '"type"'],
    ['unknown type', (m) => ({ ...m, type: 'hello' }), 'unknown_type', 'hello'],
    ['no id', ({ id: _i, ...m }) => m, 'missing_field', '"id"'],
    ['negative id', (m) => ({ ...m, id: -1 }), 'invalid_field', '"id"'],
    ['fractional id', (m) => ({ ...m, id: 1.5 }), 'invalid_field', '"id"'],
    ['string id', (m) => ({ ...m, id: '1' }), 'invalid_field', '"id"'],
  ];
  const subBreakages: Breakage[] = [
    ['no channels', ({ channels: _c, ...m }) => m, 'missing_field', '"channels"'],
    ['channels not an array', (m) => ({ ...m, channels: 'a' }), 'invalid_field', '"channels"'],
    ['empty channels', (m) => ({ ...m, channels: [] }), 'invalid_field', '"channels"'],
    ['too many channels', (m) => ({ ...m, channels: ['a', 'b', 'c', 'd', 'e'] }), 'too_many_channels', '5 channels'],
    ['a numeric channel', (m) => ({ ...m, channels: [1] }), 'invalid_channel'],
    ['a bad channel name', (m) => ({ ...m, channels: ['a..b'] }), 'invalid_channel', 'a..b'],
    ['a channel twice', (m) => ({ ...m, channels: ['a', 'a'] }), 'invalid_field', 'twice'],
  ];
  const sinceBreakages: Breakage[] = [
    ['since not an object', (m) => ({ ...m, channels: ['a'], since: [1] }), 'invalid_field', '"since"'],
    ['since for an unlisted channel', (m) => ({ ...m, channels: ['a'], since: { b: { epoch: 'e', offset: 1 } } }), 'invalid_field', '"b"'],
    ['since without epoch', (m) => ({ ...m, channels: ['a'], since: { a: { offset: 1 } } }), 'invalid_field', 'since["a"]'],
    ['since with a negative offset', (m) => ({ ...m, channels: ['a'], since: { a: { epoch: 'e', offset: -1 } } }), 'invalid_field', 'since["a"]'],
    ['since position not an object', (m) => ({ ...m, channels: ['a'], since: { a: 5 } }), 'invalid_field', 'since["a"]'],
  ];
  const replayBreakages: Breakage[] = [
    ['no channel', ({ channel: _c, ...m }) => m, 'missing_field', '"channel"'],
    ['numeric channel', (m) => ({ ...m, channel: 5 }), 'invalid_channel', '"channel"'],
    ['a pattern channel', (m) => ({ ...m, channel: 'a.*' }), 'invalid_channel', 'a.*'],
    ['no from', ({ from: _f, ...m }) => m, 'missing_field', '"from"'],
    ['negative to', (m) => ({ ...m, to: -3 }), 'invalid_field', '"to"'],
    ['empty range', (m) => ({ ...m, to: m.from }), 'invalid_field', 'empty'],
    ['reversed range', (m) => ({ ...m, to: 0, from: 5 }), 'invalid_field', 'empty'],
  ];

  function checkBroken(m: ClientMessage, [, breakIt, code, mentions]: Breakage): void {
    const broken = breakIt(m as unknown as Record<string, unknown>);
    const decoded = decodeClientMessage(JSON.stringify(broken), LIMITS);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error.code).toBe(code);
    expect(decoded.error.message.length).toBeGreaterThan(10);
    if (mentions !== undefined) expect(decoded.error.message).toContain(mentions);
    // The request id comes back whenever it could be read, so the client can match the error.
    const id = (broken as { id?: unknown } | null)?.id;
    if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) expect(decoded.error.id).toBe(id);
    else expect('id' in decoded.error).toBe(false);
  }

  it('names every malformation with its code, a message that points at it, and the id when readable', () => {
    const kinds = fc.oneof(
      fc.tuple(message, fc.constantFrom(...breakages)),
      fc.tuple(subscribe, fc.constantFrom(...subBreakages, ...sinceBreakages)),
      fc.tuple(
        message.filter((m) => m.type === 'unsubscribe'),
        fc.constantFrom(...subBreakages),
      ),
      fc.tuple(
        message.filter((m) => m.type === 'replay'),
        fc.constantFrom(...replayBreakages),
      ),
    );
    fc.assert(
      fc.property(kinds, ([m, b]) => checkBroken(m, b)),
      runs(800),
    );
  });

  it('never throws on arbitrary text, and says malformed JSON for what does not parse', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const decoded = decodeClientMessage(text, LIMITS);
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        if (!parses) expect(decoded).toMatchObject({ ok: false, error: { code: 'invalid_json', message: expect.stringMatching(/^malformed JSON: ./) } });
      }),
      runs(500),
    );
  });

  it('quotes long channel names cut to 64 characters in error messages', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(63, 64, 65), fc.integer({ min: 1, max: 150 })), (length) => {
        const bad = `${'x'.repeat(length - 1)}#`;
        const decoded = decodeClientMessage(JSON.stringify({ type: 'subscribe', id: 1, channels: [bad] }), LIMITS);
        expect(decoded.ok).toBe(false);
        if (decoded.ok) return;
        if (length <= 64) expect(decoded.error.message).toContain(`"${bad}"`);
        else expect(decoded.error.message).toContain(`"${bad.slice(0, 61)}..."`);
      }),
      runs(150),
    );
  });
});

describe('encoding server frames', () => {
  it('an event frame says exactly what was published, prev included', () => {
    fc.assert(
      fc.property(validChannel, offset, fc.option(offset), fc.jsonValue(), (ch, off, prev, data) => {
        const frame = encodeEvent({ channel: ch, offset: off, prev, data: JSON.stringify(data) });
        expect(JSON.parse(utf8.decode(frame.bytes))).toEqual({ type: 'event', ch, offset: off, prev, data: JSON.parse(JSON.stringify(data)) });
      }),
      runs(300),
    );
  });

  it('control frames are the JSON of the message', () => {
    fc.assert(
      fc.property(validChannel, offset, offset, (ch, from, n) => {
        const gap = { type: 'gap' as const, ch, from, to: from + n, reason: 'shed' as const };
        expect(utf8.decode(encodeMessage(gap).bytes)).toBe(JSON.stringify(gap));
      }),
      runs(100),
    );
  });

  it('a reconnect hint survives the close reason', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.double({ min: -100, max: 1e7, noNaN: true }), (text, ms) => {
        const reason = closeReasonWithRetry(text.replace(/retry-after-ms/g, ''), ms);
        expect(retryHintOf(reason)).toBe(Math.max(0, Math.round(ms)));
        expect(reason.startsWith(text.replace(/retry-after-ms/g, ''))).toBe(true);
        expect(retryHintOf(text.replace(/retry-after-ms/g, ''))).toBeNull();
      }),
      runs(300),
    );
  });
});
