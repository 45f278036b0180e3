// The IPC broker pair: the primary's host and a worker's adapter, over in-memory channels that deliver like
// IPC does (a JSON copy, on a later turn). Every worker must see the same stream — same offsets, same
// epoch, each event once — whenever it starts, and nothing may wait or buffer without bound.
import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../src/adapters/broker-memory.js';
import { BrokerHost } from '../../src/adapters/broker-ipc-host.js';
import type { IpcEndpoint } from '../../src/adapters/broker-ipc-messages.js';
import { openIpcBroker, type IpcBroker } from '../../src/adapters/broker-ipc.js';
import { SystemClock } from '../../src/adapters/clock-system.js';
import type { BrokerEvent, BrokerStatus, HistoryResult, PublishResult } from '../../src/core/ports.js';

interface Link {
  readonly primary: IpcEndpoint;
  readonly worker: IpcEndpoint;
  /** Messages from the worker are dropped while this is set (a primary that does not answer). */
  deaf: boolean;
  /** Every message the primary sent, as sent. */
  readonly sent: unknown[];
  cut(): void;
}

/** `sync`: the worker's messages reach the primary at once (in the same turn), to pin down a race. */
function link(sync = false): Link {
  const listeners = { primary: [] as Array<(m: unknown) => void>, worker: [] as Array<(m: unknown) => void> };
  const disconnect = { primary: [] as Array<() => void>, worker: [] as Array<() => void> };
  let open = true;
  const l: Link = {
    deaf: false,
    sent: [],
    primary: {
      send: (m) => open && (l.sent.push(m), setImmediate(() => open && listeners.worker.forEach((f) => f(JSON.parse(JSON.stringify(m))))), true),
      onMessage: (f) => void listeners.primary.push(f),
      onDisconnect: (f) => void disconnect.primary.push(f),
    },
    worker: {
      send: (m) => {
        if (!open) return false;
        const deliver = (): void => void (open && !l.deaf && listeners.primary.forEach((f) => f(JSON.parse(JSON.stringify(m)))));
        if (sync) deliver();
        else setImmediate(deliver);
        return true;
      },
      onMessage: (f) => void listeners.worker.push(f),
      onDisconnect: (f) => void disconnect.worker.push(f),
    },
    cut() {
      open = false;
      disconnect.primary.forEach((f) => f());
      disconnect.worker.forEach((f) => f());
    },
  };
  return l;
}

const random = { next: () => 0.5 };

function reader(broker: IpcBroker): { events: BrokerEvent[]; statuses: string[] } {
  const seen = { events: [] as BrokerEvent[], statuses: [] as string[] };
  broker.start({ onEvent: (e) => seen.events.push(e), onStatus: (s: BrokerStatus, d?: string) => seen.statuses.push(d === undefined ? s : `${s}: ${d}`) });
  return seen;
}

const turns = (n = 5): Promise<void> =>
  new Promise((resolve) => {
    const step = (left: number): void => void (left === 0 ? resolve() : setImmediate(() => step(left - 1)));
    step(n);
  });

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function publishDirect(broker: MemoryBroker, channel: string, data: string): void {
  broker.publish(channel, data, (r) => expect(r.ok).toBe(true));
}

function setup(options: { unackedEventsMax?: number; batchEventsMax?: number } = {}) {
  const broker = new MemoryBroker(new SystemClock(), random);
  const lagging: number[] = [];
  const host = new BrokerHost(broker, {
    batchEventsMax: options.batchEventsMax ?? 1_000,
    unackedEventsMax: options.unackedEventsMax ?? 100_000,
    onLagging: (_peer, n) => lagging.push(n),
  });
  host.start();
  const connect = async (sync = false): Promise<{ link: Link; broker: IpcBroker }> => {
    const l = link(sync);
    host.attach(l.primary);
    return { link: l, broker: await openIpcBroker(l.worker, { helloTimeoutMs: 1_000, requestTimeoutMs: 200, pendingMax: 3 }) };
  };
  return { broker, host, lagging, connect };
}

