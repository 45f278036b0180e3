// I8 rate conformance: over any window of T seconds, at most burst + rate·T takes succeed; and the limiter
// is not stingier than that (a take is refused only when an ideal bucket, fed the same decisions, is
// empty). Checked on the token bucket itself (from a factory, so broken buckets can be tried) and through
// the gateway: handshakes per IP and inbound messages per connection.
import fc from 'fast-check';
import { TokenBucket } from '../../src/core/token-bucket.js';
import { expectThat } from '../model/model.js';
import { System, realCore } from '../model/system.js';

export interface Bucket {
  take(nowMs: number): boolean;
  waitMs(nowMs: number): number;
  isFull(nowMs: number): boolean;
}
export type BucketFactory = (burst: number, perSecond: number, nowMs: number) => Bucket;
export const realBucket: BucketFactory = (burst, perSecond, nowMs) => new TokenBucket(burst, perSecond, nowMs);

const EPS = 1e-9;

/** I8 over every window spanned by accepted takes (the tightest windows start and end at one). */
export function checkWindows(accepted: readonly number[], burst: number, perSecond: number, what: string): void {
  for (let i = 0; i < accepted.length; i++) {
    for (let j = i; j < accepted.length; j++) {
      const bound = burst + (perSecond * (accepted[j]! - accepted[i]!)) / 1000;
      expectThat(j - i + 1 <= bound + EPS, `I8: ${j - i + 1} ${what} accepted within ${accepted[j]! - accepted[i]!} ms; bound ${bound}`);
    }
  }
}

export const bucketScenarios = fc.record({
  burst: fc.integer({ min: 1, max: 12 }),
  perSecond: fc.constantFrom(0, 0.5, 1, 2, 5, 10, 40),
  start: fc.integer({ min: 0, max: 10_000 }),
  steps: fc.array(
    fc.record({
      dtMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5_000 })),
      probe: fc.constantFrom('take', 'take', 'take', 'wait', 'full'),
    }),
    {
      maxLength: 150,
      size: 'max',
    },
  ),
});

type BucketScenario = typeof bucketScenarios extends fc.Arbitrary<infer T> ? T : never;

export function bucketProperty(make: BucketFactory): fc.IPropertyWithHooks<[BucketScenario]> {
  return fc.property(bucketScenarios, ({ burst, perSecond, start, steps }) => {
    const bucket = make(burst, perSecond, start);
    let now = start;
    let ideal = burst;
    let last = start;
    const accepted: number[] = [];
    for (const { dtMs, probe } of steps) {
      now += dtMs;
      ideal = Math.min(burst, ideal + ((now - last) * perSecond) / 1000);
      last = now;
      if (probe === 'full') {
        expectThat(bucket.isFull(now) === ideal >= burst - EPS, `isFull ${bucket.isFull(now)} with ${ideal} of ${burst} tokens`);
        continue;
      }
      if (probe === 'wait') {
        const wait = bucket.waitMs(now);
        const expected = ideal >= 1 - EPS ? 0 : perSecond === 0 ? Infinity : Math.ceil(((1 - ideal) / perSecond) * 1000);
        expectThat(Math.abs(wait - expected) <= 1 || wait === expected, `waitMs ${wait}, expected ${expected} (${ideal} tokens)`);
        continue;
      }
      if (bucket.take(now)) {
        accepted.push(now);
        ideal -= 1;
      } else {
        expectThat(ideal < 1 + EPS, `I8: refused at ${now} ms with ${ideal.toFixed(3)} tokens (burst ${burst}, ${perSecond}/s)`);
      }
    }
    checkWindows(accepted, burst, perSecond, 'takes');
  });
}

