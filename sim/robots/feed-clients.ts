// Simulated users running the real client (src/client/client.ts), with what the cloudrun-512mb,
// memory-7gb and slow-clients scenarios need beyond client-robots.ts:
//
// - per robot: a connect timeout (memory-7gb: each client gives an upgrade 30–60 s) and a read rate —
//   a slow reader handles a chunk of frames, then stops reading for frames/rate seconds (the socket is
//   paused, so the kernel receive buffer fills, the window closes and the gateway sees the backlog);
// - per attempt: how each socket ended before the welcome (HTTP 503/429, no welcome in time, errno) and how
//   long that took, so a report can tell a prompt 503 from a 30 s timeout;
// - per channel: every delivered offset, every gap the client reported (onGap) and every reset (onReset),
//   through the client's own handlers — the lab checks "never silently" with the client's view.
import { OdinClient } from '../../src/client/client.js';
import type { ClientSocket, CloseInfo, SocketHandlers } from '../../src/client/ports.js';
import type { Frame } from '../../src/core/ports.js';
import type { GapInfo, ReconnectOptions } from '../../src/client/types.js';
import type { SimClock } from '../adapters/clock-sim.js';
import { SimRandom } from '../adapters/random-sim.js';
import type { SimProcess } from '../kernel/process.js';
import type { TcpSocket } from '../kernel/socket.js';
import type { WireMessage } from '../net/wire.js';
import type { TimelineRecorder } from '../report/timeline.js';
import { SimSocketFactory } from '../adapters/socket-sim.js';
import { trackSockets } from './track-sockets.js';

export interface FeedClientSpec {
  readonly dstAddr: string;
  readonly dstPort: number;
  readonly channels: readonly string[];
  /** Source addresses to spread sockets over (the load box's addresses); empty = the host's first. */
  readonly srcAddrs?: readonly string[];
  readonly reconnect?: Partial<ReconnectOptions>;
}

export interface FeedRobotOptions {
  /** Client connectTimeoutMs (socket creation → welcome). */
  readonly connectTimeoutMs?: number;
  /** Frames read per second; Infinity reads as fast as frames arrive. */
  readonly readPerSecond?: number;
}

/** One attempt's end before the welcome, or 'welcome'. */
export interface Attempt {
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: string;
}

export interface FeedRobot {
  readonly index: number;
  readonly startAtMs: number;
  readonly readPerSecond: number;
  readonly connectTimeoutMs: number | undefined;
  client: OdinClient | null;
  attempts: Attempt[];
  /** Virtual time of the first welcome, or -1. */
  openedMs: number;
  throttleNotices: number;
  throttleLevelMax: number;
  /** Virtual time of the first throttle notice, or -1. */
  firstThrottleMs: number;
}

/** What the scenario wants to hear per delivered event, gap and reset. */
export interface FeedListener {
  onEvent?(r: FeedRobot, channel: string, offset: number, data: unknown): void;
  onGap?(r: FeedRobot, channel: string, gap: GapInfo): void;
  onReset?(r: FeedRobot, channel: string, reason: string): void;
}

interface StartJob {
  readonly fleet: FeedClientFleet;
  readonly r: FeedRobot;
}
function startRobot(j: StartJob): void {
  j.fleet.start(j.r);
}
interface PacedRead {
  readonly factory: PacedSocketFactory;
  readonly tcp: TcpSocket;
  readonly frames: readonly Frame[];
  next: number;
  readonly gapMs: number;
}
function readNextFrame(j: PacedRead): void {
  j.factory.step(j);
}

/**
 * The socket twin with per-user read pacing (users are "r<index>", as the fleet names them). A slow
 * reader takes the frames of a chunk one at a time, 1/rate apart, and reads nothing else from the socket
 * meanwhile (it is paused), so control frames and the close stay in order behind the data.
 */
class PacedSocketFactory extends SimSocketFactory {
  constructor(
    proc: SimProcess,
    dstAddr: string,
    dstPort: number,
    srcAddrs: readonly string[],
    private readonly rateOf: (user: string) => number,
  ) {
    super(proc, dstAddr, dstPort, srcAddrs);
  }

  override onData(tcp: TcpSocket, payload: unknown): void {
    const msg = payload as WireMessage;
    const rate = msg.k === 'frames' ? this.rateOf((tcp.ctx as { readonly user: string }).user) : Infinity;
    if (msg.k !== 'frames' || !Number.isFinite(rate)) {
      super.onData(tcp, payload);
      return;
    }
    tcp.pause();
    this.step({ factory: this, tcp, frames: msg.frames, next: 0, gapMs: 1000 / rate });
  }

