// "ours": our real Gateway (src/core/gateway.ts) with our defaults, on a process of the kernel model,
// behind the simulated transport, fed by the simulated broker. Capacity is derived the way the server
// derives it (src/server/server.ts): min(configured, (memory − baseline)/perConnection, nofile − reserve),
// with the server's defaults read from its config spec (src/server/config.ts), never copied.
import { Gateway } from '../../src/core/gateway.js';
import type { Broker } from '../../src/core/ports.js';
import { gatewayOptions, type GatewayOptionsInput } from '../../src/core/options.js';
import { defaultRetention, type MemoryBrokerRetention } from '../../src/adapters/broker-memory.js';
import { retainedBytesDefault } from '../../src/core/memory-budget.js';
import { configSpec } from '../../src/server/config.js';
import { SimBroker } from '../adapters/broker-sim.js';
import { SimClock } from '../adapters/clock-sim.js';
import { startSimLoadMonitor } from '../adapters/load-sim.js';
import { SimRandom } from '../adapters/random-sim.js';
import { SimTelemetry } from '../adapters/telemetry-sim.js';
import { SimTransport, type SimTransportSpec } from '../adapters/transport-sim.js';
import type { SimProcess } from '../kernel/process.js';
import type { Inputs } from '../scenarios/scenario.js';

/** The server's defaults: descriptors kept back, memory per connection, share of the memory limit. */
export const OUR_FD_RESERVE = configSpec.resources.fdReserve.default;
export const OUR_PER_CONNECTION_BYTES = configSpec.resources.perConnectionBytes.default;
export const OUR_MEMORY_BUDGET_RATIO = configSpec.resources.memoryBudgetRatio.default;

/** The same defaults as scenario inputs (KiB, ratio), for scenarios whose input tables list them. */
const OUR_CAPACITY_INPUTS: Inputs = { 'ours.perConnectionKiB': OUR_PER_CONNECTION_BYTES / 1024, 'ours.memoryBudgetRatio': OUR_MEMORY_BUDGET_RATIO };

/** `inputs` with our capacity defaults placed right after ours.baselineMiB, where the tables list them. */
export function withOurCapacityInputs(inputs: Inputs): Inputs {
  return Object.fromEntries(
    Object.entries(inputs).flatMap(([k, v]) => (k === 'ours.baselineMiB' ? [[k, v], ...Object.entries(OUR_CAPACITY_INPUTS)] : [[k, v]])),
  );
}

export interface OurGatewaySpec extends SimTransportSpec {
  readonly options?: GatewayOptionsInput;
  /** Memory with no connections (the server measures its RSS at start). */
  readonly baselineBytes: number;
  readonly perConnectionBytes?: number;
  readonly fdReserve?: number;
  /** Share of the memory limit the capacity formula may use (server.ts: memoryBytes × ratio). */
  readonly memoryBudgetRatio?: number;
  /** Stream retention of the simulated broker (docs/design.md, "JetStream mapping": 30 s, 100,000, 50 MB). */
  readonly brokerRetention?: MemoryBrokerRetention;
  /**
   * A stream shared with other instances (rolling-restart): this gateway joins it at its head, as a new
   * ordered consumer does. By default each gateway gets a stream of its own and reads it from the start.
   */
  readonly stream?: SimBroker;
  /**
   * Feed the load brake from the process's own loop lag (sim/adapters/load-sim.ts), every this many ms
   * (server.loadSampleMs). Absent: no samples, the brake stays off — how the field stories ran.
   */
  readonly loadSampleMs?: number;
}

export interface OurGateway {
  readonly gateway: Gateway;
  readonly transport: SimTransport;
  /** The stream this gateway reads: scenarios publish into it and stage its outages. */
  readonly broker: SimBroker;
  /** The gateway's consumer of that stream (its Broker port). */
  readonly source: Broker;
  readonly telemetry: SimTelemetry;
  readonly clock: SimClock;
}

export function startOurGateway(proc: SimProcess, spec: OurGatewaySpec): OurGateway {
  const world = proc.world;
  const clock = new SimClock(world.sched);
  // The memory plan as the server makes it (src/server/server.ts memoryPlanOf): history stores first.
  const memoryBudgetBytes = Math.floor(proc.mem.limitBytes * (spec.memoryBudgetRatio ?? OUR_MEMORY_BUDGET_RATIO));
  const retention = spec.brokerRetention ?? { ...defaultRetention, bytesMax: retainedBytesDefault(memoryBudgetBytes) };
  let broker = spec.stream;
  if (broker === undefined) {
    const epochRandom = new SimRandom(world.rng.fork(`broker:${proc.name}`));
    broker = new SimBroker(world.sched, clock, () => epochRandom, { latencyMs: 0.5, retention });
  }
  const source: Broker = broker.consumer(spec.stream === undefined ? 'all' : 'new');
  const telemetry = new SimTelemetry(clock);
  const historyBytesMax = spec.options?.history?.totalBytesMax ?? retainedBytesDefault(memoryBudgetBytes);
  // A shared stream is another process's memory (as with NATS): only our own embedded one is counted.
  const brokerBytesMax = spec.stream !== undefined ? 0 : retention.bytesMax;
  // The run's mechanism settings (sim/kernel/mechanisms.ts) override the scenario's options.
  const m = world.mechanisms;
  const options = gatewayOptions({
    ...spec.options,
    history: { ...spec.options?.history, totalBytesMax: historyBytesMax },
    admission: { ...spec.options?.admission, ...m.admission },
    loadBrake: { ...spec.options?.loadBrake, ...(m.loadBrakeDelayMsMax === undefined ? {} : { eventLoopDelayMsMax: m.loadBrakeDelayMsMax }) },
  });
  // A brake threshold asks for the samples that feed it, at the server's default interval.
  const loadSampleMs = spec.loadSampleMs ?? (m.loadBrakeDelayMsMax === undefined ? undefined : configSpec.server.loadSampleMs.default);
  const gateway = new Gateway({ clock, random: new SimRandom(world.rng.fork(`gateway:${proc.name}`)), broker: source, telemetry }, options, {
    configuredMax: options.admission.connectionsMax,
    memoryBudgetBytes,
    baselineBytes: spec.baselineBytes,
    retainedBytes: historyBytesMax + brokerBytesMax,
    perConnectionBytes: spec.perConnectionBytes ?? OUR_PER_CONNECTION_BYTES,
    fdLimit: proc.fds.softLimit,
    fdReserve: m.fdReserve ?? spec.fdReserve ?? OUR_FD_RESERVE,
  });
  gateway.start();
  if (loadSampleMs !== undefined) startSimLoadMonitor(proc, loadSampleMs, (sample) => gateway.setLoad(sample));
  const transport = new SimTransport(proc, gateway, spec);
  return { gateway, transport, broker, source, telemetry, clock };
}
