// The laboratory's only source of time: a virtual clock in milliseconds and a binary-heap event queue.
//
// Rules this file keeps:
// - Events run in (timeMs, seq) order. `seq` is the insertion sequence, so events scheduled for the same
//   instant run first-in first-out. That tie-break is what makes `defer` ("after work already queued for
//   this instant") well defined, and what makes a run reproducible: no ordering depends on object identity.
// - An event is a handler plus one argument (`at(t, fn, arg)`), so hot paths pass a module-level function
//   and the object it acts on instead of allocating a closure per event.
// - Cancel is O(1): the event is flagged and skipped when it reaches the top (lazy deletion). When flagged
//   events outnumber live ones the heap is rebuilt, so a timer-heavy run cannot grow the heap without bound.
// - Every run is bounded by an event count: a livelock shows up as a `limit` result, not a hung process.
// - Events for the current instant (`after(0)`, `defer`: a fifth of mac-4500's events) skip the heap and
//   wait in a FIFO lane. That keeps the (timeMs, seq) order: anything in the heap for this instant was
//   scheduled before the clock got here, so its seq is lower than every lane entry's, and runs first.

export type Handler<A> = (arg: A) => void;

/** One scheduled event. Hold it to cancel; its fields are read-only outside this file. */
export class SimEvent {
  cancelled = false;
  /** In the current instant's FIFO lane rather than the heap. */
  inLane = false;
  constructor(
    readonly timeMs: number,
    readonly seq: number,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly fn: Handler<any>,
    readonly arg: unknown,
  ) {}
}

export type StopReason = 'idle' | 'time' | 'limit';

export interface RunResult {
  readonly reason: StopReason;
  /** Events executed by this call. */
  readonly events: number;
}

export class Scheduler {
  // The heap is three parallel arrays: times and sequence numbers in typed arrays (compared on every sift,
  // so kept dense and unboxed) and the event objects beside them.
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private evs: Array<SimEvent | undefined> = new Array<SimEvent | undefined>(1024);
  private size = 0;
  private seqNext = 0;
  private now = 0;
  private cancelledInHeap = 0;
  // The FIFO lane for the current instant: a ring buffer (capacity a power of two).
  private lane: Array<SimEvent | undefined> = new Array<SimEvent | undefined>(1024);
  private laneHead = 0;
  private laneSize = 0;
  private cancelledInLane = 0;
  /** Events executed since construction (for speed reports). */
  executed = 0;

  get nowMs(): number {
    return this.now;
  }

  /** Live (not cancelled) events still queued. */
  get pending(): number {
    return this.size - this.cancelledInHeap + this.laneSize - this.cancelledInLane;
  }

  /** Schedules `fn(arg)` at absolute virtual time `timeMs` (not before now: that would rewrite the past). */
  at<A>(timeMs: number, fn: Handler<A>, arg: A): SimEvent {
    if (!(timeMs >= this.now)) throw new RangeError(`scheduler: time ${timeMs} is before now ${this.now} (or NaN)`);
    const ev = new SimEvent(timeMs, this.seqNext++, fn, arg);
    if (timeMs === this.now) this.enqueueLane(ev);
    else this.push(ev);
    return ev;
  }

  /** Schedules `fn(arg)` `delayMs` from now; negative delays are a caller bug. */
  after<A>(delayMs: number, fn: Handler<A>, arg: A): SimEvent {
    if (!(delayMs >= 0)) throw new RangeError(`scheduler: delay ${delayMs} must be ≥ 0`);
    return this.at(this.now + delayMs, fn, arg);
  }