  /** Hands one frame to the client, then waits 1/rate before the next frame (or before reading on). */
  step(j: PacedRead): void {
    if (j.tcp.state === 'CLOSED') return;
    const frame = j.frames[j.next++];
    if (frame !== undefined) super.onData(j.tcp, { k: 'frames', frames: [frame] } satisfies WireMessage);
    if (j.next < j.frames.length) this.proc.world.sched.after(j.gapMs, readNextFrame, j);
    else this.proc.world.sched.after(j.gapMs, resumeReading, j.tcp);
  }
}

function resumeReading(s: TcpSocket): void {
  if (s.state !== 'CLOSED') s.resume();
}

export class FeedClientFleet {
  readonly robots: FeedRobot[] = [];
  readonly sockets: SimSocketFactory;
  /** Attempt outcomes over all robots (welcome, http-503, http-429, timeout, ECONNRESET, …). */
  readonly attemptCounts: Record<string, number> = {};
  /** Optional: counts attempts, open sessions and failures over time for the report. */
  timeline: TimelineRecorder | null = null;

  constructor(
    readonly proc: SimProcess,
    readonly clock: SimClock,
    readonly spec: FeedClientSpec,
    private readonly listener: FeedListener = {},
  ) {
    this.sockets = new PacedSocketFactory(proc, spec.dstAddr, spec.dstPort, spec.srcAddrs ?? [], (user) => {
      const r = this.robots[Number(user.slice(1))];
      return r === undefined ? Infinity : r.readPerSecond;
    });
  }

  add(atMs: number, opts: FeedRobotOptions = {}): FeedRobot {
    const r: FeedRobot = {
      index: this.robots.length,
      startAtMs: atMs,
      readPerSecond: opts.readPerSecond ?? Infinity,
      connectTimeoutMs: opts.connectTimeoutMs,
      client: null,
      attempts: [],
      openedMs: -1,
      throttleNotices: 0,
      throttleLevelMax: 0,
      firstThrottleMs: -1,
    };
    this.robots.push(r);
    this.proc.world.sched.at(atMs, startRobot, { fleet: this, r });
    return r;
  }

  start(r: FeedRobot): void {
    const c = new OdinClient({
      url: `ws://${this.spec.dstAddr}/ws?user=r${r.index}`,
      socketFactory: trackSockets(
        (url, protocols, handlers) => this.openTracked(r, url, protocols, handlers),
        () => this.timeline,
      ),
      clock: this.clock,
      random: new SimRandom(this.proc.world.rng.fork(`feed-robot${r.index}`)),
      ...(this.spec.reconnect !== undefined ? { reconnect: this.spec.reconnect } : {}),
      ...(r.connectTimeoutMs !== undefined ? { connectTimeoutMs: r.connectTimeoutMs } : {}),
      onThrottle: (notice) => {
        r.throttleNotices++;
        if (r.firstThrottleMs < 0) r.firstThrottleMs = this.clock.nowMs();
        if (notice.level > r.throttleLevelMax) r.throttleLevelMax = notice.level;
      },
    });
    const l = this.listener;
    for (const channel of this.spec.channels) {
      c.subscribe(channel, {
        onEvent: (data, meta) => l.onEvent?.(r, meta.channel, meta.offset, data),
        onGap: (ch, gap) => l.onGap?.(r, ch, gap),
        onReset: (ch, reason) => l.onReset?.(r, ch, reason),
      });
    }
    r.client = c;
    c.connect();
  }

  /** Wraps the socket handlers to record how the attempt ended before the welcome, and when. */
  private openTracked(r: FeedRobot, url: string, protocols: readonly string[], handlers: SocketHandlers): ClientSocket {
    const startMs = this.clock.nowMs();
    let settled = false;
    const settle = (outcome: string): void => {
      if (settled) return;
      settled = true;
      r.attempts.push({ startMs, endMs: this.clock.nowMs(), outcome });
      this.attemptCounts[outcome] = (this.attemptCounts[outcome] ?? 0) + 1;
      if (outcome === 'welcome' && r.openedMs < 0) r.openedMs = this.clock.nowMs();
    };
    return this.sockets.factory(url, protocols, {
      onMessage: (text) => {
        if (!settled) settle('welcome');
        handlers.onMessage(text);
      },
      onClose: (info: CloseInfo) => {
        if (!settled) settle(attemptOutcome(info));
        handlers.onClose(info);
      },
    });
  }
}

/** How a socket that never got its welcome ended. 4001 is the client's own "no welcome in time". */
function attemptOutcome(info: CloseInfo): string {
  if (info.httpStatus !== undefined) return `http-${info.httpStatus}`;
  if (info.code === 4001) return 'timeout';
  return info.reason === '' ? `close-${info.code}` : info.reason;
}
