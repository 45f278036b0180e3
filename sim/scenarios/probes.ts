// Limit probes shared by the scenarios: after a run, each reads one model's counters and names the limit
// that bound by the input key that sets it. A story's own limits (its server's accounting, a browser's cap)
// stay in its scenario file.
import type { SimProcess } from '../kernel/process.js';
import type { Listener } from '../kernel/tcp.js';
import { limitHit } from './define.js';
import type { LimitHit } from './scenario.js';

/** Linux listen queues: accept queue full (somaxconn caps the backlog), SYN queue without cookies, ¾ of tcp_max_syn_backlog. */
export function queueLimits(listener: Listener): LimitHit[] {
  const q = listener.q.stats;
  const backlog = listener.q.backlog;
  const at = listener.firstDropAtMs;
  const out: LimitHit[] = [];
  if (q.dropsAcceptQueueFull > 0)
    out.push(limitHit('host.somaxconn', `accept queue (${backlog} + 1) full: SYN dropped (client retransmits)`, at, q.dropsAcceptQueueFull));
  if (q.dropsSynQueueFull > 0) out.push(limitHit('host.syncookies', `SYN queue (${backlog}) full without cookies: SYN dropped`, at, q.dropsSynQueueFull));
  if (q.dropsSynBacklog > 0) out.push(limitHit('host.synBacklog', '¾ of tcp_max_syn_backlog in use, no cookies: SYN dropped', at, q.dropsSynBacklog));
  return out;
}

/** The load box's own tables, from its fleet's failed connects: descriptors (EMFILE) and source ports (EADDRNOTAVAIL). */
export function loadBoxLimits(st: {
  readonly failures: Readonly<Record<string, number>>;
  readonly firstFailureMs: Readonly<Record<string, number>>;
}): LimitHit[] {
  const out: LimitHit[] = [];
  const emfile = st.failures['EMFILE'] ?? 0;
  if (emfile > 0) out.push(limitHit('robots.nofile', 'connect() → EMFILE on the load box', st.firstFailureMs['EMFILE'] ?? 0, emfile));
  const ports = st.failures['EADDRNOTAVAIL'] ?? 0;
  if (ports > 0) out.push(limitHit('loadgen.portRange', 'connect() → EADDRNOTAVAIL', st.firstFailureMs['EADDRNOTAVAIL'] ?? 0, ports));
  return out;
}

/** The container's memory limit, when the kernel killed the process. */
export function oomLimit(proc: SimProcess): LimitHit[] {
  return proc.alive ? [] : [limitHit('container.memoryMiB', 'OOM kill (SIGKILL, exit 137)', proc.diedAtMs, 1)];
}
