// Faults as rules on the world's verbs: link specs changed and restored, broker consumers cut off, the
// broker or a gateway restarted, robots' sockets paused, connections dropped (schedule.ts names them).
import { LAN } from '../net/link.js';
import type { TcpSocket } from '../kernel/socket.js';
import { startGateway, stopGateway } from './gateways.js';
import { instancesAt, type Live, type Robot, robotAt, tcpOf } from './live.js';
import { setRcvBuf } from './robots.js';
import type { Fault } from './schedule.js';

/** A constrained client's receive buffer; at least the transport's WRITE_CHUNK_BYTES, so every chunk can still arrive. */
const SLOW_RCVBUF_BYTES = 16 * 1024;

function applyLink(live: Live): void {
  let latencyMs = LAN.latencyMs;
  let lossRate = 0;
  const now = live.world.sched.nowMs;
  for (const f of live.linkFaults) {
    if (f.kind === 'latency-spike') latencyMs = Math.max(latencyMs, LAN.latencyMs + (f.params.latencyMs ?? 0));
    if (f.kind === 'loss-burst') lossRate = Math.max(lossRate, f.params.lossRate ?? 0);
  }
  for (const inst of live.instances) {
    // A partition holds packets until it heals: sent now, they arrive when it ends (TCP retransmits then).
    const held = inst.holdUntilMs > now ? Math.max(latencyMs, inst.holdUntilMs - now) : latencyMs;
    const spec = { ...LAN, latencyMs: held, lossRate };
    live.world.net.setLink(inst.host.name, 'users', spec);
    live.world.net.setLink('users', inst.host.name, spec);
  }
}

function linkFault(live: Live, f: Fault): void {
  live.linkFaults.add(f);
  if (f.kind === 'partition-clients') for (const inst of instancesAt(live, f.target)) inst.holdUntilMs = Math.max(inst.holdUntilMs, f.atMs + f.durationMs);
  applyLink(live);
  live.world.sched.at(
    f.atMs + f.durationMs,
    () => {
      live.linkFaults.delete(f);
      applyLink(live);
    },
    null,
  );
}

function readerFaultEnds(live: Live, r: Robot): void {
  const now = live.world.sched.nowMs;
  if (now < r.stalledUntilMs || r.slow !== null) return;
  r.rcvBufBytes = null;
  setRcvBuf(live, r);
  tcpOf(r.socket)?.resume();
}

function slowTick(j: { live: Live; r: Robot }): void {
  const { live, r } = j;
  const now = live.world.sched.nowMs;
  const tcp = tcpOf(r.socket);
  if (r.slow === null || now >= r.slow.untilMs) {
    r.slow = null;
    readerFaultEnds(live, r);
    return;
  }
  // Read what the receive buffer holds, then stop again until the next tick: resume() queues the read for
  // this instant, and the pause queued after it runs next (FIFO), so one tick reads one buffer's worth.
  tcp?.resume();
  live.world.sched.after(0, (t: TcpSocket | null) => t?.pause(), tcp);
  live.world.sched.after(r.slow.everyMs, slowTick, j);
}

export function applyFault(live: Live, f: Fault): void {
  const sched = live.world.sched;
  switch (f.kind) {
    case 'latency-spike':
    case 'loss-burst':
    case 'partition-clients':
      return linkFault(live, f);
    case 'partition-broker':
      for (const inst of instancesAt(live, f.target)) inst.consumer.cutOff(f.durationMs);
      return;
    case 'broker-restart':
    case 'broker-restart-new-epoch':
      live.broker.restart(f.durationMs, f.kind === 'broker-restart-new-epoch');
      live.epochs.set(live.broker.epoch(), live.broker.generation);
      return;
    case 'gateway-restart':
      for (const inst of instancesAt(live, f.target)) {
        stopGateway(live, inst);
        sched.at(
          f.atMs + f.durationMs,
          () => {
            if (inst.gw === null) startGateway(live, inst);
          },
          null,
        );
      }
      return;
    case 'stalled-reader': {
      const r = robotAt(live, f.target);
      if (r === undefined) return;
      r.stalledUntilMs = Math.max(r.stalledUntilMs, f.atMs + f.durationMs);
      r.rcvBufBytes = SLOW_RCVBUF_BYTES;
      setRcvBuf(live, r);
      tcpOf(r.socket)?.pause();
      sched.at(f.atMs + f.durationMs, () => readerFaultEnds(live, r), null);
      return;
    }
    case 'slow-reader': {
      const r = robotAt(live, f.target);
      if (r === undefined || r.slow !== null) return;
      r.slow = { untilMs: f.atMs + f.durationMs, everyMs: Math.max(1, f.params.readEveryMs ?? 500) };
      r.rcvBufBytes = SLOW_RCVBUF_BYTES;
      setRcvBuf(live, r);
      tcpOf(r.socket)?.pause();
      sched.after(r.slow.everyMs, slowTick, { live, r });
      return;
    }
    case 'reconnect-storm': {
      const count = Math.min(live.robots.length, Math.max(0, f.params.count ?? 0));
      // The network drops their connections: each client sees its socket end without asking for it.
      for (let i = 0; i < count; i++) live.robots[i]?.socket?.close(4000, 'reconnect storm');
      return;
    }
  }
}
