// How a server runtime drives accept() — above all what it does when accept() fails with EMFILE
// (docs/kernel.md, "Accepting on EMFILE") — plus the runtime traits the process model reads (threads, GC, nofile).
//
// libuv (Node), src/unix/stream.c uv__server_io / uv__emfile_trick: accept in a loop until EAGAIN. On
// EMFILE, close the reserve descriptor opened at start, then accept and immediately close every pending
// connection, then reopen the reserve. Node emits no event. A WebSocket client has already sent its HTTP
// Upgrade, so the close finds unread data and sends RST: the client reads ECONNRESET (derived).
//
// Go net/http, server.go Serve: on a temporary accept error sleep 5 ms, doubling to at most 1 s, then retry;
// reset the delay after a success. The connection waits in the kernel's accept queue: the client sees
// latency, and once the queue is full its SYNs are dropped (docs/kernel.md, "Listen queues").
import type { GcModel } from './memory.js';
import type { TcpSocket } from './socket.js';
import type { Listener } from './tcp.js';

export interface RuntimeProfile {
  readonly name: string;
  readonly accept: 'libuv' | 'go';
  /** Node raises RLIMIT_NOFILE soft to hard at start (node.cc); Go ≥ 1.19 does the same (os/rlimit.go). */
  readonly raisesNofileToHard: boolean;
  /**
   * Descriptors the runtime itself holds before the program opens anything, besides stdio (the process
   * spec's fdsReserved) and its listeners; libuv's EMFILE reserve is counted here, not in the accept loop.
   */
  readonly startFds: number;
  /** 'one': program work runs on one thread (Node's event loop); 'all-cores': GOMAXPROCS = cores. */
  readonly threads: 'one' | 'all-cores';
  readonly gc: GcModel;
}

/** go: net/http Serve's tempDelay bounds. */
export const GO_ACCEPT_BACKOFF_MIN_MS = 5;
export const GO_ACCEPT_BACKOFF_MAX_MS = 1_000;

/**
 * Descriptors a Node process holds besides stdio and its listeners, measured here (Node v20.20.2, kernel
 * 6.18) at the limit, where they matter — the parity suite (sim/parity) runs a Node client and a Node
 * server under `prlimit --nofile=N:N` in a namespace: the client opens N − 18 sockets before EMFILE, a
 * plain `ws` server and the compiled gateway hold N − 19 clients. So 15: epoll instances, eventfds and
 * pipe ends of the platform's threads, plus libuv's EMFILE reserve (opened with the first stream,
 * uv__stream_init). Reading /proc/self/fd at rest (sim/parity/real/fd-count.mjs) shows 19–21 for a
 * server, 29 under tsx: it also lists descriptors inherited from the parent, which may sit above the
 * limit and then take no slot (one was numbered 251 under a limit of 60).
 */
export const NODE_START_FDS = 15;

/**
 * V8: no GC CPU limiter, so the stretch is bounded only loosely (thrash before "heap out of memory");
 * growth ≈ 1 (heap roughly doubles between major GCs); GC work ≈ 0.25 of mutator work at ratio 1 —
 * an assumption to be calibrated by the benchmark, not fitted to a story.
 */
export const NODE: RuntimeProfile = {
  name: 'node',
  accept: 'libuv',
  raisesNofileToHard: true,
  startFds: NODE_START_FDS,
  threads: 'one',
  gc: { costRatio: 0.25, growth: 1, stretchMax: 20 },
};

/**
 * Go: GOGC=100 → growth 1; the pacer targets 25 % CPU for marking (runtime/mgcpacer.go) → costRatio 0.25;
 * the GC CPU limiter caps GC at 50 % of CPU (runtime/mgclimit.go) → stretch ≤ 2.
 * raisesNofileToHard: Go 1.19+ raises the soft limit at start (os/rlimit.go). Older binaries do not;
 * a story profile can override this.
 */
