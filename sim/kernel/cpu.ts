// A process's CPU: N cores serving one FIFO queue of work items, each with a cost in CPU milliseconds.
//
// That is the M/G/c first-come-first-served queue: an item starts when it reaches the head and a core is
// free, so when arrivals outrun capacity (a thundering herd of handshakes or bets) the wait grows linearly
// with the backlog. Because service is FIFO on identical cores, assigning each item at submit time to the
// core that frees first gives exactly the same start and finish times as simulating the queue, with one
// scheduler event per item and no queue object.
//
// The GC stretch (memory.ts) multiplies the cost at submit time: an approximation that ignores pressure
// changing while the item waits.
import type { Handler, Scheduler, SimEvent } from '../engine/scheduler.js';

export class Cpu {
  private readonly coreFreeMs: Float64Array;
  /** CPU milliseconds consumed (for utilisation). */
  busyMs = 0;
  items = 0;

  constructor(
    private readonly sched: Scheduler,
    readonly cores: number,
    private readonly stretch: () => number = () => 1,
  ) {
    if (!(Number.isInteger(cores) && cores >= 1)) throw new RangeError(`cores ${cores}`);
    this.coreFreeMs = new Float64Array(cores);
  }

  private earliestCore(): number {
    let best = 0;
    for (let i = 1; i < this.cores; i++) if ((this.coreFreeMs[i] as number) < (this.coreFreeMs[best] as number)) best = i;
    return best;
  }

  /** Queues `costMs` of work; `fn(arg)` runs when it completes. */
  submit<A>(costMs: number, fn: Handler<A>, arg: A): SimEvent {
    const now = this.sched.nowMs;
    const c = this.earliestCore();
    const start = Math.max(now, this.coreFreeMs[c] as number);
    const cost = costMs * this.stretch();
    const finish = start + cost;
    this.coreFreeMs[c] = finish;
    this.busyMs += cost;
    this.items++;
    return this.sched.at(finish, fn, arg);
  }

  /** How long an item submitted now would wait before starting (the event-loop-lag analogue). */
  queueDelayMs(): number {
    return Math.max(0, (this.coreFreeMs[this.earliestCore()] as number) - this.sched.nowMs);
  }

  /**
   * CPU milliseconds actually spent by now: what was submitted less what is still queued (after now each
   * core's work is contiguous up to its free time). Utilisation over a window is the difference.
   */
  doneMs(): number {
    const now = this.sched.nowMs;
    let pending = 0;
    for (let i = 0; i < this.cores; i++) pending += Math.max(0, (this.coreFreeMs[i] as number) - now);
    return this.busyMs - pending;
  }

  /** Utilisation over [0, now] as a fraction of all cores. */
  utilisation(): number {
    const t = this.sched.nowMs;
    return t > 0 ? Math.min(1, this.busyMs / (t * this.cores)) : 0;
  }
}
