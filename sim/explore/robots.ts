// Robots: the real OdinClient per robot, over the lab's sockets, with a thin spy on the socket handlers
// that records `subscribed` positions and compares event frames (I5), and a round-robin choice of
// gateway instance per connection attempt.
import { OdinClient } from '../../src/client/client.js';
import type { SocketFactory, SocketHandlers } from '../../src/client/ports.js';
import { subjectMatches } from '../../src/core/protocol.js';
import { SimRandom } from '../adapters/random-sim.js';
import type { Prng } from '../engine/prng.js';
import type { Instance, Live, Robot } from './live.js';
import { tcpOf } from './live.js';

export function generationOf(live: Live, epoch: string): number {
  return live.epochs.get(epoch) ?? -1;
}

export const EVENT_HEAD = /^\{"type":"event","ch":"([^"]+)","offset":(\d+),"prev":[^,]*,"data":\{"g":(\d+),/;

/** I5: every robot gets the same bytes for one publish, live or replayed, from any gateway instance. */
export function compareFrame(live: Live, r: Robot, text: string): void {
  const m = EVENT_HEAD.exec(text);
  if (m === null) return;
  const k = `${m[3]}/${m[1]}@${m[2]}`;
  const first = live.frames.get(k);
  if (first === undefined) live.frames.set(k, text);
  else if (first !== text) live.trace.frameMismatches.push({ robot: r.index, channel: m[1] as string, offset: Number(m[2]), generation: Number(m[3]) });
}

/** Records `subscribed` replies (the spy) before the client acts on them, and compares event frames. */
export function spy(live: Live, r: Robot, text: string): void {
  if (text.startsWith('{"type":"event"')) return compareFrame(live, r, text);
  if (!text.startsWith('{"type":"subscribed"')) return;
  const msg = JSON.parse(text) as { channels: Record<string, { epoch: string; offset: number; recovered?: boolean }> };
  // Each subscription logs the reply's entries for its own name and for names that overlap it (a pattern
  // and a concrete channel it matches share the client's per-channel track, so a reset of one is the
  // other's too).
  for (const sub of r.trace.subs) {
    for (const [name, st] of Object.entries(msg.channels)) {
      if (name === sub.name || subjectMatches(name, sub.name) || subjectMatches(sub.name, name)) {
        sub.seen.push(['s', generationOf(live, st.epoch), st.offset, st.recovered !== false, name]);
      }
    }
  }
}

export function watched(live: Live, r: Robot): ((line: string) => void) | null {
  const w = live.watch;
  if (w === undefined || !w.robots.includes(r.index)) return null;
  return (line) => w.log(`${live.world.sched.nowMs.toFixed(1)} r${r.index} ${line}`);
}

export function robotFactory(live: Live, r: Robot): SocketFactory {
  const log = watched(live, r);
  return (url, protocols, handlers) => {
    log?.('socket opened');
    const wrapped: SocketHandlers = {
      onMessage: (text) => {
        if (r.rcvBufBytes !== null) setRcvBuf(live, r);
        log?.(`<- ${text.slice(0, 160)} (reading ${String(tcpOf(s)?.reading)})`);
        spy(live, r, text);
        handlers.onMessage(text);
      },
      onClose: (info) => {
        log?.(`closed ${JSON.stringify(info)}`);
        handlers.onClose(info);
      },
    };
    // A load balancer in front of the instances: each connection attempt goes to the next one, so
    // resumes cross instances (a client can resume on any instance: docs/design.md, "Channels, positions and encode once").
    const inst = live.instances[(r.index + r.attempts++) % live.instances.length] as Instance;
    const s = inst.sockets.factory(url, protocols, wrapped);
    if (log !== null) {
      const send = s.send.bind(s);
      s.send = (text: string): void => {
        log(`-> ${text.slice(0, 200)}`);
        send(text);
      };
    }
    r.socket = s;
    if (r.stalledUntilMs > live.world.sched.nowMs || r.slow !== null) tcpOf(s)?.pause();
    return s;
  };
}

export function startRobot(live: Live, r: Robot, rng: Prng): void {
  const c = new OdinClient({
    url: `ws://odin/ws?user=r${r.index}`,
    socketFactory: robotFactory(live, r),
    clock: live.clock,
    random: new SimRandom(rng),
    reconnect: { baseMs: 250, capMs: 4_000 },
    connectTimeoutMs: 5_000,
    replayTimeoutMs: 5_000,
    ...(watched(live, r) !== null ? { onStateChange: (st: string) => watched(live, r)?.(`state ${st}`) } : {}),
  });
  for (const sub of r.trace.subs) {
    c.subscribe(sub.name, {
      onEvent: (data, meta) => {
        const d = data as { g: number; k: number };
        sub.seen.push(['e', meta.channel, meta.offset, d.g, d.k]);
      },
      onGap: (channel, gap) => void sub.seen.push(['g', channel, gap.from, gap.to, gap.reason]),
      onReset: (name, reason) => void sub.seen.push(['r', reason, name]),
    });
  }
  r.client = c;
  c.connect();
}

/** Sets the window the gateway's side of the robot's connection sees (the robot's receive buffer). */
export function setRcvBuf(live: Live, r: Robot): void {
  const peer = tcpOf(r.socket)?.peer;
  if (peer !== null && peer !== undefined) peer.tx.rcvCapBytes = r.rcvBufBytes ?? live.users.host.sysctls.rmemBytes;
}