export const GO: RuntimeProfile = {
  name: 'go',
  accept: 'go',
  raisesNofileToHard: true,
  // The netpoller's epoll descriptor and its wake-up eventfd (runtime/netpoll_epoll.go); not measured here.
  startFds: 2,
  threads: 'all-cores',
  gc: { costRatio: 0.25, growth: 1, stretchMax: 2 },
};

export interface AcceptStats {
  accepted: number;
  /** accept() calls that failed with EMFILE. */
  emfile: number;
  /** libuv: connections accepted and closed at once by the EMFILE trick. */
  emfileClosed: number;
  /** go: backoff sleeps taken. */
  backoffs: number;
  /** Virtual time of the first EMFILE, or -1. */
  firstEmfileAtMs: number;
}

/** Drives one listener's accept loop with a runtime's policy; hands each accepted socket to `onAccept`. */
export class AcceptLoop {
  readonly stats: AcceptStats = { accepted: 0, emfile: 0, emfileClosed: 0, backoffs: 0, firstEmfileAtMs: -1 };
  private scheduled = false;
  private sleeping = false;
  private delayMs = 0;
  stopped = false;

  constructor(
    readonly listener: Listener,
    readonly runtime: RuntimeProfile,
    private readonly onAccept: (s: TcpSocket) => void,
  ) {
    listener.onReadable = () => this.wake();
  }

  /**
   * The listening socket became readable: run the loop at this instant, after the current work — or,
   * on a one-thread runtime whose thread is busy (SimProcess.busy), when it comes back to the loop.
   */
  wake(): void {
    if (this.scheduled || this.sleeping || this.stopped) return;
    this.scheduled = true;
    const proc = this.listener.proc;
    const sched = proc.world.sched;
    if (this.runtime.threads === 'one' && proc.busyUntilMs > sched.nowMs) sched.at(proc.busyUntilMs, runLoop, this);
    else sched.after(0, runLoop, this);
  }

  /** Stop accepting (the server paused, or never calls accept). Queued connections stay queued. */
  stop(): void {
    this.stopped = true;
  }

  run(): void {
    this.scheduled = false;
    if (this.stopped || !this.listener.proc.alive) return;
    // Bounded: at most every connection queued now, plus one call to see EAGAIN.
    const bound = this.listener.q.acceptQueueLength + 1;
    for (let i = 0; i < bound; i++) {
      const r = this.listener.accept();
      if (r === 'EAGAIN') {
        this.delayMs = 0;
        return;
      }
      if (r === 'EMFILE') {
        this.stats.emfile++;
        if (this.stats.firstEmfileAtMs < 0) this.stats.firstEmfileAtMs = this.listener.proc.world.sched.nowMs;
        if (this.runtime.accept === 'libuv') this.emfileTrick();
        else this.backoff();
        return;
      }
      this.delayMs = 0;
      this.stats.accepted++;
      this.onAccept(r);
    }
  }

  /** libuv's reserve is one per loop, i.e. per process: counted in the runtime's startFds (see NODE). */
  private emfileTrick(): void {
    const proc = this.listener.proc;
    if (!proc.reserveHeld) return; // no reserve: libuv reports EMFILE and waits for the next readiness
    proc.fds.release(1);
    proc.reserveHeld = false;
    for (let i = 0, n = this.listener.q.acceptQueueLength + 1; i < n; i++) {
      const r = this.listener.accept();
      if (typeof r === 'string') break;
      this.stats.emfileClosed++;
      r.close();
    }
    proc.reserveHeld = proc.fds.open() !== 'EMFILE';
  }

  private backoff(): void {
    this.delayMs = this.delayMs === 0 ? GO_ACCEPT_BACKOFF_MIN_MS : Math.min(this.delayMs * 2, GO_ACCEPT_BACKOFF_MAX_MS);
    this.stats.backoffs++;
    this.sleeping = true;
    this.listener.proc.world.sched.after(this.delayMs, wakeFromSleep, this);
  }

  endSleep(): void {
    this.sleeping = false;
    this.run();
  }
}

function runLoop(a: AcceptLoop): void {
  a.run();
}

function wakeFromSleep(a: AcceptLoop): void {
  a.endSleep();
}
