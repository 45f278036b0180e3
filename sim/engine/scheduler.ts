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

export type Handler<A> = (arg: A) => void;

/** One scheduled event. Hold it to cancel; its fields are read-only outside this file. */
export class SimEvent {
  cancelled = false;
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

function earlier(a: SimEvent, b: SimEvent): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}

export class Scheduler {
  private heap: SimEvent[] = [];
  private seqNext = 0;
  private now = 0;
  private cancelledInHeap = 0;
  /** Events executed since construction (for speed reports). */
  executed = 0;

  get nowMs(): number {
    return this.now;
  }

  /** Live (not cancelled) events still queued. */
  get pending(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  /** Schedules `fn(arg)` at absolute virtual time `timeMs` (not before now: that would rewrite the past). */
  at<A>(timeMs: number, fn: Handler<A>, arg: A): SimEvent {
    if (!(timeMs >= this.now)) throw new RangeError(`scheduler: time ${timeMs} is before now ${this.now} (or NaN)`);
    const ev = new SimEvent(timeMs, this.seqNext++, fn, arg);
    this.push(ev);
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
    this.cancelledInHeap++;
    if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.heap.length) this.compact();
    return true;
  }

  /** Time of the next live event, or undefined when idle. */
  nextTimeMs(): number | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.timeMs;
  }

  /** Runs one event. Returns false when idle. */
  step(): boolean {
    this.dropCancelledTop();
    const ev = this.pop();
    if (ev === undefined) return false;
    this.fire(ev);
    return true;
  }

  /** Runs every event with time ≤ `timeMs`, then sets the clock to `timeMs`. */
  runUntil(timeMs: number, eventsMax = Number.POSITIVE_INFINITY): RunResult {
    if (!(timeMs >= this.now)) throw new RangeError(`scheduler: cannot run back to ${timeMs} from ${this.now}`);
    let n = 0;
    for (;;) {
      this.dropCancelledTop();
      const top = this.heap[0];
      if (top === undefined || top.timeMs > timeMs) break;
      if (n >= eventsMax) return { reason: 'limit', events: n };
      this.fire(this.pop() as SimEvent);
      n++;
    }
    this.now = timeMs;
    return { reason: 'time', events: n };
  }

  /** Runs until no event is left, or `eventsMax` events have run. */
  runUntilIdle(eventsMax: number): RunResult {
    let n = 0;
    for (;;) {
      this.dropCancelledTop();
      if (this.heap.length === 0) return { reason: 'idle', events: n };
      if (n >= eventsMax) return { reason: 'limit', events: n };
      this.fire(this.pop() as SimEvent);
      n++;
    }
  }

  private fire(ev: SimEvent): void {
    this.now = ev.timeMs;
    // Mark as spent so a late cancel() of a fired event is a no-op and does not skew the counters.
    (ev as { seq: number }).seq = -1;
    this.executed++;
    ev.fn(ev.arg);
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && (this.heap[0] as SimEvent).cancelled) {
      this.pop();
      this.cancelledInHeap--;
    }
  }

  private compact(): void {
    const live = this.heap.filter((e) => !e.cancelled);
    // Heapify bottom-up: O(n), and the (timeMs, seq) order is a total order, so the result is unique in
    // pop order regardless of the array layout.
    this.heap = live;
    this.cancelledInHeap = 0;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as SimEvent;
      if (!earlier(ev, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  private pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined) return undefined;
    if (h.length > 0) {
      h[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const h = this.heap;
    const n = h.length;
    const ev = h[start] as SimEvent;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && earlier(h[r] as SimEvent, h[l] as SimEvent)) c = r;
      const child = h[c] as SimEvent;
      if (!earlier(child, ev)) break;
      h[i] = child;
      i = c;
    }
    h[i] = ev;
  }
}
