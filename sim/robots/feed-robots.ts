// Subscribers of the slow-clients story at the TCP/HTTP level (the story's clients, not ours): connect,
// send the Upgrade, then read the feed — as fast as it arrives, or at `readPerSecond` messages per second
// (a slow reader handles a message, then stops reading for 1/rate s: its receive buffer fills, the window
// closes, and the server's writer sees a full socket). They count what arrives per channel and how the
// connection ended; they do not reconnect (the story's protocol has no positions to resume from).
import type { TimelineRecorder } from '../report/timeline.js';
import type { Errno } from '../kernel/errors.js';
import type { SimProcess } from '../kernel/process.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import type { FeedMessage } from '../servers/story-fanout.js';
import { UPGRADE_REQUEST_BYTES, type WireMessage } from '../net/wire.js';

export interface Subscriber {
  readonly index: number;
  readonly readPerSecond: number;
  sock: TcpSocket | null;
  openedMs: number;
  /** How the connection ended ('' while open): closed-by-server, eof, or an errno. */
  ended: string;
  endedMs: number;
  /** Messages received per channel index. */
  readonly received: number[];
  throttleNotices: number;
  /** Lowest share announced by a throttle notice (100 when none). */
  throttlePctMin: number;
  latencyMaxMs: number;
}

const UPGRADE: WireMessage = { k: 'upgrade', target: '/ws', protocols: [], user: 0 };

interface StartJob {
  readonly fleet: SubscriberFleet;
  readonly s: Subscriber;
}
function startSubscriber(j: StartJob): void {
  j.fleet.start(j.s);
}
function resumeReading(sock: TcpSocket): void {
  if (sock.state !== 'CLOSED') sock.resume();
}

export class SubscriberFleet implements SocketHandler {
  readonly subscribers: Subscriber[] = [];
  /** Delivery latencies (receive − publish) of every event at subscribers reading at full speed. */
  readonly fastLatenciesMs: number[] = [];
  /** Optional: counts attempts, open sessions and failures over time for the report. */
  timeline: TimelineRecorder | null = null;

  constructor(
    readonly proc: SimProcess,
    readonly dstAddr: string,
    readonly dstPort: number,
    readonly channels: number,
  ) {}

  add(atMs: number, readPerSecond: number): Subscriber {
    const s: Subscriber = {
      index: this.subscribers.length,
      readPerSecond,
      sock: null,
      openedMs: -1,
      ended: '',
      endedMs: -1,
      received: new Array<number>(this.channels).fill(0),
      throttleNotices: 0,
      throttlePctMin: 100,
      latencyMaxMs: 0,
    };
    this.subscribers.push(s);
    this.proc.world.sched.at(atMs, startSubscriber, { fleet: this, s });
    return s;
  }

  start(s: Subscriber): void {
    this.timeline?.attempt();
    const sock = this.proc.connect(this.dstAddr, this.dstPort, this, s);
    if (typeof sock === 'string') return this.end(s, sock);
    s.sock = sock;
  }

  onConnect(sock: TcpSocket): void {
    sock.write(UPGRADE_REQUEST_BYTES, UPGRADE);
  }

  onData(sock: TcpSocket, payload: unknown): void {
    const s = sock.ctx as Subscriber;
    const msg = payload as WireMessage;
    const now = this.proc.world.sched.nowMs;
    if (msg.k === 'http') {
      if (msg.status === 101) {
        s.openedMs = now;
        this.timeline?.opened();
      } else this.end(s, `http-${msg.status}`, true);
      return;
    }
    if (msg.k === 'close') return this.end(s, 'closed-by-server', true);
    if (msg.k !== 'ws') return;
    const m = msg as unknown as FeedMessage;
    if (m.kind === 'throttle') {
      s.throttleNotices++;
      if (m.percent < s.throttlePctMin) s.throttlePctMin = m.percent;
    } else {
      s.received[m.channel]!++;
      const latency = now - m.publishedMs;
      if (latency > s.latencyMaxMs) s.latencyMaxMs = latency;
      if (!Number.isFinite(s.readPerSecond)) this.fastLatenciesMs.push(latency);
    }
    if (Number.isFinite(s.readPerSecond)) {
      sock.pause();
      this.proc.world.sched.after(1000 / s.readPerSecond, resumeReading, sock);
    }
  }

  onEnd(sock: TcpSocket): void {
    this.end(sock.ctx as Subscriber, 'eof', true);
  }

  onError(sock: TcpSocket, code: Errno): void {
    this.end(sock.ctx as Subscriber, code);
  }

  onDrain(): void {}

  private end(s: Subscriber, how: string, closeSocket = false): void {
    if (s.ended !== '') return;
    s.ended = how;
    s.endedMs = this.proc.world.sched.nowMs;
    if (this.timeline !== null) {
      if (s.openedMs >= 0) this.timeline.closed();
      this.timeline.failedAs(s.openedMs >= 0 ? `${how}@open` : how);
    }
    if (closeSocket) s.sock?.close();
  }
}
