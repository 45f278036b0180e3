// Who may connect (docs/security.md), against the real server over real sockets: each token case of the
// issue's list with its exact HTTP answer, the three places a token may travel, the origin allow-list,
// X-Forwarded-For behind a trusted proxy, and the per-user cap counting token subjects only.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SUBPROTOCOL } from '../../src/core/protocol.js';
import { opened, openedSocket, refusedSocket, settle, start, type Refusal, type Started } from '../server/server-fixture.js';
import { ecPair, hs256, jwksOf, nowS, rsaPair, SECRET, signed, tempFile, unsecured } from './tokens.js';

let server: Started | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await server?.close();
  server = undefined;
});

const jwt = { 'auth.mode': 'jwt', 'auth.hmacSecret': SECRET };
const later = (): number => nowS() + 600;

function withToken(token: string, extra: Record<string, string> = {}): WebSocket {
  return new WebSocket(`${server!.wsUrl}?v=1`, { headers: { Authorization: `Bearer ${token}`, ...extra } });
}

async function openWith(ws: WebSocket): Promise<{ type: string }> {
  const result = await settle(ws);
  if ('refusal' in result) throw new Error(`refused: ${JSON.stringify(result.refusal)}`);
  sockets.push(result.ws);
  return result.welcome as { type: string };
}

function invalid(message: string, error = 'invalid_token'): Partial<Refusal> {
  return { status: 401, body: { error, message } };
}

describe('connection tokens (auth.mode=jwt, HS256)', () => {
  it('admits a valid token by header, subprotocol entry, and ?token= only when auth.queryToken is on', async () => {
    server = await start({ ...jwt });
    const token = await hs256({ sub: 'alice', exp: later() });
    expect(await openWith(withToken(token))).toMatchObject({ type: 'welcome' });
    const viaProtocol = new WebSocket(server.wsUrl, [SUBPROTOCOL, `odin.token.${token}`]);
    expect(await openWith(viaProtocol)).toMatchObject({ type: 'welcome' });
    // The server picks odin.v1 and never echoes the token entry.
    expect(viaProtocol.protocol).toBe(SUBPROTOCOL);
    expect(await refusedSocket(new WebSocket(`${server.wsUrl}?v=1&token=${token}`))).toMatchObject(
      invalid('this gateway needs a token: "Authorization: Bearer <jwt>", or the subprotocol entry odin.token.<jwt>', 'token_required'),
    );
    await server.close();
    server = await start({ ...jwt, 'auth.queryToken': 'true' });
    expect(await openWith(new WebSocket(`${server.wsUrl}?v=1&token=${token}`))).toMatchObject({ type: 'welcome' });
  });

  it('refuses a missing token with 401 token_required and WWW-Authenticate', async () => {
    server = await start({ ...jwt });
    const refusal = await refusedSocket(new WebSocket(`${server.wsUrl}?v=1`));
    expect(refusal).toMatchObject(
      invalid('this gateway needs a token: "Authorization: Bearer <jwt>", or the subprotocol entry odin.token.<jwt>', 'token_required'),
    );
    expect(refusal.headers['www-authenticate']).toBe('Bearer realm="odin"');
  });

  it('refuses an expired token with 401 token_expired', async () => {
    server = await start({ ...jwt });
    const refusal = await refusedSocket(withToken(await hs256({ sub: 'alice', exp: nowS() - 60 })));
    expect(refusal).toMatchObject(invalid('the token expired', 'token_expired'));
    expect(refusal.headers['www-authenticate']).toBe('Bearer realm="odin", error="invalid_token"');
  });

  it('refuses a bad signature, a token without exp or sub, and garbage', async () => {
    server = await start({ ...jwt });
    expect(await refusedSocket(withToken(await hs256({ sub: 'alice', exp: later() }, 'another-secret-of-at-least-32-chars!!')))).toMatchObject(
      invalid('the token signature does not verify'),
    );
    expect(await refusedSocket(withToken(await hs256({ sub: 'alice' })))).toMatchObject(invalid('the token lacks claim "exp"'));
    expect(await refusedSocket(withToken(await hs256({ exp: later() })))).toMatchObject(invalid('the token lacks claim "sub"'));
    expect(await refusedSocket(withToken('not.a.jwt'))).toMatchObject(invalid('the token is malformed'));
    expect(await refusedSocket(withToken(await hs256({ sub: 'alice', exp: later(), channels: 'everything' as unknown as string[] })))).toMatchObject(
      invalid('claim "channels" must be an array of at most 256 channel patterns'),
    );
  });

  it('refuses alg none and an RS256 token at an HS256 gateway', async () => {
    server = await start({ ...jwt });
    expect(await refusedSocket(withToken(unsecured({ sub: 'alice', exp: later() })))).toMatchObject(
      invalid("the token's algorithm is not accepted (accepted: HS256)"),
    );
    const rsa = rsaPair();
    expect(await refusedSocket(withToken(await signed('RS256', rsa.privateKey, { sub: 'alice', exp: later() })))).toMatchObject(
      invalid("the token's algorithm is not accepted (accepted: HS256)"),
    );
  });
});

