// Hostile input against the real core and the token verifier (docs/security.md, "Fuzzing"). fast-check
// generates frames an attacker would send — broken and replacement-character text, huge and deeply nested
// JSON, wrong types, prototype keys, subscribe/unsubscribe floods, enormous replay ranges, forged refresh
// tokens — and after every frame we check: nothing threw past the core (no `internal` error, no 1011, no
// error log), every frame the gateway wrote is valid protocol for the client's validating decoder, a close
// is one of the documented codes, and the session's queue stays within its bound.
//
// CI runs FUZZ_RUNS=2000 inputs (a few seconds); the deep run is
//   FUZZ_RUNS=1000000 npx vitest run test/security/fuzz.test.ts
// and prints the seed, the inputs run and the heap before and after. FC_SEED=… replays a failure.
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { JoseTokenVerifier } from '../../src/adapters/token-verifier-jose.js';
import type { Identity, TokenVerifier, VerifyResult } from '../../src/core/auth.js';
import { decodeServerMessage } from '../../src/client/decode.js';
import { harness, type Harness } from '../support/core-harness.js';
import { settle, start } from '../server/server-fixture.js';
import { hs256, nowS, SECRET } from './tokens.js';

const INPUTS = Number(process.env.FUZZ_RUNS ?? 2_000);
/** Generous per input, so a loaded 2-core CI machine does not time the default run out; the deep run scales. */
const TIMEOUT_MS = Math.max(60_000, INPUTS * 5);
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
/** Frames per generated session. */
const FRAMES_MAX = 12;
const utf8 = new TextDecoder();

const QUEUE_BYTES_MAX = 64 * 1024;
/** Closes the core may send for a peer's bad input; anything else (1011 above all) is a finding. */
const ALLOWED_CLOSES = new Set([1003, 1008, 4003]);

// ---- generators --------------------------------------------------------------------------------------

const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const channelish = fc.oneof(
  fc.constantFrom('news.eu', 'news.>', '>', '*', 'user.alice.inbox', 'user.bob.inbox', 'user.*.x', 'a..b', '', '.', 'x'.repeat(250), 'a.'.repeat(20) + 'a'),
  protoKeys,
  fc.stringMatching(/^[a-z*>.]{1,12}$/),
  fc.string({ maxLength: 20 }),
);
const anything: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, -1, 1.5, 2 ** 53, -(2 ** 60), Number.MAX_SAFE_INTEGER, '', '1', [], {}),
  fc.integer(),
  fc.string({ maxLength: 10 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const offsetish = fc.oneof(fc.nat(), fc.constantFrom(0, 1, 2 ** 53 - 1, 2 ** 53, -1, 1e308, 0.5), anything);

const typed = fc.record(
  {
    type: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'replay', 'ping', 'refresh'), protoKeys, fc.string({ maxLength: 8 })),
    id: offsetish,
    channels: fc.oneof(fc.array(channelish, { maxLength: 120 }), anything),
    since: fc.oneof(
      fc.dictionary(
        fc.oneof(channelish, protoKeys),
        fc.oneof(fc.record({ epoch: fc.oneof(fc.string({ maxLength: 8 }), anything), offset: offsetish }), anything),
      ),
      anything,
    ),
    channel: channelish,
    from: offsetish,
    to: offsetish,
    token: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('x'.repeat(9_000)), anything),
  },
  { requiredKeys: [] },
);

/** Depth-n nesting, beyond what a recursive decoder survives. */
const deep = fc
  .integer({ min: 1, max: 20_000 })
  .chain((n) => fc.constantFrom('[', '{"a":').map((open) => open.repeat(n) + (open === '[' ? ']' : '}').repeat(n)));
const huge = fc.integer({ min: 1_000, max: 60_000 }).map((n) => JSON.stringify({ type: 'subscribe', id: 1, channels: ['a'], pad: 'x'.repeat(n) }));
/** Random bytes read as UTF-8: what invalid UTF-8 becomes once decoded (ws itself closes 1007 on the wire). */
const brokenUtf8 = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('utf8'));
const protoJson = fc.constantFrom(
  '{"type":"subscribe","id":1,"channels":["__proto__"],"since":{"__proto__":{"epoch":"x","offset":1}}}',
  '{"__proto__":{"type":"ping"},"type":"ping","id":1}',
  '{"type":"subscribe","id":1,"channels":["constructor"],"since":{"constructor":{"epoch":"x","offset":0}}}',
  '{"type":"replay","id":1,"channel":"__proto__","from":0,"to":9007199254740991}',
);
const flood = fc
  .integer({ min: 1, max: 100 })
  .map((n) => JSON.stringify({ type: n % 2 === 0 ? 'subscribe' : 'unsubscribe', id: n, channels: Array.from({ length: 100 }, (_, i) => `f.${n}.${i}`) }));

