// The broker port's history answers on a real stream: exact, or refused with the reason — beyond_head,
// history_expired, too_many, unavailable — never a short list presented as complete. And bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNatsBroker, type NatsBroker } from '../../src/adapters/broker-nats.js';
import type { HistoryRequest, HistoryResult } from '../../src/core/ports.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { namespace, plainClient, type PlainClient } from './support.js';

let nats: NatsServer;
let backend: PlainClient;

beforeAll(async () => {
  nats = await startNats();
  backend = await plainClient(nats);
});
afterAll(async () => {
  await backend?.close();
  await nats?.close();
});

async function brokerOn(ns: ReturnType<typeof namespace>, historyReadsMax = 8): Promise<NatsBroker> {
  return openNatsBroker({
    servers: [nats.url],
    auth: nats.auth,
    stream: { name: ns.stream, subjects: ns.subjects.split(','), maxAgeMs: 60_000, maxMsgs: 10_000, maxBytes: 1 << 24, storage: 'file', replicas: 1 },
    historyReadsMax,
  });
}

const read = (broker: NatsBroker, request: HistoryRequest): Promise<HistoryResult> => new Promise((resolve) => broker.readHistory(request, resolve));

describe('history reads from the stream', () => {
  it('answers exactly, or names why not', async () => {
    const ns = namespace();
    const broker = await brokerOn(ns);
    try {
      const a = `${ns.prefix}.token.A.trade`;
      const b = `${ns.prefix}.token.B.trade`;
      for (const channel of [a, b, a, a, b, a]) await backend.js.publish(channel, JSON.stringify(channel.slice(-7)));
      // seqs: a 1, b 2, a 3, a 4, b 5, a 6
      expect(await read(broker, { subject: a, afterOffset: 1, maxEvents: 10 })).toEqual({
        ok: true,
        events: [
          { channel: a, offset: 3, prev: null, data: '"A.trade"' },
          { channel: a, offset: 4, prev: 3, data: '"A.trade"' },
          { channel: a, offset: 6, prev: 4, data: '"A.trade"' },
        ],
      });
      expect(await read(broker, { subject: a, afterOffset: 1, toOffset: 4, maxEvents: 10 })).toMatchObject({
        ok: true,
        events: [{ offset: 3 }, { offset: 4 }],
      });
      expect(await read(broker, { subject: `${ns.prefix}.token.*.trade`, afterOffset: 3, maxEvents: 10 })).toMatchObject({
        ok: true,
        events: [
          { channel: a, offset: 4, prev: null },
          { channel: b, offset: 5, prev: null },
          { channel: a, offset: 6, prev: 4 },
        ],
      });
      expect(await read(broker, { subject: a, afterOffset: 6, maxEvents: 10 })).toEqual({ ok: true, events: [] });
      expect(await read(broker, { subject: a, afterOffset: 7, maxEvents: 10 })).toEqual({ ok: false, reason: 'beyond_head' });
      expect(await read(broker, { subject: a, afterOffset: 0, maxEvents: 3 })).toEqual({ ok: false, reason: 'too_many' });
      expect(await read(broker, { subject: a, afterOffset: 0, maxEvents: 4 })).toMatchObject({
        ok: true,
        events: [{ offset: 1 }, { offset: 3 }, { offset: 4 }, { offset: 6 }],
      });

      await backend.jsm.streams.purge(ns.stream, { keep: 2 }); // the stream now starts at 5
      expect(await read(broker, { subject: a, afterOffset: 3, maxEvents: 10 })).toEqual({ ok: false, reason: 'history_expired' });
      expect(await read(broker, { subject: a, afterOffset: 4, maxEvents: 10 })).toMatchObject({ ok: true, events: [{ offset: 6 }] });
    } finally {
      await broker.close();
    }
  });

  it('runs a bounded number at once, queues a bounded number, and refuses the rest at once', async () => {
    const ns = namespace();
    const broker = await brokerOn(ns, 1);
    try {
      await backend.js.publish(`${ns.prefix}.token.A.trade`, '1');
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => read(broker, { subject: `${ns.prefix}.token.A.trade`, afterOffset: 0, maxEvents: 10 })),
      );
      const refused = answers.filter((a) => !a.ok);
      expect(refused).toHaveLength(100 - 1 - 64); // one running, 64 waiting
      expect(refused.every((a) => !a.ok && a.reason === 'unavailable')).toBe(true);
      expect(answers.filter((a) => a.ok).every((a) => a.ok && a.events.length === 1)).toBe(true);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await broker.close();
    }
  });

  it('answers unavailable at once while NATS is unreachable', async () => {
    const server = await startNats({ controllable: true });
    const ns = namespace();
    const broker = await openNatsBroker({
      servers: [server.url],
      auth: server.auth,
      stream: { name: ns.stream, subjects: ns.subjects.split(','), maxAgeMs: 60_000, maxMsgs: 100, maxBytes: 1 << 20, storage: 'file', replicas: 1 },
    });
    const statuses: string[] = [];
    broker.start({ onEvent: () => undefined, onStatus: (status) => statuses.push(status) });
    try {
      await server.stop();
      while (!statuses.includes('down')) await new Promise((r) => setTimeout(r, 10));
      const started = Date.now();
      expect(await read(broker, { subject: `${ns.prefix}.token.A.trade`, afterOffset: 0, maxEvents: 10 })).toEqual({ ok: false, reason: 'unavailable' });
      expect(await new Promise((resolve) => broker.publish(`${ns.prefix}.token.A.trade`, '1', resolve))).toEqual({
        ok: false,
        reason: expect.stringMatching(/^NATS unavailable: connection to NATS lost/),
      });
      expect(Date.now() - started).toBeLessThan(100);
    } finally {
      await broker.close();
      await server.close();
    }
  });
});
