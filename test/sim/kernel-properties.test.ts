// Whole-kernel properties under random workloads: whatever the mix of limits, loss, closes, resets and a
// server that may die mid-run,
// every resource the model hands out comes back, no client hears more than one ending, and the run
// goes idle (no timer leaks). fast-check shrinks a failing workload to a small one. Seeds come from
// properties/support/runs.ts (fresh each run, CI included; FC_SEED/FC_RUNS replay or deepen); a failure's
// counterexample becomes a named regression case below.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runs } from '../../properties/support/runs.js';
import type { Errno } from '../../sim/kernel/errors.js';
import { AcceptLoop, GO, NODE } from '../../sim/kernel/runtime.js';
import type { SocketHandler, TcpSocket } from '../../sim/kernel/socket.js';
import { fixedNofile, pair } from './kernel-helpers.js';

interface Workload {
  seed: number;
  os: 'linux' | 'macos';
  runtime: 'libuv' | 'go';
  clients: number;
  backlog: number;
  serverNofile: number;
  lossRate: number;
  clientHoldMs: number;
  serverHoldMs: number;
  abortEvery: number;
  requestBytes: number;
  /** The server process is killed at this time (the kernel closes its listener and sockets); -1: never. */
  serverDiesAtMs: number;
}

const workload = fc.record<Workload>({
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  os: fc.constantFrom('linux', 'macos'),
  runtime: fc.constantFrom('libuv', 'go'),
  clients: fc.integer({ min: 1, max: 60 }),
  backlog: fc.integer({ min: 1, max: 16 }),
  serverNofile: fc.integer({ min: 8, max: 40 }),
  lossRate: fc.constantFrom(0, 0.05, 0.2),
  clientHoldMs: fc.integer({ min: 0, max: 5_000 }),
  serverHoldMs: fc.integer({ min: 0, max: 5_000 }),
  abortEvery: fc.integer({ min: 0, max: 5 }),
  requestBytes: fc.constantFrom(0, 300, 200_000),
  // One run in four loses its server, during the ramp or while connections are held.
  serverDiesAtMs: fc.oneof({ arbitrary: fc.constant(-1), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 6_000 }), weight: 1 }),
});

function runWorkload(w: Workload) {
  const p = pair({
    seed: w.seed,
    serverOs: w.os,
    serverRuntime: w.runtime === 'go' ? GO : NODE,
    // serverNofile counts beyond the runtime's own descriptors (RuntimeProfile.startFds), so the recorded
    // counterexamples keep their meaning: the same headroom for sockets.
    serverNofile: w.serverNofile + (w.runtime === 'go' ? GO : NODE).startFds,
    link: { latencyMs: 0.5, jitterMs: 0.3, bandwidthBytesPerMs: 10_000, lossRate: w.lossRate },
  });
  const sched = p.world.sched;
  const clientFdsAtStart = p.client.fds.used;
  const l = p.server.listen('*', 80, w.backlog);
  if (typeof l === 'string') throw new Error(l);
  const loop = new AcceptLoop(l, fixedNofile(w.runtime === 'go' ? GO : NODE), (s: TcpSocket) => {
    s.attach({ onConnect() {}, onData() {}, onEnd: (x) => x.close(), onError() {}, onDrain() {} }, null);
    sched.after(w.serverHoldMs, () => s.close(), null);
  });
  const serverFdsAtStart = p.server.fds.used;
  const endings = new Map<number, string[]>();
  const note = (s: TcpSocket, what: string) => endings.set(s.ctx as number, [...(endings.get(s.ctx as number) ?? []), what]);
  let n = 0;
  const client: SocketHandler = {
    onConnect: (s) => {
      if (w.requestBytes > 0) s.write(w.requestBytes, 'req');
      const k = n++;
      sched.after(w.clientHoldMs, () => (w.abortEvery > 0 && k % w.abortEvery === 0 ? s.reset() : s.close()), null);
    },
    onData() {},
    onEnd: (s) => {
      note(s, 'end');
      s.close();
    },
    onError: (s, code: Errno) => note(s, code),
    onDrain() {},
  };
  for (let i = 0; i < w.clients; i++) {
    sched.at(
      i * 3,
      (k: number) => {
        const r = p.client.connect(p.serverAddr, 80, client, k);
        if (typeof r === 'string') endings.set(k, [r]);
      },
      i,
    );
  }
  if (w.serverDiesAtMs >= 0) sched.at(w.serverDiesAtMs, () => p.server.kill('killed'), null);
  // Stop the accept loop's Go back-off from running forever once every client is done.
  sched.at(600_000, () => loop.stop(), null);
  const result = sched.runUntilIdle(5_000_000);
  return { p, result, endings, clientFdsAtStart, serverFdsAtStart, accepted: loop.stats.accepted };
}

