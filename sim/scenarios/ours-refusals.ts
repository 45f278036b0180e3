// Our gateway's refusals and limits as the real client's sockets saw them (a story run with ClientRobotFleet):
// each limit named by the input that sets it, and one sentence per refusal reason saying why that refusal
// is the intended behaviour.
import type { SimSocketFactory } from '../adapters/socket-sim.js';
import type { OurGateway } from '../servers/ours.js';
import { limitHit } from './define.js';
import type { LimitHit } from './scenario.js';

/** The input that sets our capacity's binding term. */
function capacityKey(boundBy: string): string {
  return boundBy === 'descriptors' ? 'gateway.nofile' : boundBy === 'memory' ? 'host.memoryGiB' : 'ours.config';
}

/** Our limits, earliest cause first: capacity (503), per-IP handshake rate (429), the robots' and the gateway's descriptors. */
export function oursClientLimits(ours: OurGateway, sockets: SimSocketFactory): LimitHit[] {
  const limits: LimitHit[] = [];
  const cap0 = ours.gateway.admission.capacity;
  const refusedAt = sockets.firstAtMs['http-503'];
  if (refusedAt !== undefined)
    limits.push(
      limitHit(capacityKey(cap0.boundBy), `our capacity (${cap0.boundBy}): HTTP 503 before upgrade`, refusedAt, sockets.outcomes['http-503'] as number),
    );
  const rateAt = sockets.firstAtMs['http-429'];
  if (rateAt !== undefined)
    limits.push(
      limitHit(
        'ours.handshakesPerSecondPerIp',
        'our per-IP handshake rate: HTTP 429 + Retry-After before upgrade',
        rateAt,
        sockets.outcomes['http-429'] as number,
      ),
    );
  const emfileAt = sockets.firstAtMs['EMFILE'];
  if (emfileAt !== undefined) limits.push(limitHit('robots.nofile', 'connect() → EMFILE', emfileAt, sockets.outcomes['EMFILE'] as number));
  if (ours.transport.accept.stats.emfile > 0) {
    limits.push(limitHit('gateway.nofile', 'accept() → EMFILE', ours.transport.accept.stats.firstEmfileAtMs, ours.transport.accept.stats.emfile));
  }
  return limits;
}

/**
 * Why ours refused, per reason, with the count of refused attempts (a client retries, so attempts, not users).
 * `sourceAddresses`: how many addresses the story's clients connect from (the per-IP rate counts per address).
 */
export function oursRefusalSentences(
  by: Readonly<Record<string, number>>,
  capacityAt: number | undefined,
  rateAt: number | undefined,
  sourceAddresses: number,
): string[] {
  const total = Object.values(by).reduce((s, v) => s + v, 0);
  if (total === 0) return ['No handshake was refused.'];
  const out: string[] = [];
  const cap = by['capacity'] ?? 0;
  const rate = by['handshake_rate'] ?? 0;
  if (cap > 0)
    out.push(
      `${cap} handshake attempts over capacity got HTTP 503 with Retry-After before any upgrade (first at ${((capacityAt ?? 0) / 1000).toFixed(3)} s); refused clients retried per the client's policy.`,
    );
  if (rate > 0)
    out.push(
      `${rate} handshake attempts got HTTP 429 from the per-IP handshake rate (first at ${((rateAt ?? 0) / 1000).toFixed(3)} s): ` +
        `the clients connect from ${sourceAddresses === 1 ? 'one address' : `${sourceAddresses} addresses`}, and the rate counts per address.`,
    );
  const other = total - cap - rate;
  if (other > 0)
    out.push(
      `${other} handshake attempts were refused for other reasons (${Object.keys(by)
        .filter((k) => k !== 'capacity' && k !== 'handshake_rate')
        .sort()
        .join(', ')}).`,
    );
  return out;
}
