// Small helpers shared by the capacity stories (loadgen-ports, syn-backlog, docker-nofile-1024): the load
// tool they all start and ramp, our admission from the ours.* inputs, a story server that only holds
// connections, and the bookkeeping every report needs. No model lives here.
import type { Host } from '../kernel/host.js';
import type { SimProcess } from '../kernel/process.js';
import { GO } from '../kernel/runtime.js';
import type { World } from '../kernel/world.js';
import { LoadFleet, rampStartMs } from '../robots/load-robots.js';
import { REFUSAL_STATUS, type RefusalReason } from '../../src/core/admission.js';
import type { StoryGatewaySpec } from '../servers/story-gateway.js';
import type { RunContext } from './define.js';
import { num, type InputValue, type Inputs, type LimitHit } from './scenario.js';
import { prefixed, sortedCounts } from './tally.js';

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

export function bool(inputs: Inputs, key: string): boolean {
  const v: InputValue | undefined = inputs[key];
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw new Error(`input ${key} must be a boolean`);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Failures per window of `windowMs`, as "0–20 s: 12" strings for the non-empty windows. */
export function failureWindows(timesMs: readonly number[], windowMs: number): string[] {
  const counts = new Map<number, number>();
  for (const t of timesMs) {
    const w = Math.floor(t / windowMs);
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([w, c]) => `${(w * windowMs) / 1000}–${((w + 1) * windowMs) / 1000} s: ${c}`);
}

/** The input key that names each of our admission refusals (limits are named by input key). */
const REFUSAL_KEY: Readonly<Record<string, string>> = {
  handshake_rate: 'ours.handshakesPerSecondPerIp',
  per_ip: 'ours.connectionsPerIpMax',
  per_user: 'ours.perUserMax',
  overloaded: 'ours.loadBrake',
  draining: 'ours.draining',
};
const CAPACITY_KEY: Readonly<Record<string, string>> = { descriptors: 'gateway.nofile', memory: 'container.memoryMiB', config: 'ours.connectionsMax' };

/**
 * Our gateway's refusals as limits, one per reason, from its handshake counter
 * (odin_handshakes_total{outcome=reason}); `firstAtMs` is when the clients first saw that HTTP status.
 */
export function oursRefusalLimits(counters: ReadonlyMap<string, number>, boundBy: string, firstByStatusMs: Readonly<Record<string, number>>): LimitHit[] {
  const out: LimitHit[] = [];
  const prefix = 'odin_handshakes_total{outcome=';
  for (const [k, v] of counters) {
    if (!k.startsWith(prefix)) continue;
    const reason = k.slice(prefix.length, -1);
    if (reason === 'accepted' || v === 0) continue;
    const status = REFUSAL_STATUS[reason as RefusalReason] ?? 429;
    const key = reason === 'capacity' ? (CAPACITY_KEY[boundBy] ?? 'ours.capacity') : (REFUSAL_KEY[reason] ?? `ours.${reason}`);
    out.push({
      key,
      limit: `${key} — our admission: HTTP ${status} (${reason}) before the upgrade`,
      firstAtMs: firstByStatusMs[`http-${status}`] ?? 0,
      count: v,
    });
  }
  return out;
}

/**
 * The stories' load tool: one Go process on the load box (robots.nofile soft/hard) driving a LoadFleet
 * from the load.* inputs against the server's address and ports, from the given source addresses.
 */
export function startLoadTool(
  world: World,
  box: Host,
  inputs: Inputs,
  target: { addr: string; ports: readonly number[] },
  srcAddrs: readonly string[],
): { proc: SimProcess; fleet: LoadFleet } {
  const n = (k: string) => num(inputs, k);
  const proc = world.spawn(box, { name: 'loadtool', runtime: GO, nofileSoft: n('robots.nofile'), nofileHard: n('robots.nofileHard') });
  const fleet = new LoadFleet(proc, {
    dstAddr: target.addr,
    dstPorts: target.ports,
    srcAddrs,
    handshakeTimeoutMs: n('load.handshakeTimeoutMs'),
    retryDelayMs: n('load.retryDelayMs'),
    ...(inputs['load.retryDelayMaxMs'] === undefined ? {} : { retryDelayMaxMs: n('load.retryDelayMaxMs') }),
    attemptsMax: n('load.attemptsMax'),
  });
  return { proc, fleet };
}

/** Users start on the load.* ramp (load.rampPerSecond, rising to load.rampPerSecondEnd where given); the ramp ends at `rampEndMs`. */
export function rampLoad(ctx: RunContext, fleet: LoadFleet): { users: number; rampEndMs: number } {
  const users = ctx.num('load.connections');
  const r0 = ctx.num('load.rampPerSecond');
  const r1 = ctx.inputs['load.rampPerSecondEnd'] === undefined ? r0 : ctx.num('load.rampPerSecondEnd');
  for (let i = 0; i < users; i++) fleet.add(rampStartMs(i, users, r0, r1));
  return { users, rampEndMs: r0 === r1 ? (1000 * users) / r0 : ((2 * users) / (r0 + r1)) * 1000 };
}

/** The load tool's outcomes: each user's final state and each failed attempt's kind, in one sorted record. */
export function loadToolOutcomes(fleet: LoadFleet): Record<string, number> {
  return sortedCounts({ ...prefixed('users:', fleet.finalStates()), ...prefixed('attempts failed:', fleet.stats.failures) });
}

/** Our per-IP admission from the ours.* inputs (handshake rate and burst, connections per IP). */
export function oursPerIpAdmission(ctx: RunContext): { handshakesPerSecond: number; handshakeBurst: number; perIpMax: number } {
  return {
    handshakesPerSecond: ctx.num('ours.handshakesPerSecondPerIp'),
    handshakeBurst: ctx.num('ours.handshakeBurstPerIp'),
    perIpMax: ctx.num('ours.connectionsPerIpMax'),
  };
}

/** A story server that only holds connections: no game, little traffic, no admission (the rest of its spec is the story's). */
export const HOLDS_ONLY = {
  inboundCpuMs: 0.02,
  outboundCpuMs: 0.02,
  sendBufferMessages: 256,
  writeWaitMs: 10_000,
  betCpuMs: 0,
  gameServiceMs: 0,
  slots: null,
  slotWaitMs: 0,
} as const satisfies Partial<StoryGatewaySpec>;
