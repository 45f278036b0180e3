// "ours": our real Gateway (src/core/gateway.ts) with our defaults, on a process of the kernel model,
// behind the simulated transport, fed by the simulated broker. Capacity is derived the way the server
// derives it (src/server/server.ts): min(configured, (memory − baseline)/perConnection, nofile − reserve).
import { Gateway } from '../../src/core/gateway.js';
import type { Broker } from '../../src/core/ports.js';
import { gatewayOptions, type GatewayOptionsInput } from '../../src/core/options.js';
import { defaultRetention, type MemoryBrokerRetention } from '../../src/adapters/broker-memory.js';
import { retainedBytesDefault } from '../../src/core/memory-budget.js';
import { SimBroker } from '../broker-sim.js';
import { SimClock, SimRandom } from '../engine/clock-sim.js';
import type { SimProcess } from '../kernel/process.js';
import { SimTelemetry } from '../telemetry-sim.js';
import { SimTransport, type SimTransportSpec } from '../transport-sim.js';

/** src/server/config.ts defaults: descriptors kept back, and the per-connection memory budget. */
export const OUR_FD_RESERVE = 128;
export const OUR_PER_CONNECTION_BYTES = 64 * 1024;
/** src/server/config.ts resources.memoryBudgetRatio: the share of the memory limit connections may use. */
export const OUR_MEMORY_BUDGET_RATIO = 0.8;

export interface OurGatewaySpec extends SimTransportSpec {
  readonly options?: GatewayOptionsInput;
  /** Memory with no connections (the server measures its RSS at start). */
  readonly baselineBytes: number;
  readonly perConnectionBytes?: number;
  readonly fdReserve?: number;
  /** Share of the memory limit the capacity formula may use (server.ts: memoryBytes × ratio). */
  readonly memoryBudgetRatio?: number;
  /** Stream retention of the simulated broker (DESIGN §8: max age 30 s, 100,000 messages, 50 MB). */
  readonly brokerRetention?: MemoryBrokerRetention;
  /** A broker shared with other instances (rolling-restart); by default each gateway gets its own. */
  readonly broker?: Broker;
}

export interface OurGateway {
  readonly gateway: Gateway;
  readonly transport: SimTransport;
  /** The broker this gateway's own publishes and outages go through (a SimBroker unless one was given). */
  readonly broker: SimBroker;
  /** The broker the gateway reads (spec.broker when given). */
  readonly source: Broker;
  readonly telemetry: SimTelemetry;
  readonly clock: SimClock;
}

export function startOurGateway(proc: SimProcess, spec: OurGatewaySpec): OurGateway {
  const world = proc.world;
  const clock = new SimClock(world.sched);
  const brokerRandom = new SimRandom(world.rng.fork(`broker:${proc.name}`));
  // The memory plan as the server makes it (src/server/server.ts memoryPlanOf): history stores first.
  const memoryBudgetBytes = Math.floor(proc.mem.limitBytes * (spec.memoryBudgetRatio ?? OUR_MEMORY_BUDGET_RATIO));
  const retention = spec.brokerRetention ?? { ...defaultRetention, bytesMax: retainedBytesDefault(memoryBudgetBytes) };
  const broker = new SimBroker(world.sched, clock, brokerRandom, 0.5, retention);
  const telemetry = new SimTelemetry(clock);
  const historyBytesMax = spec.options?.history?.totalBytesMax ?? retainedBytesDefault(memoryBudgetBytes);
  const brokerBytesMax = spec.broker !== undefined ? 0 : retention.bytesMax;
  const options = gatewayOptions({ ...spec.options, history: { ...spec.options?.history, totalBytesMax: historyBytesMax } });
  const source: Broker = spec.broker ?? broker;
  const gateway = new Gateway({ clock, random: new SimRandom(world.rng.fork(`gateway:${proc.name}`)), broker: source, telemetry }, options, {
    configuredMax: options.admission.connectionsMax,
    memoryBudgetBytes,
    baselineBytes: spec.baselineBytes,
    retainedBytes: historyBytesMax + brokerBytesMax,
    perConnectionBytes: spec.perConnectionBytes ?? OUR_PER_CONNECTION_BYTES,
    fdLimit: proc.fds.softLimit,
    fdReserve: spec.fdReserve ?? OUR_FD_RESERVE,
  });
  gateway.start();
  const transport = new SimTransport(proc, gateway, spec);
  return { gateway, transport, broker, source, telemetry, clock };
}