  /** Returns false when the event already ran or was cancelled. */
  cancel(ev: SimEvent): boolean {
    if (ev.cancelled || ev.seq < 0) return false;
    ev.cancelled = true;
    if (ev.inLane) {
      this.cancelledInLane++;
      return true;
    }
    this.cancelledInHeap++;
    if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.size) this.compact();
    return true;
  }

  /** Time of the next live event, or undefined when idle. */
  nextTimeMs(): number | undefined {
    this.dropCancelled();
    if (this.laneSize > 0) return this.now;
    return this.size > 0 ? this.times[0] : undefined;
  }

  /** Runs one event. Returns false when idle. */
  step(): boolean {
    this.dropCancelled();
    if (this.laneSize === 0 && this.size === 0) return false;
    this.fire(this.take());
    return true;
  }

  /** Runs every event with time ≤ `timeMs`, then sets the clock to `timeMs`. */
  runUntil(timeMs: number, eventsMax = Number.POSITIVE_INFINITY): RunResult {
    if (!(timeMs >= this.now)) throw new RangeError(`scheduler: cannot run back to ${timeMs} from ${this.now}`);
    let n = 0;
    for (;;) {
      this.dropCancelled();
      if (this.laneSize === 0 && (this.size === 0 || (this.times[0] as number) > timeMs)) break;
      if (n >= eventsMax) return { reason: 'limit', events: n };
      this.fire(this.take());
      n++;
    }
    this.now = timeMs;
    return { reason: 'time', events: n };
  }

  /** Runs until no event is left, or `eventsMax` events have run. */
  runUntilIdle(eventsMax: number): RunResult {
    let n = 0;
    for (;;) {
      this.dropCancelled();
      if (this.laneSize === 0 && this.size === 0) return { reason: 'idle', events: n };
      if (n >= eventsMax) return { reason: 'limit', events: n };
      this.fire(this.take());
      n++;
    }
  }

  /** The next event in (timeMs, seq) order: the heap's while it holds this instant, else the lane's. */
  private take(): SimEvent {
    if (this.laneSize > 0 && !(this.size > 0 && this.times[0] === this.now)) return this.dequeueLane();
    return this.pop();
  }

  private enqueueLane(ev: SimEvent): void {
    if (this.laneSize === this.lane.length) this.growLane();
    ev.inLane = true;
    this.lane[(this.laneHead + this.laneSize++) & (this.lane.length - 1)] = ev;
  }

  private dequeueLane(): SimEvent {
    const ev = this.lane[this.laneHead] as SimEvent;
    this.lane[this.laneHead] = undefined;
    this.laneHead = (this.laneHead + 1) & (this.lane.length - 1);
    this.laneSize--;
    return ev;
  }

  private growLane(): void {
    const old = this.lane;
    const next = new Array<SimEvent | undefined>(old.length * 2);
    for (let i = 0; i < this.laneSize; i++) next[i] = old[(this.laneHead + i) & (old.length - 1)];
    this.lane = next;
    this.laneHead = 0;
  }

  private fire(ev: SimEvent): void {
    this.now = ev.timeMs;
    // Mark as spent so a late cancel() of a fired event is a no-op and does not skew the counters.
    (ev as { seq: number }).seq = -1;
    this.executed++;
    ev.fn(ev.arg);
  }

  private dropCancelled(): void {
    while (this.size > 0 && (this.evs[0] as SimEvent).cancelled) {
      this.pop();
      this.cancelledInHeap--;
    }
    while (this.laneSize > 0 && (this.lane[this.laneHead] as SimEvent).cancelled) {
      this.dequeueLane();
      this.cancelledInLane--;
    }
  }

  private compact(): void {
    let j = 0;
    for (let i = 0; i < this.size; i++) {
      const ev = this.evs[i] as SimEvent;
      if (ev.cancelled) continue;
      this.evs[j] = ev;
      this.times[j] = ev.timeMs;
      this.seqs[j] = ev.seq;
      j++;
    }
    for (let i = j; i < this.size; i++) this.evs[i] = undefined;
    this.size = j;
    this.cancelledInHeap = 0;
    // Heapify bottom-up: O(n). (timeMs, seq) is a total order, so pop order does not depend on layout.
    for (let i = (j >> 1) - 1; i >= 0; i--) this.siftDown(i, this.evs[i] as SimEvent);
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const t = new Float64Array(cap);
    t.set(this.times);
    const s = new Float64Array(cap);
    s.set(this.seqs);
    this.times = t;
    this.seqs = s;
    this.evs.length = cap;
  }

  private push(ev: SimEvent): void {
    if (this.size === this.times.length) this.grow();
    const times = this.times;
    const seqs = this.seqs;
    const evs = this.evs;
    const t = ev.timeMs;
    const q = ev.seq;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent] as number;
      if (pt < t || (pt === t && (seqs[parent] as number) < q)) break;
      times[i] = pt;
      seqs[i] = seqs[parent] as number;
      evs[i] = evs[parent];
      i = parent;
    }
    times[i] = t;
    seqs[i] = q;
    evs[i] = ev;
  }

  private pop(): SimEvent {
    const top = this.evs[0] as SimEvent;
    const last = --this.size;
    if (last > 0) {
      const ev = this.evs[last] as SimEvent;
      this.evs[last] = undefined;
      this.siftDown(0, ev);
    } else {
      this.evs[0] = undefined;
    }
    return top;
  }

  /** Places `ev` at the hole `start`, moving earlier children up. */
  private siftDown(start: number, ev: SimEvent): void {
    const times = this.times;
    const seqs = this.seqs;
    const evs = this.evs;
    const n = this.size;
    const t = ev.timeMs;
    const q = ev.seq;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      let ct = times[l] as number;
      let cq = seqs[l] as number;
      const r = l + 1;
      if (r < n) {
        const rt = times[r] as number;
        const rq = seqs[r] as number;
        if (rt < ct || (rt === ct && rq < cq)) {
          c = r;
          ct = rt;
          cq = rq;
        }
      }
      if (t < ct || (t === ct && q < cq)) break;
      times[i] = ct;
      seqs[i] = cq;
      evs[i] = evs[c];
      i = c;
    }
    times[i] = t;
    seqs[i] = q;
    evs[i] = ev;
  }
}
