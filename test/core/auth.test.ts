// Grants (src/core/auth.ts): which channels and patterns a token's patterns cover, the owner's own
// namespace, and the token's life on the core's clock (warning, refresh, 4003) without any socket.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { covers, maySubscribe, ownChannelsOf, type TokenVerifier } from '../../src/core/auth.js';
import { subjectMatches } from '../../src/core/protocol.js';
import { harness } from '../support/core-harness.js';

describe('covers', () => {
  it.each([
    ['news.>', 'news.eu', true],
    ['news.>', 'news.eu.fr', true],
    ['news.>', 'news.*.fr', true],
    ['news.>', 'news.>', true],
    ['news.>', 'news', false],
    ['news.>', '>', false],
    ['news.*', 'news.eu', true],
    ['news.*', 'news.*', true],
    ['news.*', 'news.>', false],
    ['news.*', 'news.eu.fr', false],
    ['news.eu', 'news.eu', true],
    ['news.eu', 'news.*', false],
    ['>', 'anything.at.all', true],
  ])('%s covers %s: %s', (grant, wanted, expected) => {
    expect(covers(grant, wanted)).toBe(expected);
  });

  it('never lets a grant cover a concrete channel its pattern would not match (seeded property)', () => {
    const token = fc.constantFrom('a', 'b', 'c');
    const pattern = fc
      .array(fc.oneof(token, fc.constant('*')), { minLength: 1, maxLength: 4 })
      .chain((ts) => fc.boolean().map((tail) => (tail ? [...ts, '>'] : ts).join('.')));
    const channel = fc.array(token, { minLength: 1, maxLength: 6 }).map((ts) => ts.join('.'));
    fc.assert(
      fc.property(pattern, channel, (grant, wanted) => covers(grant, wanted) === subjectMatches(grant, wanted)),
      { seed: 12, numRuns: 2_000 },
    );
  });
});

describe('maySubscribe', () => {
  const alice = { user: 'alice', grants: ['news.>'], expiresAtMs: null };
  it("grants the owner's namespace, the token's patterns, and nothing else", () => {
    expect(['user.alice.inbox', 'user.alice.>', 'news.eu'].map((c) => maySubscribe(alice, c))).toEqual([true, true, true]);
    expect(['user.bob.inbox', 'user.*.inbox', 'user.>', '>', 'secret'].map((c) => maySubscribe(alice, c))).toEqual([false, false, false, false, false]);
    expect(maySubscribe(null, '>')).toBe(true);
  });
  it('gives a sub that is not one channel token no namespace (a dot or wildcard cannot widen it)', () => {
    expect([ownChannelsOf('alice'), ownChannelsOf('a.b'), ownChannelsOf('*'), ownChannelsOf('>'), ownChannelsOf('a b')]).toEqual([
      'user.alice.>',
      null,
      null,
      null,
      null,
    ]);
    expect(maySubscribe({ user: '*', grants: [], expiresAtMs: null }, 'user.bob.inbox')).toBe(false);
  });
});

describe('token lifetime on the core clock', () => {
  const verifier: TokenVerifier = {
    verify: (token, done) =>
      done(
        token === 'renewed'
          ? { ok: true, identity: { user: 'alice', grants: [], expiresAtMs: Date.UTC(2026, 0, 1, 1) } }
          : { ok: false, code: 'invalid_token', message: 'bad' },
      ),
  };

  it('warns refreshWindowMs before exp, and a refresh moves the close past the first expiry', () => {
    const h = harness({ security: { authRequired: true, allowedOrigins: [], refreshWindowMs: 10_000 } }, { verifier });
    const client = h.connect({ identity: { user: 'alice', grants: [], expiresAtMs: h.clock.wallMs() + 30_000 } });
    h.clock.advance(19_999);
    expect(client.conn.ofType('token_expiring')).toEqual([]);
    h.clock.advance(1);
    expect(client.conn.ofType('token_expiring')).toEqual([{ type: 'token_expiring', expiresInMs: 10_000 }]);
    client.send({ type: 'refresh', id: 1, token: 'forged' });
    expect(client.conn.ofType('error')).toEqual([
      { type: 'error', id: 1, code: 'invalid_token', message: 'refresh refused: bad; the current token still holds until it expires' },
    ]);
    client.send({ type: 'refresh', id: 2, token: 'renewed' });
    expect(client.conn.ofType('refreshed')).toEqual([{ type: 'refreshed', id: 2, expiresInMs: 3_600_000 - 20_000 }]);
    h.clock.advance(60_000);
    expect(client.conn.closed).toBeNull();
  });
});