describe('connection tokens with public keys', () => {
  it('RS256 key file: admits RS256, refuses HS/RS confusion (HS256 signed with the public key) and alg none', async () => {
    const rsa = rsaPair();
    server = await start({ 'auth.mode': 'jwt', 'auth.publicKeyFile': tempFile('rsa.pem', rsa.publicPem) });
    expect(await openWith(withToken(await signed('RS256', rsa.privateKey, { sub: 'alice', exp: later() })))).toMatchObject({ type: 'welcome' });
    const confused = await hs256({ sub: 'alice', exp: later() }, rsa.publicPem);
    expect(await refusedSocket(withToken(confused))).toMatchObject(invalid("the token's algorithm is not accepted (accepted: RS256)"));
    expect(await refusedSocket(withToken(unsecured({ sub: 'alice', exp: later() })))).toMatchObject(
      invalid("the token's algorithm is not accepted (accepted: RS256)"),
    );
  });

  it('ES256 through a JWKS file: the key is chosen by kid; an unknown kid is refused', async () => {
    const ec = ecPair();
    server = await start({ 'auth.mode': 'jwt', 'auth.jwksFile': tempFile('jwks.json', await jwksOf([{ kid: 'k1', alg: 'ES256', publicKey: ec.publicKey }])) });
    expect(await openWith(withToken(await signed('ES256', ec.privateKey, { sub: 'alice', exp: later() }, 'k1')))).toMatchObject({ type: 'welcome' });
    const stranger = ecPair();
    expect(await refusedSocket(withToken(await signed('ES256', stranger.privateKey, { sub: 'alice', exp: later() }, 'k9')))).toMatchObject(
      invalid('no key of the JWKS matches the token'),
    );
  });
});

describe('connection tokens from a JWKS URL', () => {
  it('fetches the keys once and serves later handshakes from the cache', async () => {
    const rsa = rsaPair();
    const jwks = await jwksOf([{ kid: 'r1', alg: 'RS256', publicKey: rsa.publicKey }]);
    let fetches = 0;
    const issuer = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(jwks);
    });
    await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
    try {
      server = await start({ 'auth.mode': 'jwt', 'auth.jwksUrl': `http://127.0.0.1:${(issuer.address() as AddressInfo).port}/jwks.json` });
      for (let i = 0; i < 3; i++) await openWith(withToken(await signed('RS256', rsa.privateKey, { sub: `u${i}`, exp: later() }, 'r1')));
      expect(fetches).toBe(1);
    } finally {
      issuer.close();
    }
  });
});

