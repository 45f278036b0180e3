// The report of an "ours" run that opens connections with the real client and holds them (cloudrun-512mb,
// memory-7gb): capacity and the term that binds, first-attempt outcomes, refusal latency (a prompt 503 is
// the point of admission control), timeouts, and memory.
import type { OurGateway } from '../servers/ours.js';
import type { FeedClientFleet } from '../robots/feed-clients.js';
import { countUser, type Findings } from './define.js';
import { type Inputs, type LimitHit, num, percentile } from './scenario.js';
import { bump, round3, sortedCounts } from './tally.js';

const MiB = 1024 * 1024;

/** The report for "ours" runs that open connections and hold them (shared with memory-7gb). */
export function oursResult(inputs: Inputs, fleet: FeedClientFleet, ours: OurGateway, memoryPeakBytes: number, oomAtMs: number): Findings {
  const n = (k: string) => num(inputs, k);
  const cap = ours.gateway.admission.capacity;
  const outcomes: Record<string, number> = {};
  const users: Record<string, number> = {};
  const refusalMs: number[] = [];
  const timeoutMs: number[] = [];
  let firstRefusalMs = -1;
  for (const rb of fleet.robots) {
    const first = rb.attempts[0];
    bump(outcomes, `first attempt: ${first?.outcome ?? 'pending'}`);
    bump(outcomes, rb.openedMs >= 0 ? 'connected (at end of run)' : `not connected: last attempt ${rb.attempts[rb.attempts.length - 1]?.outcome ?? 'pending'}`);
    countUser(users, rb.openedMs >= 0, rb.attempts[rb.attempts.length - 1]?.outcome ?? 'pending');
    for (const a of rb.attempts) {
      if (a.outcome === 'http-503') {
        refusalMs.push(a.endMs - a.startMs);
        if (firstRefusalMs < 0 || a.endMs < firstRefusalMs) firstRefusalMs = a.endMs;
      }
      if (a.outcome === 'timeout') timeoutMs.push(a.endMs - a.startMs);
    }
  }
  refusalMs.sort((a, b) => a - b);
  const attempts: Record<string, number> = {};
  for (const [k, v] of Object.entries(fleet.attemptCounts)) attempts[`attempts ${k}`] = v;
  const limits: LimitHit[] = [];
  if (refusalMs.length > 0) {
    const key = cap.boundBy === 'memory' ? 'container.memoryMiB' : cap.boundBy === 'descriptors' ? 'gateway.nofile' : 'admission.connectionsMax';
    limits.push({
      key,
      limit: `${key} — our capacity ${cap.connectionsMax} (bound by ${cap.boundBy}) → HTTP 503 + Retry-After before the upgrade`,
      firstAtMs: firstRefusalMs,
      count: refusalMs.length,
    });
  }
  if (oomAtMs >= 0) limits.push({ key: 'container.memoryMiB', limit: 'container.memoryMiB — OOM kill (SIGKILL, exit 137)', firstAtMs: oomAtMs, count: 1 });
  const metrics: Record<string, number> = {
    connectionsAttempted: fleet.robots.length,
    capacity: cap.connectionsMax,
    capacityMemoryTerm: cap.terms.memory ?? -1,
    capacityDescriptorTerm: cap.terms.descriptors ?? -1,
    ourPerConnectionKiB: n('ours.perConnectionKiB'),
    ourMemoryBudgetRatio: n('ours.memoryBudgetRatio'),
    sessionsAtEnd: ours.gateway.sessionCount(),
    refusals503: refusalMs.length,
    refusalLatencyP50Ms: round3(percentile(refusalMs, 50)),
    refusalLatencyMaxMs: round3(refusalMs[refusalMs.length - 1] ?? 0),
    timeouts: timeoutMs.length,
    memoryPeakMiB: round3(memoryPeakBytes / MiB),
    ...sortedCounts(attempts),
  };
  // Refusals other than capacity (per-IP, per-user: HTTP 429) are counted too: "every client admitted" must not hide them.
  const otherRefusals = Object.entries(fleet.attemptCounts)
    .filter(([k]) => k.startsWith('http-') && k !== 'http-503')
    .reduce((n, [, v]) => n + v, 0);
  const connectedAtEnd = fleet.robots.filter((rb) => rb.openedMs >= 0).length;
  const diagnosis = [
    `Our capacity in ${n('container.memoryMiB')} MiB: min(config ${cap.terms.config}, memory floor((${n('container.memoryMiB')} MiB × ${n('ours.memoryBudgetRatio')} − ${n('ours.baselineMiB')} MiB) / ${n('ours.perConnectionKiB')} KiB) = ${cap.terms.memory}, descriptors ${cap.terms.descriptors}) = ${cap.connectionsMax}, bound by ${cap.boundBy}.`,
    refusalMs.length === 0 && otherRefusals === 0 && connectedAtEnd === fleet.robots.length
      ? `Every one of the ${fleet.robots.length} clients was admitted; memory peaked at ${metrics['memoryPeakMiB']} MiB.`
      : refusalMs.length === 0
        ? `${connectedAtEnd} of ${fleet.robots.length} users connected at the end, ${otherRefusals} attempts refused by per-IP or per-user limits (HTTP 429), none over capacity; memory peaked at ${metrics['memoryPeakMiB']} MiB.`
        : `Over capacity the answer is a prompt HTTP 503 with Retry-After before any upgrade: ${refusalMs.length} refusals, p50 ${metrics['refusalLatencyP50Ms']} ms, max ${metrics['refusalLatencyMaxMs']} ms after the attempt began${fleet.spec.reconnect?.maxAttempts === 0 ? '' : "; refused clients retried per the client's backoff"}.`,
    timeoutMs.length === 0 ? 'No client attempt timed out.' : `${timeoutMs.length} client attempts timed out waiting for the welcome.`,
  ];
  if (oomAtMs >= 0) diagnosis.push(`The gateway was OOM-killed at ${(oomAtMs / 1000).toFixed(3)} s.`);
  return { outcomes: sortedCounts(outcomes), limits, metrics, diagnosis, users };
}