/** The property's verdict on one run: every resource back, at most one ending per client, the run idle. */
function expectCleanEnd(run: ReturnType<typeof runWorkload>): void {
  const { p, result, endings, clientFdsAtStart, serverFdsAtStart } = run;
  expect(result.reason).toBe('idle');
  // Each client heard at most one error/end from the kernel.
  for (const [k, e] of endings) expect(e.length, `client ${k}: ${e.join(',')}`).toBeLessThanOrEqual(1);
  // Descriptors, sockets, ports, TIME_WAIT and conntrack all return to their starting state.
  expect(p.client.fds.used).toBe(clientFdsAtStart);
  expect(p.client.sockets.size).toBe(0);
  expect(p.client.host.ports.inUse('10.0.1.1', '10.0.0.1:80')).toBe(0);
  expect(p.client.host.ports.timeWaitCount(p.world.sched.nowMs)).toBe(0);
  expect(p.server.host.serverTimeWait).toBe(0);
  expect(p.server.sockets.size).toBe(0);
  // A killed server's kernel closed its listener and every socket; what remains is not a socket (libuv's
  // reserve descriptor, stdio).
  expect(p.server.fds.used).toBe(p.server.alive ? serverFdsAtStart : serverFdsAtStart - 1);
}

describe('kernel properties', () => {
  it('resources come back, no client hears two endings, and the run goes idle', () => {
    const totals = { runs: 0, accepted: 0, errors: 0 };
    fc.assert(
      fc.property(workload, (w) => {
        const run = runWorkload(w);
        totals.runs++;
        totals.accepted += run.accepted;
        totals.errors += [...run.endings.values()].filter((e) => e[0] !== 'end').length;
        expectCleanEnd(run);
      }),
      runs(60),
    );
    // The workloads really exercise both paths (a property that never connects proves nothing).
    expect(totals.accepted).toBeGreaterThan(100);
    expect(totals.errors).toBeGreaterThan(10);
  });
});

// Each case ends with a client that closed (FIN queued) while the server still waited for its final ACK —
// the ACK and its repeats lost, or ignored on a full accept queue — until the server dropped the request
// after tcp_synack_retries. The model used to release only pending data at that moment, so the FIN was
// never sent and the socket stayed in the client's table forever. Found with FC_SEED=104, 105, 115, 119,
// 124, 128, 129, 139 at runs(60) before the workload had serverDiesAtMs (those seeds now draw other
// workloads); the macOS and Go cases came from a search restricted to those settings.
const droppedHandshakeAfterClose: Record<string, Workload> = {
  'Linux, a syncookie connection whose ACKs are lost, the client closing at 3 s (smallest known)': {
    seed: 6,
    os: 'linux',
    runtime: 'libuv',
    clients: 6,
    backlog: 1,
    serverNofile: 9,
    lossRate: 0.2,
    clientHoldMs: 3006,
    serverHoldMs: 3005,
    abortEvery: 0,
    requestBytes: 0,
    serverDiesAtMs: -1,
  },
  'macOS (one queue, no syncookies), a request whose ACKs are lost': {
    seed: 522_309,
    os: 'macos',
    runtime: 'libuv',
    clients: 13,
    backlog: 4,
    serverNofile: 9,
    lossRate: 0.2,
    clientHoldMs: 1989,
    serverHoldMs: 29,
    abortEvery: 2,
    requestBytes: 0,
    serverDiesAtMs: -1,
  },
  'a Go accept loop: not a libuv EMFILE-trick effect': {
    seed: 0,
    os: 'linux',
    runtime: 'go',
    clients: 43,
    backlog: 4,
    serverNofile: 20,
    lossRate: 0.2,
    clientHoldMs: 3009,
    serverHoldMs: 2954,
    abortEvery: 4,
    requestBytes: 0,
    serverDiesAtMs: -1,
  },
};

describe("regression: a closed client whose handshake the server gave up on is reaped by the listener's RST", () => {
  for (const [name, w] of Object.entries(droppedHandshakeAfterClose)) {
    it(name, () => expectCleanEnd(runWorkload(w)));
  }
});

describe('regression: a syncookie handshake whose ACK arrives after the server died is reset', () => {
  it('Linux, the server killed at 10 ms while cookie SYN-ACKs are answered', () => {
    // A cookie connection is state nowhere, so closing the listener (the kernel does it when the process
    // dies) could not reset it; its ACK then reached the closed listener and was ignored, leaving a client
    // that believed it was connected, with its FIN held behind the handshake, forever. Linux answers an ACK
    // that no socket knows with RST. Found once the property let the server die (FC_SEED=1).
    expectCleanEnd(
      runWorkload({
        seed: 0,
        os: 'linux',
        runtime: 'libuv',
        clients: 4,
        backlog: 1,
        serverNofile: 8,
        lossRate: 0.2,
        clientHoldMs: 0,
        serverHoldMs: 0,
        abortEvery: 3,
        requestBytes: 0,
        serverDiesAtMs: 10,
      }),
    );
  });
});
