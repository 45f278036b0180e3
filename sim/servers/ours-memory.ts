// Our gateway's memory as its own accounting says it is: baseline + perConnectionBytes × open sessions,
// charged to the process's memory account, so the GC stretch (sim/kernel/memory.ts) and the OOM killer
// see "ours" the way they see the story's server (which charges per connection in story-gateway.ts).
// The transport twin does not charge memory itself; this follows the session count every `everyMs`
// (a sampled approximation: between samples the charge lags by at most one period of admissions).
import type { Host } from '../kernel/host.js';
import type { SimProcess } from '../kernel/process.js';
import { NODE } from '../kernel/runtime.js';
import type { World } from '../kernel/world.js';
import { num, type Inputs } from '../scenarios/scenario.js';
import { startOurGateway, type OurGateway } from './ours.js';

const MiB = 1024 * 1024;

interface Tracker {
  readonly proc: SimProcess;
  readonly ours: OurGateway;
  readonly perConnectionBytes: number;
  readonly everyMs: number;
  sessions: number;
}

function sample(t: Tracker): void {
  if (!t.proc.alive) return;
  const now = t.ours.gateway.sessionCount();
  const delta = (now - t.sessions) * t.perConnectionBytes;
  t.sessions = now;
  if (delta > 0 && !t.proc.mem.charge(delta)) return; // OOM: the process is gone
  if (delta < 0) t.proc.mem.release(-delta);
  t.proc.world.sched.after(t.everyMs, sample, t);
}

/** Charges the baseline now and follows the session count until `untilMs`. */
export function trackOurMemory(proc: SimProcess, ours: OurGateway, baselineBytes: number, perConnectionBytes: number, everyMs = 100): void {
  if (!proc.mem.charge(baselineBytes)) throw new Error(`baseline ${baselineBytes} B exceeds the memory limit of ${proc.name}`);
  const t: Tracker = { proc, ours, perConnectionBytes, everyMs, sessions: 0 };
  proc.world.sched.after(everyMs, sample, t);
}

/**
 * Our gateway as a Node process in a memory-limited container, sized from the scenario's inputs
 * (gateway.nofile, gateway.fdsReserved, container.memoryMiB, ours.*), with its memory tracked as above.
 */
export function startOursInContainer(world: World, host: Host, inputs: Inputs, port: number): { proc: SimProcess; ours: OurGateway } {
  const n = (k: string) => num(inputs, k);
  const proc = world.spawn(host, {
    name: 'gateway',
    runtime: NODE,
    nofileSoft: n('gateway.nofile'),
    nofileHard: n('gateway.nofile'),
    memoryLimitBytes: n('container.memoryMiB') * MiB,
    fdsReserved: n('gateway.fdsReserved'),
  });
  const perConnectionBytes = n('ours.perConnectionKiB') * 1024;
  const baselineBytes = n('ours.baselineMiB') * MiB;
  const ours = startOurGateway(proc, {
    port,
    backlog: 511, // Node's listen() default; the kernel clamps to somaxconn
    handshakeCpuMs: n('ours.handshakeCpuMs'),
    inboundCpuMs: 0.02,
    writeCpuMs: 0.02,
    baselineBytes,
    perConnectionBytes,
    memoryBudgetRatio: n('ours.memoryBudgetRatio'),
  });
  trackOurMemory(proc, ours, baselineBytes, perConnectionBytes);
  return { proc, ours };
}
