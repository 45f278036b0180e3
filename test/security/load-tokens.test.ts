// odin load against a gateway in secure mode: each connection carries its own minted token (sub load-<i>),
// so a soak holds thousands of authenticated connections without meeting the per-user cap; and a wrong
// secret is refused (401) for every connection — the tokens really are checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLoadArgs } from '../../src/load/cli.js';
import type { Progress } from '../../src/load/progress.js';
import { HttpPublisher } from '../../src/load/publishers.js';
import { runLoad } from '../../src/load/run.js';
import { mintToken } from '../../src/load/token.js';
import { start, type Started } from '../server/server-fixture.js';
import { nowS, SECRET } from './tokens.js';
import { JoseTokenVerifier } from '../../src/adapters/token-verifier-jose.js';
import type { VerifyResult } from '../../src/core/auth.js';

const quiet: Progress = { show: () => undefined, log: () => undefined, stop: () => undefined };
const KEY = 'publish-key-0123456789';

let odin: Started;
beforeAll(async () => {
  odin = await start({ 'log.level': 'silent', 'auth.mode': 'jwt', 'auth.hmacSecret': SECRET, 'publish.apiKey': KEY, 'admission.perUserMax': '1' });
});
afterAll(async () => {
  await odin?.close();
});

function args(secret: string): string[] {
  return [
    odin.wsUrl,
    '-c',
    '12',
    '--workers',
    '2',
    '--ramp',
    '0',
    '--hold',
    '1',
    '--rate',
    '10',
    '--channels',
    '2',
    '--sample',
    '1',
    '--settle',
    '5',
    '--token-secret',
    secret,
    '--api-key',
    KEY,
  ];
}

describe('odin load with --token-secret', () => {
  it('mints tokens jose accepts: HS256, sub load-<i>, the pool granted', async () => {
    const verifier = new JoseTokenVerifier({
      key: { kind: 'secret', secret: SECRET },
      algorithms: [],
      issuer: null,
      audience: null,
      channelsClaim: 'channels',
      clockToleranceS: 0,
    });
    const token = mintToken({ secret: SECRET, ttlS: 600, grants: ['odin.token.load.>'] }, 7, nowS());
    const result = await new Promise<VerifyResult>((resolve) => verifier.verify(token, resolve));
    expect(result).toEqual({ ok: true, identity: { user: 'load-7', grants: ['odin.token.load.>'], expiresAtMs: expect.any(Number) } });
  });

  it('holds every authenticated connection (one user each) and delivers every event', { timeout: 60_000 }, async () => {
    const parsed = parseLoadArgs(args(SECRET), {});
    const publisher = new HttpPublisher({ baseUrl: odin.url, apiKey: KEY, sockets: 4, inFlightMax: 100, timeoutMs: 5_000 });
    const report = await runLoad({ ...parsed.run, tickMs: 200 }, { publisher, progress: quiet });
    await publisher.close();
    expect(report.connections).toMatchObject({ attempted: 12, opened: 12, subscribed: 12, heldAtEnd: 12, failures: {}, drops: {} });
    expect(report.phases[0]!.delivered).toBe(report.phases[0]!.expected);
  });

  it('is refused with 401 for every connection under a wrong secret', { timeout: 60_000 }, async () => {
    const parsed = parseLoadArgs([...args('wrong-secret-of-at-least-32-characters'), '--rate', '0'], {});
    const publisher = new HttpPublisher({ baseUrl: odin.url, apiKey: KEY, sockets: 1, inFlightMax: 10, timeoutMs: 5_000 });
    const report = await runLoad({ ...parsed.run, tickMs: 200 }, { publisher, progress: quiet });
    await publisher.close();
    expect(report.connections.opened).toBe(0);
    expect(Object.values(report.connections.failures).reduce((a, b) => a + b, 0)).toBe(12);
  });
});