describe('IPC broker (host in the primary, adapter in each worker)', () => {
  it('gives every worker the broker epoch and the same events with the same offsets, in order', async () => {
    const s = setup();
    const a = await s.connect();
    const b = await s.connect();
    expect(a.broker.epoch()).toBe(s.broker.epoch());
    expect(b.broker.epoch()).toBe(s.broker.epoch());
    const seenA = reader(a.broker);
    const seenB = reader(b.broker);
    await until(() => s.host.readerCount === 2, 'both readers');
    for (let i = 0; i < 50; i++) publishDirect(s.broker, `odin.token.${i % 3}.trade`, `{"i":${i}}`);
    await until(() => seenA.events.length === 50 && seenB.events.length === 50, 'all events at both');
    expect(seenA.events).toEqual(seenB.events);
    expect(seenA.events.map((e) => e.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(seenA.events[3]).toEqual({ channel: 'odin.token.0.trade', offset: 4, prev: 1, data: '{"i":3}' });
    expect(seenA.statuses).toEqual(['connecting', 'live']);
  });

  it('brings a late worker up to date with every retained event, then live, each exactly once', async () => {
    const s = setup({ batchEventsMax: 7 });
    const early = await s.connect();
    const seenEarly = reader(early.broker);
    await until(() => s.host.readerCount === 1, 'the first reader');
    for (let i = 0; i < 20; i++) publishDirect(s.broker, 'odin.token.a.trade', `${i}`);
    const late = await s.connect();
    // Published in the same turn as the late worker's start arrives: in its replay and in the pending batch.
    const seenLate = reader(late.broker);
    setImmediate(() => {
      for (let i = 20; i < 30; i++) publishDirect(s.broker, 'odin.token.a.trade', `${i}`);
    });
    await until(() => seenLate.events.length >= 30 && seenEarly.events.length >= 30, 'thirty events at both');
    await turns();
    expect(seenLate.events.map((e) => e.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(seenEarly.events.map((e) => e.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('a worker that starts while a batch is pending gets those events once (in its replay), not twice', async () => {
    const s = setup();
    const early = await s.connect();
    const seenEarly = reader(early.broker);
    await until(() => s.host.readerCount === 1, 'the first reader');
    const late = await s.connect(true);
    for (let i = 0; i < 3; i++) publishDirect(s.broker, 'odin.token.a.trade', `${i}`);
    // Same turn: the host has the three events in its unsent batch when this start arrives.
    const seenLate = reader(late.broker);
    await until(() => seenLate.events.length >= 3 && seenEarly.events.length >= 3, 'three events at both');
    await turns();
    expect(seenLate.events.map((e) => e.offset)).toEqual([1, 2, 3]);
    expect(seenEarly.events.map((e) => e.offset)).toEqual([1, 2, 3]);
    // Once on the wire too, not merely deduplicated by the worker.
    const onWire = late.link.sent.flatMap((m) => ((m as { op: string }).op === 'events' ? (m as { events: BrokerEvent[] }).events.map((e) => e.offset) : []));
    expect(onWire).toEqual([1, 2, 3]);
  });

  it('publishes and reads history through the primary, with the broker answer', async () => {
    const s = setup();
    const w = await s.connect();
    reader(w.broker);
    const published = await new Promise<PublishResult>((resolve) => w.broker.publish('odin.token.x.trade', '{"p":1}', resolve));
    expect(published).toEqual({ ok: true, epoch: s.broker.epoch(), offset: 1 });
    const history = await new Promise<HistoryResult>((resolve) =>
      w.broker.readHistory({ subject: 'odin.token.x.trade', afterOffset: 0, maxEvents: 10 }, resolve),
    );
    expect(history).toEqual({ ok: true, events: [{ channel: 'odin.token.x.trade', offset: 1, prev: 0, data: '{"p":1}' }] });
  });

  it('refuses requests the primary does not answer in time, and past the pending bound at once', async () => {
    const s = setup();
    const w = await s.connect();
    w.link.deaf = true;
    const started = Date.now();
    const answers: Array<PublishResult> = [];
    for (let i = 0; i < 5; i++) w.broker.publish('odin.token.x.trade', '1', (r) => answers.push(r));
    // pendingMax is 3: the 4th and 5th are refused without waiting.
    expect(answers).toHaveLength(2);
    expect(answers.every((r) => !r.ok)).toBe(true);
    await until(() => answers.length === 5, 'the timed-out answers');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(w.broker.pendingCount).toBe(0);
    const history = await new Promise<HistoryResult>((resolve) =>
      w.broker.readHistory({ subject: 'odin.token.x.trade', afterOffset: 0, maxEvents: 1 }, resolve),
    );
    expect(history).toEqual({ ok: false, reason: 'unavailable' });
  });

  it('stops feeding a worker that does not acknowledge, and reports it, without holding up the others', async () => {
    const s = setup({ unackedEventsMax: 10, batchEventsMax: 4 });
    const healthy = await s.connect();
    const stuck = await s.connect();
    const seenHealthy = reader(healthy.broker);
    reader(stuck.broker);
    await until(() => s.host.readerCount === 2, 'both readers');
    stuck.link.deaf = true; // its acknowledgements never arrive
    for (let i = 0; i < 40; i++) {
      publishDirect(s.broker, 'odin.token.a.trade', `${i}`);
      await turns(2);
    }
    await until(() => seenHealthy.events.length === 40, 'all events at the healthy worker');
    expect(s.lagging).toHaveLength(1);
    expect(s.lagging[0]).toBeLessThanOrEqual(10);
    expect(s.host.readerCount).toBe(1);
  });

  it('turns the broker down and refuses what is pending when the primary goes away', async () => {
    const s = setup();
    const w = await s.connect();
    const seen = reader(w.broker);
    w.link.deaf = true;
    const answer = new Promise<PublishResult>((resolve) => w.broker.publish('odin.token.x.trade', '1', resolve));
    w.link.cut();
    expect((await answer).ok).toBe(false);
    expect(seen.statuses.at(-1)).toMatch(/^down: the primary process/);
  });

  it('fails to open without a primary that answers', async () => {
    const l = link();
    l.deaf = true;
    await expect(openIpcBroker(l.worker, { helloTimeoutMs: 50, requestTimeoutMs: 50, pendingMax: 1 })).rejects.toThrow(/did not answer/);
  });
});