const frame: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: typed.map((m) => JSON.stringify(m)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 64 }) },
  { weight: 1, arbitrary: brokenUtf8 },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: huge },
  { weight: 1, arbitrary: protoJson },
  { weight: 1, arbitrary: flood },
);

// ---- the core under fire -----------------------------------------------------------------------------

/** A verifier twin: any token is refused unless it is literally "good" (the jose adapter is fuzzed below). */
const twinVerifier: TokenVerifier = {
  verify(token: string, done: (result: VerifyResult) => void): void {
    done(
      token === 'good'
        ? { ok: true, identity: { user: 'alice', grants: ['news.>'], expiresAtMs: null } }
        : { ok: false, code: 'invalid_token', message: 'forged' },
    );
  },
};

function fuzzHarness(): Harness {
  return harness(
    {
      outbound: { queueBytesMax: QUEUE_BYTES_MAX, socketHighWaterBytes: 16 * 1024 },
      // Generous, so most frames reach the decoder; the rate limit has its own tests.
      inbound: { messageBurst: 1_000_000, messagesPerSecond: 1_000_000, violationsMax: 10, violationWindowMs: 60_000 },
      replayEventsMax: 50,
      // The harness opens every session at one virtual instant from 250 addresses: admission's per-address
      // handshake bucket would refuse the harness itself after 50,000 sessions.
      admission: { handshakeBurst: 1_000_000_000, handshakesPerSecond: 1_000_000 },
    },
    { verifier: twinVerifier },
  );
}

function checkAfter(h: Harness, conn: { frames(): { bytes: Uint8Array }[]; closed: { code: number } | null; clear(): void }, sessionQueueBytes: number): void {
  for (const f of conn.frames()) {
    const text = utf8.decode(f.bytes);
    const decoded = decodeServerMessage(text);
    if (!decoded.ok) throw new Error(`the gateway wrote invalid protocol: ${decoded.problem}: ${text.slice(0, 200)}`);
    if (decoded.message.type === 'error' && decoded.message.code === 'internal') throw new Error(`internal error on hostile input: ${text}`);
  }
  conn.clear();
  if (conn.closed !== null && !ALLOWED_CLOSES.has(conn.closed.code)) throw new Error(`closed with ${conn.closed.code}`);
  if (sessionQueueBytes > QUEUE_BYTES_MAX * 2) throw new Error(`queue holds ${sessionQueueBytes} bytes`);
  const errors = h.telemetry.logs.filter((l) => l.level === 'error');
  if (errors.length > 0) throw new Error(`error logged: ${errors[0]!.message}`);
  // The recording sink would otherwise grow with the run and hide the gateway's own memory in the figure.
  h.telemetry.logs.length = 0;
}

describe('fuzzing the core with hostile frames', () => {
  it(
    `survives ${INPUTS} hostile frames (seed ${SEED})`,
    () => {
      const h = fuzzHarness();
      // Something to replay, on a granted channel and a forbidden one.
      for (let i = 0; i < 20; i++) h.publish(i % 2 === 0 ? 'news.eu' : 'secret.x', { i });
      const identity: Identity = { user: 'alice', grants: ['news.>'], expiresAtMs: null };
      let inputs = 0;
      const heapBefore = process.memoryUsage().heapUsed;
      // Sessions average ~6 frames and a close ends one early: 1 run per 5 inputs reaches FUZZ_RUNS frames.
      const runs = Math.max(1, Math.ceil(INPUTS / 5));
      fc.assert(
        fc.property(fc.array(frame, { minLength: 1, maxLength: FRAMES_MAX }), fc.boolean(), (frames, secure) => {
          const client = h.connect(secure ? { identity } : {});
          try {
            for (const text of frames) {
              if (client.conn.closed !== null) break;
              client.sendRaw(text);
              inputs++;
              checkAfter(h, client.conn, client.session.queue.bytes);
            }
          } finally {
            client.close();
          }
        }),
        { numRuns: runs, seed: SEED },
      );
      const heapAfter = process.memoryUsage().heapUsed;
      console.log(
        `fuzz: seed ${SEED}, ${inputs} frames, heap ${(heapBefore / 2 ** 20).toFixed(1)} → ${(heapAfter / 2 ** 20).toFixed(1)} MiB, sessions left ${h.gateway.sessionCount()}`,
      );
      expect(inputs).toBeGreaterThan(INPUTS / 2);
      // Every session ended; nothing of them is held (admission, subscriptions).
      expect(h.gateway.sessionCount()).toBe(0);
      expect(h.gateway.stats().connections).toMatchObject({ held: 0 });
    },
    TIMEOUT_MS,
  );
});

