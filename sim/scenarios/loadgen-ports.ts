// loadgen-ports — SCENARIOS.md "one load generator runs out of source ports".
//
// One Linux load generator (defaults: ports 32768–60999, TIME_WAIT 60 s, tcp_tw_reuse off) opens
// connections to one server IP:port at a fixed rate and retries failures; optionally some users close and
// reconnect (churn), which parks their ports in TIME_WAIT on the load generator. The server is healthy
// (plenty of descriptors, accepts everything). The run shows when ports really run out — the 4-tuple
// ceiling range − TIME_WAIT·closes/s — and what each knob of the story's fix changes.
import { AcceptLoop, NODE } from '../kernel/runtime.js';
import { NULL_HANDLER } from '../kernel/socket.js';
import { World } from '../kernel/world.js';
import { TcpUsers } from '../robots/tcp-users.js';
import defaults from './inputs/loadgen-ports.json' with { type: 'json' };
import { type GatewayKind, type Inputs, type LimitHit, num, type RunResult, type Scenario } from './scenario.js';

const SERVER = '10.0.0.1';
const EVENTS_MAX = 100_000_000;
const WINDOW_MS = 20_000;

function run(inputs: Inputs, seed: string, gateway: GatewayKind, variant: string): RunResult {
  const n = (k: string) => num(inputs, k);
  const world = new World(`loadgen-ports/${seed}`);
  const gib = 1024 ** 3;
  const srcAddrs = Array.from({ length: n('sourceAddresses') }, (_, i) => `10.9.0.${i + 1}`);
  const load = world.addHost({
    name: 'loadgen',
    os: 'linux',
    addresses: srcAddrs,
    memoryBytes: 16 * gib,
    cores: 8,
    sysctls: {
      portLo: n('portLo'),
      portHi: n('portHi'),
      tcpTwReuse: n('tcpTwReuse') as 0 | 1 | 2,
      finTimeoutMs: n('finTimeoutMs'),
    },
  });
  const server = world.addHost({
    name: 'server',
    os: 'linux',
    addresses: [SERVER],
    memoryBytes: 64 * gib,
    cores: 16,
    sysctls: { conntrackMax: n('serverConntrackMax') },
  });
  const srvProc = world.spawn(server, { name: 'server', runtime: NODE, nofileSoft: 1_048_576 });
  const ports = Array.from({ length: n('serverPorts') }, (_, i) => 8080 + i);
  for (const port of ports) {
    const l = srvProc.listen('*', port, 4096);
    if (typeof l === 'string') throw new Error(l);
    // A healthy server: accepts everything and holds it (when the client closes, it closes too).
    new AcceptLoop(l, NODE, (s) => s.attach({ ...NULL_HANDLER, onEnd: (x) => x.close() }, null));
  }
  const loadProc = world.spawn(load, { name: 'loadgen', runtime: NODE, nofileSoft: 1_048_576 });
  const users = new TcpUsers(loadProc, { dstAddr: SERVER, dstPorts: ports, srcAddrs, retryDelayMs: n('retryDelayMs') }, world.rng.fork('churn'));
  const total = n('users');
  const gapMs = 1000 / n('connectsPerSec');
  for (let i = 0; i < total; i++) users.add(i * gapMs);
  const closes = n('closesPerSec');
  if (closes > 0) {
    const every = 1000 / closes;
    const churn = (): void => {
      users.churnOne();
      world.sched.after(every, churn, null);
    };
    world.sched.after(every, churn, null);
  }
  // Sample connected counts per window (one scheduler entry per window).
  const samples: number[] = [];
  const sample = (): void => {
    samples.push(users.connected);
    world.sched.after(WINDOW_MS, sample, null);
  };
  world.sched.after(WINDOW_MS, sample, null);
  const r = world.sched.runUntil(n('durationMs'), EVENTS_MAX);
  if (r.reason === 'limit') throw new Error('loadgen-ports: event bound reached');

  const outcomes: Record<string, number> = {};
  const byWindow: Record<string, number> = {};
  let firstPortFailMs = -1;
  for (const f of users.failures) {
    outcomes[f.code] = (outcomes[f.code] ?? 0) + 1;
    const w = Math.floor(f.atMs / WINDOW_MS);
    const key = `failures ${(w * WINDOW_MS) / 1000}–${((w + 1) * WINDOW_MS) / 1000} s`;
    byWindow[key] = (byWindow[key] ?? 0) + 1;
    if (f.code === 'EADDRNOTAVAIL' && firstPortFailMs < 0) firstPortFailMs = f.atMs;
  }
  outcomes['connected at end'] = users.connected;
  const range = n('portHi') - n('portLo') + 1;
  const spaces = n('sourceAddresses') * n('serverPorts');
  const twS = load.sysctls.timeWaitMs / 1000;
  const ceiling = n('tcpTwReuse') === 1 ? spaces * range - closes * 1 : spaces * range - closes * twS;
  const limits: LimitHit[] = [];
  if (firstPortFailMs >= 0) limits.push({ limit: 'ephemeral ports toward server IP:port → EADDRNOTAVAIL', firstAtMs: firstPortFailMs, count: outcomes['EADDRNOTAVAIL'] ?? 0 });
  const ct = server.conntrack;
  if (ct !== null && ct.drops > 0) limits.push({ limit: 'server conntrack table full: SYN dropped', firstAtMs: -1, count: ct.drops });
  const metrics: Record<string, number> = {
    peakConnected: users.peakConnected,
    connectedAtEnd: users.connected,
    portSpaces: spaces,
    portsPerSpace: range,
    predictedCeiling: Math.max(0, Math.round(ceiling)),
    timeWaitAtEnd: load.ports.timeWaitCount(world.sched.nowMs),
    closesDone: users.closesDone,
    ...byWindow,
  };
  samples.forEach((c, i) => (metrics[`connected at ${((i + 1) * WINDOW_MS) / 1000} s`] = c));
  const sortedOutcomes: Record<string, number> = {};
  for (const k of Object.keys(outcomes).sort()) sortedOutcomes[k] = outcomes[k] as number;
  const diagnosis: string[] = [
    `Port spaces: ${spaces} (source addresses × server ports) × ${range} ports; TIME_WAIT ${twS} s on the closing side (the load generator when it closes first).`,
    `Predicted concurrent ceiling range − TIME_WAIT × closes/s = ${Math.max(0, Math.round(ceiling))}${n('tcpTwReuse') === 1 ? ' (tw_reuse: ports reusable after ~1 s)' : ''}; peak connected ${users.peakConnected} of ${total} users.`,
    firstPortFailMs < 0
      ? `Ports never ran out: at ${closes} closes/s the target of ${total} connections fits. A plateau far below the port range needs a much higher close rate, fewer ports, or another limit.`
      : `Ports ran out first at ${(firstPortFailMs / 1000).toFixed(1)} s (${outcomes['EADDRNOTAVAIL']} EADDRNOTAVAIL; retries keep failing while ports sit in TIME_WAIT).`,
    `tcp_fin_timeout (${n('finTimeoutMs') / 1000} s) bounds orphaned FIN_WAIT2 only; it does not shorten TIME_WAIT, so it does not move the ceiling.`,
  ];
  return {
    scenario: 'loadgen-ports',
    gateway,
    variant,
    seed,
    inputs,
    outcomes: sortedOutcomes,
    limits,
    metrics,
    diagnosis,
    events: world.sched.executed,
    virtualMs: world.sched.nowMs,
  };
}

export const loadgenPorts: Scenario = {
  name: 'loadgen-ports',
  story: 'SCENARIOS.md loadgen-ports: one load generator runs out of source ports',
  defaults: defaults as Inputs,
  variants: {
    'what-if churn 400 closes/s': { closesPerSec: 400 },
    'churn 400 + range 1024–65535': { closesPerSec: 400, portLo: 1024, portHi: 65_535 },
    'churn 400 + tcp_tw_reuse=1': { closesPerSec: 400, tcpTwReuse: 1 },
    'churn 400 + tcp_fin_timeout=15': { closesPerSec: 400, finTimeoutMs: 15_000 },
    'churn 400 + 2 source addresses': { closesPerSec: 400, sourceAddresses: 2 },
    'churn 400 + server conntrack 200000': { closesPerSec: 400, serverConntrackMax: 200_000 },
  },
  gateways: ['story'],
  run,
};
