// A token's life on an open connection (src/core/token-lifetime.ts), on the core's clock and without a
// socket: when the session is warned, when it is closed 4003, what a refresh answers, and how a refresh
// that narrows the grants ends the subscriptions it no longer covers.
import { describe, expect, it } from 'vitest';
import type { Identity, TokenVerifier, VerifyResult } from '../../src/core/auth.js';
import { M } from '../../src/core/metrics.js';
import { harness, type Harness } from '../support/core-harness.js';

const WINDOW_MS = 10_000;
const security = { authRequired: true, allowedOrigins: [], refreshWindowMs: WINDOW_MS };
const EXPIRED = { code: 4003, reason: 'token expired: reconnect with a new token' };

/** A verifier twin: each token names the identity it stands for; anything else is refused. */
function verifierOf(tokens: Record<string, Identity>): TokenVerifier {
  return {
    verify: (token, done) => {
      const identity = tokens[token];
      done(identity === undefined ? { ok: false, code: 'invalid_token', message: 'bad signature' } : { ok: true, identity });
    },
  };
}

function aliceFor(h: Harness, leftMs: number | null, grants: string[] = []): Identity {
  return { user: 'alice', grants, expiresAtMs: leftMs === null ? null : h.clock.wallMs() + leftMs };
}

describe('token deadlines', () => {
  it('closes 4003 at exp, after the warning, and not a millisecond before', () => {
    const h = harness({ security });
    const c = h.connect({ identity: aliceFor(h, 30_000) });
    h.clock.advance(20_000);
    expect(c.conn.ofType('token_expiring')).toEqual([{ type: 'token_expiring', expiresInMs: WINDOW_MS }]);
    h.clock.advance(WINDOW_MS - 1);
    expect(c.conn.closed).toBeNull();
    h.clock.advance(1);
    expect(c.conn.closed).toEqual(EXPIRED);
  });

  it('warns at once a session that opens inside the refresh window, with the time actually left', () => {
    const h = harness({ security });
    const c = h.connect({ identity: aliceFor(h, 4_000) });
    expect(c.conn.ofType('token_expiring')).toEqual([{ type: 'token_expiring', expiresInMs: 4_000 }]);
    h.clock.advance(4_000);
    expect(c.conn.closed).toEqual(EXPIRED);
  });

  it('warns at once when exp is exactly one refresh window away', () => {
    const h = harness({ security });
    const c = h.connect({ identity: aliceFor(h, WINDOW_MS) });
    expect(c.conn.ofType('token_expiring')).toEqual([{ type: 'token_expiring', expiresInMs: WINDOW_MS }]);
  });

  it('closes at once, without a warning, a session whose token is already at or past exp', () => {
    for (const leftMs of [0, -5_000]) {
      const h = harness({ security });
      const c = h.connect({ identity: aliceFor(h, leftMs) });
      expect(c.conn.closed).toEqual(EXPIRED);
      expect(c.conn.ofType('token_expiring')).toEqual([]);
      // The welcome was queued before the close and still leaves first.
      expect(c.conn.messages().map((m) => m.type)).toEqual(['welcome']);
    }
  });

  it('never warns or closes a session whose token has no exp, nor an anonymous one', () => {
    const h = harness({ security });
    const withoutExp = h.connect({ identity: aliceFor(h, null) });
    const anonymous = h.connect();
    h.clock.advance(10 * 3_600_000);
    for (const c of [withoutExp, anonymous]) {
      expect(c.conn.ofType('token_expiring')).toEqual([]);
      expect(c.conn.closed?.code).not.toBe(4003);
    }
  });
});

