// The mechanism inputs every scenario takes (sim/scenarios/inputs/mechanisms.ts): for each key, `--set` in
// a scenario where its mechanism applies changes the report, in the direction the mechanism says. Unset,
// a report is what the story's own model gives (the byte-stable report tests cover that). Runs are shrunk
// with load.connections so the file stays fast.
import { describe, expect, it } from 'vitest';
import { validateInputs } from '../../sim/scenarios/define.js';
import { findScenario } from '../../sim/scenarios/index.js';
import { applySets, type GatewayKind, type RunResult } from '../../sim/scenarios/scenario.js';

function run(name: string, gateway: GatewayKind, sets: readonly string[]): RunResult {
  const s = findScenario(name)!;
  return s.run(validateInputs(s.schema, applySets(s.defaults, sets)), '1', gateway, 'as given');
}

const metric = (r: RunResult, k: string): number => r.metrics[k] as number;
const failures = (r: RunResult, k: string): number => r.attempts.failures[k] ?? 0;

/** syn-backlog with our gateway, its per-address handshake rate out of the way (one load box). */
const SYN = ['load.connections=3000', 'ours.handshakesPerSecondPerIp=1000000', 'ours.handshakeBurstPerIp=1000000'];
/** …and its loop busy 20 s from 5 s: the accept queue (512) fills, SYNs are dropped and retransmitted. */
const SPELL = [...SYN, 'gateway.busyAtMs=5000', 'gateway.busyMs=20000'];

describe('mechanism inputs, each in a scenario where it applies', () => {
  it('gateway.busyAtMs + gateway.busyMs: a loop that stops accepting makes SYNs drop and connects wait', () => {
    const idle = run('syn-backlog', 'ours', SYN);
    const busy = run('syn-backlog', 'ours', SPELL);
    expect(metric(idle, 'synDrops')).toBe(0);
    expect(metric(busy, 'synDrops')).toBeGreaterThan(0);
    expect(metric(busy, 'connectP99Ms')).toBeGreaterThan(metric(idle, 'connectP99Ms') + 10_000);
  });

  it('host.synLinearTimeouts 0 (the classic 1, 3, 7 s): SYNs dropped during a spell get in later after it', () => {
    // An 8 s spell: the queue fills ~3.4 s in; a dropped client retries every second (linear) and gets in
    // within a second of the end, or waits out a doubling gap (classic).
    const SHORT = [...SYN, 'gateway.busyAtMs=5000', 'gateway.busyMs=8000'];
    const linear = run('syn-backlog', 'ours', SHORT);
    const classic = run('syn-backlog', 'ours', [...SHORT, 'host.synLinearTimeouts=0']);
    expect(metric(linear, 'connectsRetransmitted')).toBeGreaterThan(0);
    expect(metric(classic, 'connectMaxMs')).toBeGreaterThan(metric(linear, 'connectMaxMs') + 1_000);
  });

  it('host.synRetries 1: connect() gives up after fewer retransmissions (ETIMEDOUT)', () => {
    const base = run('syn-backlog', 'ours', SPELL);
    const few = run('syn-backlog', 'ours', [...SPELL, 'host.synRetries=1']);
    expect(failures(base, 'ETIMEDOUT')).toBe(0);
    expect(failures(few, 'ETIMEDOUT')).toBeGreaterThan(0);
  });

  it('gateway.listenBacklog: a backlog below somaxconn holds fewer and drops more SYNs', () => {
    const base = run('syn-backlog', 'ours', SPELL);
    const small = run('syn-backlog', 'ours', [...SPELL, 'gateway.listenBacklog=64']);
    expect(metric(base, 'acceptQueuePeak')).toBe(512);
    expect(metric(small, 'acceptQueuePeak')).toBe(65);
    expect(metric(small, 'synDrops')).toBeGreaterThan(metric(base, 'synDrops'));
  });

  it('ours.loadBrakeDelayMs: with the brake fed, the spell turns handshakes into 503 overloaded', () => {
    const base = run('syn-backlog', 'ours', SPELL);
    const braked = run('syn-backlog', 'ours', [...SPELL, 'ours.loadBrakeDelayMs=200']);
    expect(failures(base, 'HTTP_503')).toBe(0);
    expect(failures(braked, 'HTTP_503')).toBeGreaterThan(0);
    expect(braked.limits.map((l) => l.key)).toContain('ours.loadBrake');
  });

  it('ours.fdReserve: a larger reserve leaves a smaller capacity', () => {
    const base = run('syn-backlog', 'ours', SYN);
    const reserved = run('syn-backlog', 'ours', [...SYN, 'ours.fdReserve=524000']);
    expect(metric(reserved, 'oursCapacity')).toBeLessThan(metric(base, 'oursCapacity'));
    expect(failures(reserved, 'HTTP_503')).toBeGreaterThan(failures(base, 'HTTP_503'));
  });

  it('admission keys and the descriptor reserve together, in a scenario that lists neither (cloudrun-512mb)', () => {
    const LOAD = ['load.connections=1500'];
    const perIp = run('cloudrun-512mb', 'ours', [...LOAD, 'ours.connectionsPerIpMax=100']);
    const both = run('cloudrun-512mb', 'ours', [...LOAD, 'ours.connectionsPerIpMax=100', 'ours.fdReserve=524238']);
    expect(perIp.attempts.ok).toBe(100); // one load address: 100 per address
    expect(failures(perIp, 'HTTP_429')).toBe(1_400);
    expect(both.attempts.ok).toBeLessThan(100); // the reserve binds first
    expect(failures(both, 'HTTP_503')).toBeGreaterThan(0);
  });

  it('loadgen.bindSource false: two source addresses no longer bind, so tw_reuse frees their ports again', () => {
    const P = ['load.connections=1500', 'loadgen.portRange=40000-40999', 'loadgen.sourceAddresses=2', 'loadgen.twReuse=1', 'loadgen.closesPerSecond=300'];
    const bound = run('loadgen-ports', 'story', [...P, 'loadgen.bindSource=true']);
    const picked = run('loadgen-ports', 'story', [...P, 'loadgen.bindSource=false']);
    expect(metric(bound, 'attemptsFailed')).toBeGreaterThan(0);
    expect(metric(picked, 'attemptsFailed')).toBe(0);
  });

  it('load.clientKind node: the overflow a Go client calls EOF, a Node client calls ECONNRESET', () => {
    const D = ['load.connections=2000', 'gateway.runtime=node', 'gateway.nofileHard=1024'];
    const go = run('docker-nofile-1024', 'story', D);
    const node = run('docker-nofile-1024', 'story', [...D, 'load.clientKind=node']);
    expect(failures(go, 'EOF')).toBeGreaterThan(0);
    expect(failures(node, 'EOF')).toBe(0);
    expect(failures(node, 'ECONNRESET')).toBe(failures(go, 'EOF'));
  });

  it('a mechanism input is validated like any other', () => {
    expect(() => run('syn-backlog', 'ours', ['load.clientKind=rust'])).toThrow(/load.clientKind/);
    expect(() => run('syn-backlog', 'ours', ['ours.fdReserve=-1'])).toThrow(/ours.fdReserve/);
  });
});