describe('per-user cap with spoofed identities', () => {
  it('counts token subjects only: ?user= names nobody, five of alice fill her cap, bob still gets in', async () => {
    server = await start({ ...jwt, 'admission.perUserMax': '2' });
    const alice = await hs256({ sub: 'alice', exp: later() });
    // Anyone claiming to be alice in the query cannot use up her slots: the query is not an identity.
    for (let i = 0; i < 3; i++) expect(await refusedSocket(new WebSocket(`${server.wsUrl}?v=1&user=alice`))).toMatchObject({ status: 401 });
    await openWith(withToken(alice));
    await openWith(new WebSocket(`${server.wsUrl}?v=1&user=mallory`, { headers: { Authorization: `Bearer ${alice}` } }));
    expect(await refusedSocket(withToken(alice))).toMatchObject({ status: 429, body: { error: 'per_user', message: 'user already has 2 connections' } });
    expect(await openWith(withToken(await hs256({ sub: 'bob', exp: later() })))).toMatchObject({ type: 'welcome' });
  });

  it('in anonymous mode nobody is a user: ?user=alice five times does not lock alice out', async () => {
    server = await start({ 'admission.perUserMax': '1' });
    for (let i = 0; i < 3; i++) sockets.push((await opened(`${server.wsUrl}?v=1&user=alice`)).ws);
    expect(server.gateway.stats().connections).toMatchObject({ current: 3, users: 0 });
  });
});

describe('origin allow-list', () => {
  it('refuses a foreign Origin with 403 before the upgrade and admits a listed one or none', async () => {
    server = await start({ 'server.allowedOrigins': 'https://app.example' });
    const refusal = await refusedSocket(new WebSocket(`${server.wsUrl}?v=1`, { headers: { Origin: 'https://evil.example' } }));
    expect(refusal).toMatchObject({
      status: 403,
      body: { error: 'forbidden_origin', message: 'origin "https://evil.example" is not allowed (server.allowedOrigins)' },
    });
    expect(await openWith(new WebSocket(`${server.wsUrl}?v=1`, { headers: { Origin: 'https://app.example' } }))).toMatchObject({ type: 'welcome' });
    expect(await openWith(new WebSocket(`${server.wsUrl}?v=1`))).toMatchObject({ type: 'welcome' });
  });
});

describe('X-Forwarded-For behind a trusted proxy', () => {
  it('takes the rightmost untrusted entry: a forged left part cannot dodge the per-address cap', async () => {
    // The test's socket comes from 127.0.0.1, a trusted proxy (server.trustedProxies defaults to loopback).
    server = await start({ 'server.trustProxy': 'true', 'admission.perIpMax': '1', 'server.trustedProxies': '127.0.0.0/8,10.0.0.0/8' });
    const via = (xff: string): WebSocket => new WebSocket(`${server!.wsUrl}?v=1`, { headers: { 'X-Forwarded-For': xff } });
    sockets.push(await openedSocket(via('203.0.113.7, 10.0.0.2')));
    // Same client, forging a fresh address on the left each time: still 203.0.113.7 to us.
    expect(await refusedSocket(via('198.51.100.1, 203.0.113.7, 10.0.0.2'))).toMatchObject({
      status: 429,
      body: { error: 'per_ip', message: 'address already has 1 connections' },
    });
    expect(await refusedSocket(via('1.2.3.4, 203.0.113.7'))).toMatchObject({ status: 429, body: { error: 'per_ip' } });
    sockets.push(await openedSocket(via('203.0.113.8, 10.0.0.2')));
  });

  it('ignores the header from a peer that is not a trusted proxy', async () => {
    server = await start({ 'server.trustProxy': 'true', 'admission.perIpMax': '1', 'server.trustedProxies': '10.0.0.0/8' });
    const via = (xff: string): WebSocket => new WebSocket(`${server!.wsUrl}?v=1`, { headers: { 'X-Forwarded-For': xff } });
    sockets.push(await openedSocket(via('203.0.113.7')));
    expect(await refusedSocket(via('203.0.113.8'))).toMatchObject({ status: 429, body: { error: 'per_ip', message: 'address already has 1 connections' } });
  });
});