/** Handshakes from one IP through Gateway.admit: the per-IP bucket (docs/design.md, "Admission and limits") conforms to I8. */
export const handshakeRateProperty = fc.property(
  fc.integer({ min: 1, max: 8 }),
  fc.constantFrom(0.5, 1, 2, 5),
  fc.array(fc.integer({ min: 0, max: 1_500 }), { maxLength: 80, size: 'max' }),
  (burst, perSecond, gaps) => {
    const sys = new System(realCore, {
      options: { heartbeatMs: 1e9, admission: { handshakeBurst: burst, handshakesPerSecond: perSecond, perIpMax: 1e6, perUserMax: 1e6, connectionsMax: 1e6 } },
    });
    const accepted: number[] = [];
    let now = 0;
    let ideal = burst;
    for (const [i, gap] of gaps.entries()) {
      sys.advance(gap); // housekeeping sweeps full buckets meanwhile: forgetting one must change nothing
      now += gap;
      ideal = Math.min(burst, ideal + (gap * perSecond) / 1000);
      const answer = sys.gateway.admit({ ip: '10.0.0.1', userId: null });
      if (answer.ok) {
        ideal -= 1;
        accepted.push(now);
        sys.gateway.abandon(answer.ticket);
      } else {
        expectThat(answer.status === 429 && answer.reason === 'handshake_rate' && answer.retryAfterS >= 1, `refusal ${JSON.stringify(answer)}`);
        // Retry-After is never earlier than the bucket's next token (at least 1 s); refused clients are
        // spread over later slots (test/core/guards.test.ts checks that obeyed hints find a token).
        // (The ideal bucket and the real one may differ in the last float bit.)
        const seconds = (1 - ideal) / perSecond;
        const lo = Math.max(1, Math.ceil(seconds - 1e-6));
        expectThat(answer.retryAfterS >= lo, `Retry-After ${answer.retryAfterS} s at ${perSecond}/s with ${ideal} tokens, expected at least ${lo}`);
      }
      // Another address has its own bucket.
      const other = sys.gateway.admit({ ip: `10.1.0.${i}`, userId: null });
      expectThat(other.ok, 'a fresh address was refused');
      sys.gateway.abandon(other.ticket);
    }
    checkWindows(accepted, burst, perSecond, 'handshakes');
    // Liveness: after a quiet burst/rate seconds the whole burst is available again.
    sys.advance(Math.ceil((burst / perSecond) * 1000) + 1_000);
    for (let i = 0; i < burst; i++)
      expectThat(sys.gateway.admit({ ip: '10.0.0.1', userId: null }).ok, `I8: handshake ${i + 1} of a rested burst ${burst} refused`);
  },
);

/** Inbound messages per connection: pongs conform to I8; violations get errors, then a close 1008. */
export const inboundRateProperty = fc.property(
  fc.integer({ min: 1, max: 8 }),
  fc.constantFrom(1, 2, 5),
  fc.integer({ min: 0, max: 4 }),
  fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 60, size: 'max' }),
  (burst, perSecond, violationsMax, gaps) => {
    const sys = new System(realCore, { options: { heartbeatMs: 1e9, inbound: { messageBurst: burst, messagesPerSecond: perSecond, violationsMax } } });
    const link = sys.connect({ ip: '10.0.0.1', userId: null })!;
    const accepted: number[] = [];
    let now = 0;
    let violations = 0;
    for (const [i, gap] of gaps.entries()) {
      sys.advance(gap);
      now += gap;
      const before = link.conn.messages().length;
      sys.send(link, { type: 'ping', id: i });
      const answer = link.conn.messages().slice(before);
      if (link.conn.closed !== null) {
        expectThat(violations === violationsMax && link.conn.closed.code === 1008, `closed after ${violations} violations (max ${violationsMax})`);
        break;
      }
      if (answer.some((m) => m.type === 'pong')) accepted.push(now);
      else {
        violations++;
        expectThat(answer.length === 1 && answer[0]!.type === 'error' && answer[0].code === 'rate_limited', `answer ${JSON.stringify(answer)}`);
      }
    }
    checkWindows(accepted, burst, perSecond, 'messages');
    expectThat(accepted.length >= Math.min(burst, gaps.length), `I8: only ${accepted.length} of the first ${burst} messages accepted`);
  },
);
