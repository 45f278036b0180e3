// Game robots (game-robots.ts) whose upgrade deadline differs per robot: memory-7gb's clients each give an
// upgrade a timeout drawn uniformly from a range (30–60 s in the story). The base fleet arms its single
// `handshakeTimeoutMs` when the TCP connection completes; this one replaces that timer with the robot's own.
import type { TcpSocket } from '../kernel/socket.js';
import { type Robot, RobotFleet } from './game-robots.js';

interface DeadlineJob {
  readonly fleet: DeadlineRobotFleet;
  readonly r: Robot;
}
function deadline(j: DeadlineJob): void {
  j.fleet.handshakeExpired(j.r);
}

export class DeadlineRobotFleet extends RobotFleet {
  /** Upgrade deadline per robot index, in ms after the connection completes. */
  readonly deadlinesMs: number[] = [];

  addWithDeadline(atMs: number, deadlineMs: number): Robot {
    const r = this.add(atMs);
    this.deadlinesMs[r.index] = deadlineMs;
    return r;
  }

  override onConnect(s: TcpSocket): void {
    super.onConnect(s);
    const r = s.ctx as Robot;
    const own = this.deadlinesMs[r.index];
    if (own === undefined || r.timer === null) return;
    const sched = this.proc.world.sched;
    sched.cancel(r.timer);
    r.timer = sched.after(own, deadline, { fleet: this, r });
  }
}
