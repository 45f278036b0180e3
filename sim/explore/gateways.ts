// Our real Gateway as the explorer runs it: one process per start on an instance's host, behind the
// simulated transport, reading the stream through its own broker consumer (behind the bug switch, if any).
import { type AdmissionTicket, Gateway, type Session } from '../../src/core/gateway.js';
import { gatewayOptions, type GatewayOptionsInput } from '../../src/core/options.js';
import type { Connection, Frame } from '../../src/core/ports.js';
import { SimRandom } from '../engine/clock-sim.js';
import { NODE } from '../kernel/runtime.js';
import { SimTelemetry } from '../telemetry-sim.js';
import { SimTransport } from '../transport-sim.js';
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
  new SimTransport(proc, splitWrites(gateway), { port: PORT, backlog: 511, handshakeCpuMs: 0.2, inboundCpuMs: 0.02, writeCpuMs: 0.01 });
  inst.gw = { proc, gateway, telemetry };
}

/**
 * The kernel model delivers one write as one chunk and its reader takes whole chunks only, so a write
 * bigger than the peer's receive buffer would never arrive (docs/lab.md, Explorer: a lab limit, not
 * TCP's). The gateway coalesces a turn's frames into one write — a whole replay at once — so the explorer
 * hands the transport a gateway whose connections pass writes on in chunks of at most WRITE_CHUNK_BYTES,
 * which is what TCP does with a big write anyway. Frame order and the buffered amount are unchanged.
 */
export const WRITE_CHUNK_BYTES = 16 * 1024;

class ChunkedConnection implements Connection {
  constructor(private readonly inner: Connection) {}
  write(frames: readonly Frame[]): void {
    let chunk: Frame[] = [];
    let bytes = 0;
    for (const f of frames) {
      if (bytes + f.bytes.byteLength > WRITE_CHUNK_BYTES && chunk.length > 0) {
        this.inner.write(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(f);
      bytes += f.bytes.byteLength;
    }
    if (chunk.length > 0) this.inner.write(chunk);
  }
  bufferedBytes(): number {
    return this.inner.bufferedBytes();
  }
  ping(): void {
    this.inner.ping();
  }
  close(code: number, reason: string): void {
    this.inner.close(code, reason);
  }
  terminate(): void {
    this.inner.terminate();
  }
}

/** The same gateway, except that open() wraps each connection in a ChunkedConnection. */
export function splitWrites(gateway: Gateway): Gateway {
  const open = (conn: Connection, ticket: AdmissionTicket): Session => gateway.open(new ChunkedConnection(conn), ticket);
  return new Proxy(gateway, {
    get(target, prop) {
      if (prop === 'open') return open;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export function stopGateway(live: Live, inst: Instance): void {
  if (inst.gw === null) return;
  live.watch?.log(`${live.world.sched.nowMs} gateway ${inst.gw.proc.name} killed; its logs: ${JSON.stringify(inst.gw.telemetry.logs)}`);
  inst.gw.proc.kill('restart');
  inst.gw.gateway.stop();
  inst.gw = null;
}
