// Our gateway's memory as its own accounting says it is: baseline + perConnectionBytes × open sessions,
// charged to the process's memory account, so the GC stretch (sim/kernel/memory.ts) and the OOM killer
// see "ours" the way they see the story's server (which charges per connection in story-gateway.ts).
// The transport twin does not charge memory itself; this follows the session count every `everyMs`
// (a sampled approximation: between samples the charge lags by at most one period of admissions).
import type { SimProcess } from '../kernel/process.js';
import type { OurGateway } from './ours.js';

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
