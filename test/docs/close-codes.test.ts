// docs/protocol.md's close-code table against what the core really sends. Every way the gateway closes a
// connection is driven here through the real core; each observed close must have a row with its code whose
// "reason (real)" column shows the observed reason, and that row must not call the code reserved or unsent.
// The scenarios must cover every close code the core's source names (src/core/*.ts): adding a close
// there without documenting it fails this test.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BrokerSink } from '../../src/core/ports.js';
import { CloseCodes } from '../../src/core/protocol.js';
import { ScriptedBroker } from '../support/scripted-broker.js';
import { harness, type Client } from '../support/core-harness.js';
import { Gateway } from '../../src/core/gateway.js';
import { gatewayOptions } from '../../src/core/options.js';
import { FakeConnection, RecordingTelemetry } from '../support/fakes.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import { seededRandom } from '../support/seeded-random.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const coreDir = new URL('../../src/core/', import.meta.url);
const gatewaySource = readdirSync(coreDir)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => readFileSync(new URL(name, coreDir), 'utf8'))
  .join('\n');

interface Row {
  readonly code: number;
  readonly when: string;
  readonly reason: string;
}

/** The rows of the table under "## Close codes": | code | sent when | reason (real) | client |. */
function closeCodeRows(): Row[] {
  const section = doc.slice(doc.indexOf('## Close codes'), doc.indexOf('\n## ', doc.indexOf('## Close codes') + 1));
  return section
    .split('\n')
    .filter((line) => /^\| \d{4} \|/.test(line))
    .map((line) => {
      const cells = line.split(' | ').map((cell) => cell.replace(/^\| ?| ?\|$/g, ''));
      return { code: Number(cells[0]), when: cells[1]!, reason: cells[2]! };
    });
}

type Closed = { code: number; reason: string };

function closedBy(run: (client: Client, h: ReturnType<typeof harness>) => void, options: Parameters<typeof harness>[0] = {}): Closed {
  const h = harness(options);
  const client = h.connect();
  run(client, h);
  h.clock.settle();
  expect(client.conn.closed, 'the scenario closes the connection').not.toBeNull();
  return client.conn.closed!;
}

/** A gateway whose broker comes back with another epoch. */
function closedByNewEpoch(): Closed {
  const clock = new SimClock();
  const random = seededRandom(7);
  const broker = new ScriptedBroker();
  const gateway = new Gateway({ clock, random, broker, telemetry: new RecordingTelemetry() }, gatewayOptions());
  gateway.start();
  const admission = gateway.admit({ ip: '10.0.0.1', userId: null });
  if (!admission.ok) throw new Error('refused');
  const conn = new FakeConnection();
  gateway.open(conn, admission.ticket);
  clock.settle();
  broker.currentEpoch = 'E2';
  (broker.sink as BrokerSink).onStatus('live');
  clock.settle();
  expect(conn.closed).not.toBeNull();
  return conn.closed!;
}

const scenarios: Record<string, () => Closed> = {
  drain: () => closedBy((_, h) => h.gateway.drain(() => undefined)),
  'binary frame': () => closedBy((c, h) => h.gateway.onBinaryMessage(c.session)),
  'slow consumer': () =>
    closedBy(
      (c, h) => {
        c.send({ type: 'subscribe', id: 1, channels: ['t'] });
        c.conn.buffered = 1_900;
        for (let i = 0; i < 40; i++) h.publish('t', { pad: 'y'.repeat(100) });
        h.clock.advance(6_000);
      },
      { outbound: { queueBytesMax: 2_000, socketHighWaterBytes: 500 }, channelClasses: [{ pattern: 't', priority: 'critical', conflate: false }] },
    ),
  'repeated rate violations': () =>
    closedBy(
      (c) => {
        for (let i = 1; i <= 5; i++) c.send({ type: 'ping', id: i });
      },
      { inbound: { messageBurst: 2, messagesPerSecond: 1, violationsMax: 2 } },
    ),
  'internal error': () =>
    closedBy((c) => {
      Object.defineProperty(c.session, 'subscriptions', {
        get: () => {
          throw new Error('boom');
        },
      });
      c.send({ type: 'subscribe', id: 1, channels: ['a'] });
    }),
  'new epoch': closedByNewEpoch,
  'token expired': () => {
    const h = harness();
    const client = h.connect({ identity: { user: 'alice', grants: [], expiresAtMs: h.clock.wallMs() + 120_000 } });
    h.clock.advance(120_000);
    h.clock.settle();
    expect(client.conn.closed).not.toBeNull();
    return client.conn.closed!;
  },
};

describe('docs/protocol.md close codes', () => {
  const rows = closeCodeRows();

  it('reads the table', () => {
    expect(rows.map((r) => r.code)).toEqual(expect.arrayContaining([1000, 1001, 1008, 1011, 1012]));
  });

  for (const [name, scenario] of Object.entries(scenarios)) {
    it(`documents the close the core sends on ${name}, with its real reason`, () => {
      const closed = scenario();
      // A hint's number varies with the seed; the table shows one real value.
      const shape = (reason: string): string => reason.replace(/retry-after-ms=\d+/g, 'retry-after-ms=N');
      const row = rows.find((r) => r.code === closed.code && shape(r.reason).includes(`\`${shape(closed.reason)}\``));
      expect(row, `no row for ${closed.code} showing \`${closed.reason}\``).toBeDefined();
      expect(row!.when).not.toMatch(/not sent|reserved|does not send/);
    });
  }

  it('covers every close code the gateway sends', () => {
    const used = new Set<number>([...gatewaySource.matchAll(/CloseCodes\.(\w+)/g)].map((m) => CloseCodes[m[1] as keyof typeof CloseCodes]));
    const observed = new Set(Object.values(scenarios).map((scenario) => scenario().code));
    expect([...used].sort()).toEqual([...observed].sort());
  });

  it('marks only codes the gateway never sends as not sent', () => {
    const sent = new Set<number>([...gatewaySource.matchAll(/CloseCodes\.(\w+)/g)].map((m) => CloseCodes[m[1] as keyof typeof CloseCodes]));
    for (const row of rows.filter((r) => /not sent|reserved|does not send/.test(r.when)))
      expect(sent.has(row.code), `${row.code} is marked unsent`).toBe(false);
  });
});