describe('fuzzing the token verifier with forged tokens', () => {
  it(
    'accepts only the genuine token among mutations of it, alg swaps and garbage (seed in the title)',
    async () => {
      const verifier = new JoseTokenVerifier({
        key: { kind: 'secret', secret: SECRET },
        algorithms: [],
        issuer: null,
        audience: null,
        channelsClaim: 'channels',
        clockToleranceS: 0,
      });
      const genuine = await hs256({ sub: 'alice', exp: nowS() + 600, channels: ['news.>'] });
      const [header, payload, signature] = genuine.split('.') as [string, string, string];
      const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      const forged = fc.oneof(
        // One character of the token changed.
        fc.tuple(fc.nat({ max: genuine.length - 1 }), fc.constantFrom(...'AZaz09-_.=')).map(([i, c]) => genuine.slice(0, i) + c + genuine.slice(i + 1)),
        // Claims rewritten (another sub, wider grants), original signature kept.
        fc
          .record({ sub: fc.oneof(fc.constant('admin'), fc.string({ maxLength: 8 })), channels: fc.constant(['>']), exp: fc.constant(nowS() + 9_999) })
          .map((claims) => `${header}.${b64(claims)}.${signature}`),
        // Algorithms an attacker would try.
        fc
          .constantFrom('none', 'None', 'HS512', 'RS256', 'ES256', 'PS256', '')
          .map((alg) => `${b64({ alg, typ: 'JWT' })}.${payload}.${alg === 'none' ? '' : signature}`),
        fc.string({ maxLength: 200 }),
        fc.constant('a.b.c'),
        fc.constant('x'.repeat(10_000)),
      );
      const verify = (token: string): Promise<VerifyResult> => new Promise((resolve) => verifier.verify(token, resolve));
      expect(await verify(genuine)).toMatchObject({ ok: true, identity: { user: 'alice' } });
      await fc.assert(
        fc.asyncProperty(forged, async (token) => {
          const result = await verify(token);
          // A mutation in the signature's last character can leave the decoded bytes unchanged (base64url
          // padding bits); the token is then the genuine one, and only then may it pass.
          if (result.ok) expect(result.identity).toEqual({ user: 'alice', grants: ['news.>'], expiresAtMs: expect.any(Number) });
          else expect(['invalid_token', 'token_expired']).toContain(result.code);
        }),
        { numRuns: Math.max(200, Math.floor(INPUTS / 10)), seed: SEED },
      );
    },
    TIMEOUT_MS,
  );
});

describe('hostile frames over real sockets', () => {
  it('keeps serving after a small batch of hostile frames on real connections', async () => {
    const server = await start({ 'inbound.messageBurst': '10000', 'inbound.messagesPerSecond': '10000' });
    try {
      const samples = fc.sample(frame, { numRuns: 60, seed: SEED });
      for (let i = 0; i < samples.length; i += 20) {
        const ws = new WebSocket(`${server.wsUrl}?v=1`, { maxPayload: 1 << 20 });
        const result = await settle(ws);
        if ('refusal' in result) throw new Error('refused');
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        const answers: string[] = [];
        ws.on('message', (data) => answers.push(String(data)));
        for (const text of samples.slice(i, i + 20)) ws.send(text);
        ws.send(JSON.stringify({ type: 'ping', id: 424242 }));
        const code = await Promise.race([
          closed,
          new Promise<number>((resolve) => {
            const poll = setInterval(() => {
              if (answers.some((a) => a.includes('"id":424242'))) {
                clearInterval(poll);
                resolve(0);
              }
            }, 5);
          }),
        ]);
        // Still open (our ping answered), or closed for the peer's bad input with a documented code.
        expect([0, 1003, 1008, 1009]).toContain(code);
        for (const a of answers) expect(decodeServerMessage(a).ok).toBe(true);
        expect(answers.some((a) => a.includes('"code":"internal"'))).toBe(false);
        ws.terminate();
      }
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
