// odin load --nats: events published straight into NATS reach the gateway's subscribers through the
// JetStream stream, and the load tool counts them like any other publish path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLoadArgs } from '../../src/load/cli.js';
import { openNatsPublisher } from '../../src/load/publishers.js';
import { runLoad } from '../../src/load/run.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { namespace, serveOnNats, type Gateway } from './support.js';

let nats: NatsServer;
let gateway: Gateway;
const ns = namespace();

beforeAll(async () => {
  nats = await startNats();
  gateway = await serveOnNats(nats, ns, { 'log.level': 'silent' });
});
afterAll(async () => {
  await gateway?.close();
  await nats?.close();
});

describe('odin load --nats', () => {
  it('publishes into the stream and sees every event at every subscriber', { timeout: 60_000 }, async () => {
    const auth = nats.auth.user !== undefined ? `${encodeURIComponent(nats.auth.user)}:${encodeURIComponent(nats.auth.password ?? '')}@` : '';
    const natsUrl = nats.url.replace('nats://', `nats://${auth}`);
    const parsed = parseLoadArgs([
      `${gateway.wsUrl}?v=1`,
      '-c',
      '6',
      '--ramp',
      '0',
      '--bursts',
      '2',
      '--burst-events',
      '4',
      '--burst-gap',
      '0.1',
      '--channel-prefix',
      `${ns.prefix}.token.load`,
      '--nats',
      natsUrl,
      '--sample',
      '1',
    ]);
    expect(parsed.publish).toEqual({ kind: 'nats', servers: natsUrl });
    const publisher = await openNatsPublisher(natsUrl, 5_000);
    const report = await runLoad(
      { ...parsed.run, tickMs: 200 },
      { publisher, progress: { show: () => undefined, log: () => undefined, stop: () => undefined } },
    );
    await publisher.close();
    expect(report.settings.publish).toBe('nats');
    expect(report.phases).toHaveLength(2);
    for (const burst of report.phases) expect(burst).toMatchObject({ expected: 24, delivered: 24, complete: true, published: { sent: 4, ok: 4 } });
    expect(report.latency.count).toBe(48);
  });
});