describe('refresh', () => {
  it('moves both deadlines: a refresh before the warning replaces it with the one of the new token', () => {
    const tokens: Record<string, Identity> = {};
    const h = harness({ security }, { verifier: verifierOf(tokens) });
    tokens.later = aliceFor(h, 100_000);
    const c = h.connect({ identity: aliceFor(h, 30_000) });
    h.clock.advance(5_000);
    c.send({ type: 'refresh', id: 1, token: 'later' });
    expect(c.conn.ofType('refreshed')).toEqual([{ type: 'refreshed', id: 1, expiresInMs: 95_000 }]);
    // The old token would have warned at 20 s and closed at 30 s: neither happens.
    h.clock.advance(60_000);
    expect(c.conn.ofType('token_expiring')).toEqual([]);
    expect(c.conn.closed).toBeNull();
    h.clock.advance(25_000);
    expect(c.conn.ofType('token_expiring')).toEqual([{ type: 'token_expiring', expiresInMs: WINDOW_MS }]);
    h.clock.advance(WINDOW_MS);
    expect(c.conn.closed).toEqual(EXPIRED);
  });

  it('answers a token without exp with expiresInMs null, and then never closes the session', () => {
    const forever: Identity = { user: 'alice', grants: [], expiresAtMs: null };
    const h = harness({ security }, { verifier: verifierOf({ forever }) });
    const c = h.connect({ identity: aliceFor(h, 30_000) });
    c.send({ type: 'refresh', id: 3, token: 'forever' });
    expect(c.conn.ofType('refreshed')).toEqual([{ type: 'refreshed', id: 3, expiresInMs: null }]);
    h.clock.advance(3_600_000);
    expect(c.conn.ofType('token_expiring')).toEqual([]);
    expect(c.conn.closed).toBeNull();
  });

  it('refuses a token for another user and keeps the old deadline', () => {
    const bob: Identity = { user: 'bob', grants: ['>'], expiresAtMs: null };
    const h = harness({ security }, { verifier: verifierOf({ bob }) });
    const c = h.connect({ identity: aliceFor(h, 30_000) });
    c.send({ type: 'refresh', id: 4, token: 'bob' });
    expect(c.conn.ofType('error')).toEqual([
      { type: 'error', id: 4, code: 'invalid_token', message: 'refresh refused: the new token is for another user (sub must stay "alice")' },
    ]);
    expect(c.conn.ofType('refreshed')).toEqual([]);
    h.clock.advance(30_000);
    expect(c.conn.closed).toEqual(EXPIRED);
  });

  it('passes on the refusal code of the verifier (an expired refresh token is token_expired)', () => {
    const verifier: TokenVerifier = { verify: (_token, done) => done({ ok: false, code: 'token_expired', message: 'exp is in the past' }) };
    const h = harness({ security }, { verifier });
    const c = h.connect({ identity: aliceFor(h, 30_000) });
    c.send({ type: 'refresh', id: 5, token: 'stale' });
    expect(c.conn.ofType('error')).toEqual([
      { type: 'error', id: 5, code: 'token_expired', message: 'refresh refused: exp is in the past; the current token still holds until it expires' },
    ]);
    expect(h.telemetry.counts.get(`${M.protocolErrors}{"code":"token_expired"}`)).toBe(1);
  });

  it('has nothing to refresh without authentication: no verifier, or an anonymous session', () => {
    const message = 'this gateway runs without authentication (auth.mode=none); there is nothing to refresh';
    const noVerifier = harness({ security });
    const withToken = noVerifier.connect({ identity: aliceFor(noVerifier, 30_000) });
    const withVerifier = harness({}, { verifier: verifierOf({ any: { user: 'alice', grants: [], expiresAtMs: null } }) });
    const anonymous = withVerifier.connect();
    for (const c of [withToken, anonymous]) {
      c.send({ type: 'refresh', id: 6, token: 'any' });
      expect(c.conn.ofType('error')).toEqual([{ type: 'error', id: 6, code: 'invalid_token', message }]);
      expect(c.conn.ofType('refreshed')).toEqual([]);
    }
  });

  it('drops a verdict that arrives after the client left: no error counted, no deadline armed', () => {
    let answer: ((result: VerifyResult) => void) | null = null;
    const verifier: TokenVerifier = { verify: (_token, done) => (answer = done) };
    for (const ok of [false, true]) {
      const h = harness({ security }, { verifier });
      const c = h.connect({ identity: aliceFor(h, 30_000) });
      c.send({ type: 'refresh', id: 7, token: 'slow' });
      c.close(1001);
      h.clock.settle();
      const pending = h.clock.pending;
      answer!(ok ? { ok, identity: aliceFor(h, 100_000) } : { ok, code: 'invalid_token', message: 'late' });
      h.clock.settle();
      expect(h.telemetry.counts.get(`${M.protocolErrors}{"code":"invalid_token"}`)).toBeUndefined();
      expect(h.clock.pending).toBe(pending);
    }
  });
});

describe('a refresh that narrows the grants', () => {
  it('ends each subscription the new token does not cover, with a forbidden error naming it', () => {
    const narrower: Identity = { user: 'alice', grants: ['news.eu'], expiresAtMs: null };
    const h = harness({ security }, { verifier: verifierOf({ narrower }) });
    const c = h.connect({ identity: aliceFor(h, 30_000, ['news.>', 'sport.>']) });
    c.send({ type: 'subscribe', id: 1, channels: ['news.eu', 'news.us', 'sport.>', 'user.alice.inbox'] });
    expect(c.conn.ofType('error')).toEqual([]);
    c.conn.clear();
    c.send({ type: 'refresh', id: 2, token: 'narrower' });
    expect(c.conn.messages()).toEqual([
      { type: 'error', code: 'forbidden', channel: 'news.us', message: 'the refreshed token no longer covers "news.us"; unsubscribed' },
      { type: 'error', code: 'forbidden', channel: 'sport.>', message: 'the refreshed token no longer covers "sport.>"; unsubscribed' },
      { type: 'refreshed', id: 2, expiresInMs: null },
    ]);
    c.conn.clear();
    for (const ch of ['news.eu', 'news.us', 'sport.f1', 'user.alice.inbox']) h.publish(ch, 1);
    expect(c.conn.ofType('event').map((e) => e.ch)).toEqual(['news.eu', 'user.alice.inbox']);
    // They are gone, not merely muted: an unsubscribe finds only what is left.
    c.send({ type: 'unsubscribe', id: 3, channels: ['news.eu', 'news.us', 'sport.>'] });
    expect(c.conn.ofType('unsubscribed')).toEqual([{ type: 'unsubscribed', id: 3, channels: ['news.eu'] }]);
  });
});
