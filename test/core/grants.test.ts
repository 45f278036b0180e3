// Grants on subscribe and resume (src/core/resume.ts, `permitted`; docs/security.md): each channel a token
// does not cover is refused on its own with a `forbidden` error, the rest of the request goes on, and a
// resume position given for a refused channel reads no history.
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/core/auth.js';
import { M } from '../../src/core/metrics.js';
import { harness } from '../support/core-harness.js';

const security = { authRequired: true, allowedOrigins: [], refreshWindowMs: 60_000 };
const alice: Identity = { user: 'alice', grants: ['news.>'], expiresAtMs: null };

const forbidden = (id: number, channel: string) => ({
  type: 'error',
  id,
  code: 'forbidden',
  channel,
  message: `not allowed to subscribe to "${channel}": no grant in the token covers it`,
});

describe('grants on subscribe', () => {
  it('refuses each uncovered channel by name and subscribes the rest', () => {
    const h = harness({ security });
    const c = h.connect({ identity: alice });
    c.send({ type: 'subscribe', id: 1, channels: ['news.eu', 'secret', 'user.alice.inbox', 'user.bob.inbox'] });
    expect(c.conn.ofType('error')).toEqual([forbidden(1, 'secret'), forbidden(1, 'user.bob.inbox')]);
    expect(Object.keys(c.conn.ofType('subscribed')[0]!.channels)).toEqual(['news.eu', 'user.alice.inbox']);
    expect(h.telemetry.counts.get(`${M.protocolErrors}{"code":"forbidden"}`)).toBe(2);
    c.conn.clear();
    for (const ch of ['news.eu', 'secret', 'user.alice.inbox', 'user.bob.inbox']) h.publish(ch, 1);
    expect(c.conn.ofType('event').map((e) => e.ch)).toEqual(['news.eu', 'user.alice.inbox']);
  });

  it('answers a request whose every channel is refused with an empty reply, and subscribes nothing', () => {
    const h = harness({ security });
    const c = h.connect({ identity: alice });
    c.send({ type: 'subscribe', id: 2, channels: ['>', 'sport.*'] });
    expect(c.conn.messages().slice(1)).toEqual([forbidden(2, '>'), forbidden(2, 'sport.*'), { type: 'subscribed', id: 2, channels: {} }]);
    h.publish('sport.f1', 1);
    expect(c.conn.ofType('event')).toEqual([]);
  });

  it('refuses nothing to an anonymous session of a gateway without authentication', () => {
    const h = harness();
    const c = h.connect();
    c.send({ type: 'subscribe', id: 1, channels: ['>'] });
    expect(c.conn.ofType('error')).toEqual([]);
    h.publish('secret', 1);
    expect(c.conn.ofType('event').map((e) => e.ch)).toEqual(['secret']);
  });
});

describe('grants on resume', () => {
  it('replays the covered channels from their positions and reads nothing for the refused ones', () => {
    const h = harness({ security });
    for (const ch of ['news.eu', 'secret', 'news.eu', 'secret']) h.publish(ch, ch);
    const epoch = h.broker.epoch();
    const c = h.connect({ identity: alice });
    c.send({ type: 'subscribe', id: 3, channels: ['news.eu', 'secret'], since: { 'news.eu': { epoch, offset: 0 }, secret: { epoch, offset: 0 } } });
    expect(c.conn.ofType('error')).toEqual([forbidden(3, 'secret')]);
    expect(c.conn.ofType('subscribed')).toEqual([{ type: 'subscribed', id: 3, channels: { 'news.eu': { epoch, offset: 3, recovered: true, replayed: 2 } } }]);
    expect(c.conn.ofType('event').map((e) => [e.ch, e.offset])).toEqual([
      ['news.eu', 1],
      ['news.eu', 3],
    ]);
  });

  it('subscribes a covered channel without a position as new when only a refused one had a position', () => {
    const h = harness({ security });
    h.publish('news.eu', 1);
    const epoch = h.broker.epoch();
    const c = h.connect({ identity: alice });
    c.send({ type: 'subscribe', id: 4, channels: ['news.eu', 'secret'], since: { secret: { epoch, offset: 0 } } });
    expect(c.conn.ofType('subscribed')).toEqual([{ type: 'subscribed', id: 4, channels: { 'news.eu': { epoch, offset: 1 } } }]);
    expect(c.conn.ofType('event')).toEqual([]);
  });
});
