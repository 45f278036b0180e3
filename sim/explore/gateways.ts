// Our real Gateway as the explorer runs it: one process per start on an instance's host, behind the
// simulated transport, reading the stream through its own broker consumer (behind the bug switch, if any).
import { Gateway } from '../../src/core/gateway.js';
import { gatewayOptions, type GatewayOptionsInput } from '../../src/core/options.js';
import { SimRandom } from '../adapters/random-sim.js';
import { NODE } from '../kernel/runtime.js';
import { SimTelemetry } from '../adapters/telemetry-sim.js';
import { SimTransport } from '../adapters/transport-sim.js';
import { withBug } from './bugs.js';
import type { Instance, Live } from './live.js';

export const PORT = 80;

/** Our gateway with short heartbeats and a small outbound bound, so faults reach the slow-client policy. */
const EXPLORE_GATEWAY: GatewayOptionsInput = {
  heartbeatMs: 5_000,
  heartbeatTimeoutMs: 3_000,
  outbound: { queueBytesMax: 16 * 1024, socketHighWaterBytes: 4 * 1024, slowCloseAfterMs: 3_000 },
  channelClasses: [{ pattern: 'odin.global.>', priority: 'low', conflate: false }],
};

export function startGateway(live: Live, inst: Instance): void {
  const n = `${inst.index}.${inst.starts++}`;
  const proc = live.world.spawn(inst.host, { name: `odin${n}`, runtime: NODE, nofileSoft: 65_536 });
  const options = gatewayOptions(EXPLORE_GATEWAY);
  const telemetry = new SimTelemetry(live.clock);
  const gateway = new Gateway(
    { clock: live.clock, random: new SimRandom(live.world.rng.fork(`gateway${n}`)), broker: withBug(inst.consumer, live.bug), telemetry },
    options,
  );
  gateway.start();
  new SimTransport(proc, gateway, { port: PORT, backlog: 511, handshakeCpuMs: 0.2, inboundCpuMs: 0.02, writeCpuMs: 0.01 });
  inst.gw = { proc, gateway, telemetry };
}

export function stopGateway(live: Live, inst: Instance): void {
  if (inst.gw === null) return;
  live.watch?.log(`${live.world.sched.nowMs} gateway ${inst.gw.proc.name} killed; its logs: ${JSON.stringify(inst.gw.telemetry.logs)}`);
  inst.gw.proc.kill('restart');
  inst.gw.gateway.stop();
  inst.gw = null;
}
