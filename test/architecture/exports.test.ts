// package.json's exports are deliberate entry points: each one names a file that exists, and the core's
// entry (src/core/index.ts) is enough to run a gateway with ports of one's own — the way src/server and
// the lab each host it.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as core from '../../src/core/index.js';
import { FakeConnection, RecordingTelemetry } from '../support/fakes.js';
import { seededRandom } from '../support/seeded-random.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import { MemoryBroker } from '../../src/adapters/broker-memory.js';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { exports: Record<string, string | Record<string, string>> };

describe('package entry points', () => {
  it('every export names a file that exists', () => {
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(existsSync(new URL(target, root)), target).toBe(true);
    expect(pkg.exports['./core']).toBe('./src/core/index.ts');
  });

  it('the core entry runs a gateway on ports supplied by its host', () => {
    const clock = new SimClock();
    const random = seededRandom(3);
    const gateway = new core.Gateway({ clock, random, broker: new MemoryBroker(clock, random), telemetry: new RecordingTelemetry() }, core.gatewayOptions());
    gateway.start();
    const outcome = gateway.handshake({ path: '/ws', upgrade: 'websocket', version: null, protocols: [core.SUBPROTOCOL], peer: { ip: '10.0.0.1', userId: null } }, '/ws');
    if (!outcome.ok) throw new Error(`refused: ${outcome.body.message}`);
    const conn = new FakeConnection();
    gateway.open(conn, outcome.ticket);
    clock.settle();
    expect(conn.messages()[0]).toMatchObject({ type: 'welcome' });
    expect(gateway.ready()).toBe(true);
  });
});
