// Simulated users of the game stories, at the TCP/HTTP level (the real client runs over the simulated
// transport in a later stage). Each robot: connect → send the HTTP Upgrade → wait for 101 (or give up
// after `handshakeTimeoutMs`, gorilla's Dialer.HandshakeTimeout) → join → on "start betting" bet, at once
// or after a uniform delay in [0, betSpreadMs) → wait for the bet's reply.
//
// One handler object serves every robot; per-robot state lives in plain objects (no per-robot closures),
// and a robot holds at most one scheduler entry at a time (handshake deadline or bet delay).
import type { Prng } from '../engine/prng.js';
import type { SimEvent } from '../engine/scheduler.js';
import type { TimelineRecorder } from '../report/timeline.js';
import type { Errno } from '../kernel/errors.js';
import type { SimProcess } from '../kernel/process.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import { frameBytes, UPGRADE_REQUEST_BYTES, type WireMessage } from '../net/wire.js';

export type RobotPhase = 'idle' | 'connecting' | 'upgrading' | 'open' | 'done';

/** How a robot's run ended (or where it stands at the end). */
export type RobotOutcome = 'ok' | Errno | 'upgrade-timeout' | 'http-503' | 'closed-by-server' | 'eof' | 'pending';

export interface Robot {
  readonly index: number;
  phase: RobotPhase;
  sock: TcpSocket | null;
  timer: SimEvent | null;
  startMs: number;
  connectedMs: number;
  openMs: number;
  betAtMs: number;
  betOkMs: number;
  outcome: RobotOutcome;
  /** Phase in which the outcome happened (a reset while betting differs from one while connecting). */
  outcomePhase: RobotPhase;
  outcomeMs: number;
}

export interface RobotSpec {
  readonly dstAddr: string;
  readonly dstPort: number;
  readonly handshakeTimeoutMs: number;
  /** 0: every robot bets the instant "start betting" arrives (the story's herd). */
  readonly betSpreadMs: number;
}

const JOIN: WireMessage = { k: 'ws', kind: 'join' };
const BET: WireMessage = { k: 'ws', kind: 'bet' };
const UPGRADE: WireMessage = { k: 'upgrade', target: '/ws', protocols: [], user: 0 };

export class RobotFleet implements SocketHandler {
  readonly robots: Robot[] = [];
  /** Optional: counts attempts, open sessions and failures over time for the report. */
  timeline: TimelineRecorder | null = null;

  constructor(
    readonly proc: SimProcess,
    readonly spec: RobotSpec,
    private readonly rng: Prng,
  ) {}

  /** Schedules robot `i` to start at `atMs`. */
  add(atMs: number): Robot {
    const r: Robot = {
      index: this.robots.length,
      phase: 'idle',
      sock: null,
      timer: null,
      startMs: atMs,
      connectedMs: -1,
      openMs: -1,
      betAtMs: -1,
      betOkMs: -1,
      outcome: 'pending',
      outcomePhase: 'idle',
      outcomeMs: -1,
    };
    this.robots.push(r);
    this.proc.world.sched.at(atMs, startRobot, { fleet: this, r });
    return r;
  }

  start(r: Robot): void {
    if (!this.proc.alive) return this.end(r, 'EKILLED');
    r.phase = 'connecting';
    this.timeline?.attempt();
    const s = this.proc.connect(this.spec.dstAddr, this.spec.dstPort, this, r);
    if (typeof s === 'string') return this.end(r, s);
    r.sock = s;
  }

  onConnect(s: TcpSocket): void {
    const r = s.ctx as Robot;
    r.phase = 'upgrading';
    r.connectedMs = this.proc.world.sched.nowMs;
    s.write(UPGRADE_REQUEST_BYTES, UPGRADE);
    r.timer = this.proc.world.sched.after(this.spec.handshakeTimeoutMs, handshakeDeadline, { fleet: this, r });
  }

  onData(s: TcpSocket, payload: unknown): void {
    const r = s.ctx as Robot;
    const msg = payload as WireMessage;
    const now = this.proc.world.sched.nowMs;
    if (msg.k === 'http') {
      this.clearTimer(r);
      if (msg.status !== 101) return this.end(r, msg.status === 503 ? 'http-503' : 'eof', true);
      r.phase = 'open';
      r.openMs = now;
      this.timeline?.opened();
      s.write(frameBytes(30, true), JOIN);
      return;
    }
    if (msg.k === 'close') return this.end(r, 'closed-by-server', true);
    if (msg.k !== 'ws') return;
    if (msg.kind === 'start' && r.betAtMs < 0) {
      const delay = this.spec.betSpreadMs > 0 ? this.rng.uniform(0, this.spec.betSpreadMs) : 0;
      r.betAtMs = now + delay; // provisional; set again when the bet leaves
      if (delay === 0) this.bet(r);
      else r.timer = this.proc.world.sched.after(delay, betNow, { fleet: this, r });
      return;
    }
    if (msg.kind === 'betOk' && r.betOkMs < 0) {
      r.betOkMs = now;
      this.end(r, 'ok', true);
    }
  }

  bet(r: Robot): void {
    r.timer = null;
    if (r.phase !== 'open' || r.sock === null) return;
    r.betAtMs = this.proc.world.sched.nowMs;
    r.sock.write(frameBytes(60, true), BET);
  }

  onEnd(s: TcpSocket): void {
    this.end(s.ctx as Robot, 'eof', true);
  }

  onError(s: TcpSocket, code: Errno): void {
    this.end(s.ctx as Robot, code);
  }

  onDrain(): void {}

  handshakeExpired(r: Robot): void {
    r.timer = null;
    if (r.phase === 'upgrading') this.end(r, 'upgrade-timeout', true);
  }

  private clearTimer(r: Robot): void {
    if (r.timer !== null) {
      this.proc.world.sched.cancel(r.timer);
      r.timer = null;
    }
  }

  /** Records the outcome once; `closeSocket` closes the robot's socket (robot gives up or is done). */
  end(r: Robot, outcome: RobotOutcome, closeSocket = false): void {
    if (r.phase === 'done') return;
    this.clearTimer(r);
    r.outcome = outcome;
    r.outcomePhase = r.phase;
    r.outcomeMs = this.proc.world.sched.nowMs;
    if (this.timeline !== null && outcome !== 'ok') {
      if (r.phase === 'open') this.timeline.closed();
      this.timeline.failedAs(`${outcome}@${r.phase}`);
    }
    r.phase = 'done';
    // A robot that finished its bet keeps its connection (users stay in the game); others close.
    if (closeSocket && outcome !== 'ok' && r.sock !== null) r.sock.close();
  }
}

interface RobotJob {
  readonly fleet: RobotFleet;
  readonly r: Robot;
}
function startRobot(j: RobotJob): void {
  j.fleet.start(j.r);
}
function handshakeDeadline(j: RobotJob): void {
  j.fleet.handshakeExpired(j.r);
}
function betNow(j: RobotJob): void {
  j.fleet.bet(j.r);
}
