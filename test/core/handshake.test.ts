// The one handshake decision (src/core/handshake.ts) that the real server and the lab's transport both
// carry out: its order (path → Upgrade → version → admission), the refusals it answers, and the
// Retry-After rounding.
import { describe, expect, it } from 'vitest';
import type { Admission, PeerInfo } from '../../src/core/admission.js';
import { decideHandshake, type HandshakeRequest } from '../../src/core/handshake.js';
import { defaultGatewayOptions } from '../../src/core/options.js';
import { harness } from '../support/core-harness.js';

const peer: PeerInfo = { ip: '10.0.0.1', userId: null };
const open = defaultGatewayOptions.security;
const good: HandshakeRequest = { path: '/ws', upgrade: 'websocket', version: null, protocols: ['odin.v1'], peer };

/** An admission that records being asked and answers `answer`. */
function admitter(answer: Admission): { admit: (p: PeerInfo) => Admission; asked: PeerInfo[] } {
  const asked: PeerInfo[] = [];
  return { admit: (p) => (asked.push(p), answer), asked };
}

const ticket = { ip: peer.ip, userId: peer.userId, identity: null, state: 'reserved' as const };

describe('handshake decision', () => {
  it('refuses a malformed request before admission is asked, in production order', () => {
    const cases: [Partial<HandshakeRequest>, number, string][] = [
      [{ path: '/nope', upgrade: 'h2c', version: '2' }, 404, 'not_found'],
      [{ upgrade: 'h2c', version: '2' }, 400, 'bad_upgrade'],
      [{ upgrade: undefined }, 400, 'bad_upgrade'],
      [{ version: '2' }, 400, 'unsupported_protocol'],
      [{ protocols: ['odin.v2'] }, 400, 'unsupported_protocol'],
    ];
    for (const [change, status, error] of cases) {
      const a = admitter({ ok: true, ticket });
      const outcome = decideHandshake({ ...good, ...change }, '/ws', open, a.admit);
      expect(outcome).toMatchObject({ ok: false, status, body: { error }, retryAfterS: null, headers: {} });
      expect(a.asked).toEqual([]);
    }
  });

  it('accepts our subprotocol, ?v=1 with any offers, and a request that names no version', () => {
    for (const change of [{}, { protocols: [] }, { version: '1', protocols: ['other'] }, { upgrade: 'WebSocket' }]) {
      const a = admitter({ ok: true, ticket });
      expect(decideHandshake({ ...good, ...change }, '/ws', open, a.admit)).toEqual({ ok: true, ticket });
      expect(a.asked).toEqual([peer]);
    }
  });

  it('answers an admission refusal with its status, reason and Retry-After in whole seconds, rounded up', () => {
    const a = admitter({ ok: false, status: 429, reason: 'handshake_rate', retryAfterS: 2.1, message: 'slow down' });
    expect(decideHandshake(good, '/ws', open, a.admit)).toEqual({
      ok: false,
      status: 429,
      body: { error: 'handshake_rate', message: 'slow down' },
      retryAfterS: 3,
      headers: { 'Retry-After': '3' },
    });
  });

  it('takes the admission state and the clock from the gateway: draining refuses with 503', () => {
    const h = harness();
    const first = h.gateway.handshake(good, '/ws');
    expect(first.ok).toBe(true);
    h.gateway.drain(() => undefined);
    expect(h.gateway.handshake(good, '/ws')).toMatchObject({ ok: false, status: 503, body: { error: 'draining' }, headers: { 'Retry-After': '5' } });
  });

  describe('origin and token (auth.mode=jwt)', () => {
    const secure = { authRequired: true, allowedOrigins: ['https://app.example'], refreshWindowMs: 60_000 };
    const identity = { user: 'alice', grants: ['news.>'], expiresAtMs: null };

    it('refuses a foreign origin with 403 before the token is looked at, and lets a request without Origin pass', () => {
      const a = admitter({ ok: true, ticket });
      expect(decideHandshake({ ...good, origin: 'https://evil.example' }, '/ws', secure, a.admit)).toEqual({
        ok: false,
        status: 403,
        body: { error: 'forbidden_origin', message: 'origin "https://evil.example" is not allowed (server.allowedOrigins)' },
        retryAfterS: null,
        headers: {},
      });
      expect(decideHandshake({ ...good, origin: 'https://app.example', credential: { ok: true, identity } }, '/ws', secure, a.admit).ok).toBe(true);
      expect(decideHandshake({ ...good, credential: { ok: true, identity } }, '/ws', secure, a.admit).ok).toBe(true);
      expect(a.asked).toHaveLength(2);
    });

    it('answers a missing or bad token with 401 and WWW-Authenticate, never asking admission', () => {
      const a = admitter({ ok: true, ticket });
      expect(decideHandshake(good, '/ws', secure, a.admit)).toMatchObject({
        ok: false,
        status: 401,
        body: { error: 'token_required' },
        headers: { 'WWW-Authenticate': 'Bearer realm="odin"' },
      });
      const expired = decideHandshake({ ...good, credential: { ok: false, code: 'token_expired', message: 'the token expired' } }, '/ws', secure, a.admit);
      expect(expired).toMatchObject({
        ok: false,
        status: 401,
        body: { error: 'token_expired', message: 'the token expired' },
        headers: { 'WWW-Authenticate': 'Bearer realm="odin", error="invalid_token"' },
      });
      expect(a.asked).toEqual([]);
    });

    it('counts the verified sub as the user, whatever the request claimed', () => {
      const a = admitter({ ok: true, ticket });
      decideHandshake({ ...good, peer: { ip: '10.0.0.1', userId: 'mallory' }, credential: { ok: true, identity } }, '/ws', secure, a.admit);
      expect(a.asked).toEqual([{ ip: '10.0.0.1', userId: 'alice', identity }]);
    });

    it('ignores the origin list when it is empty and tokens when auth is off', () => {
      const a = admitter({ ok: true, ticket });
      expect(
        decideHandshake({ ...good, origin: 'https://any.example', credential: { ok: false, code: 'invalid_token', message: 'x' } }, '/ws', open, a.admit).ok,
      ).toBe(true);
    });
  });
});
