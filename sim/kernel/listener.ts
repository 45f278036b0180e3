// A listening socket's queues, as the kernel keeps them (docs/kernel.md, "Listen queues"). This file decides;
// tcp.ts carries out the decisions (sends SYN-ACKs and RSTs, moves bytes).
//
// Linux (include/net/inet_connection_sock.h, net/ipv4/tcp_input.c tcp_conn_request):
//   backlog = min(listen(backlog), somaxconn). Two queues:
//   - the SYN (request) queue, "full" when its length > backlog (inet_csk_reqsk_queue_is_full, since 2025);
//   - the accept queue of completed connections, "full" when its length > backlog (sk_acceptq_is_full
//     compares with >, so backlog + 1 connections fit — listen(fd, 0) still accepts one).
//   On a SYN, in tcp_conn_request's order:
//     1. SYN queue full (or syncookies = 2): with syncookies answer with a cookie and keep no state, else drop.
//     2. accept queue full: drop the SYN (LISTENOVERFLOWS) — cookies or not; the client retransmits.
//     3. syncookies off and fewer than ¼ of tcp_max_syn_backlog slots left in the SYN queue: drop.
//   On the final ACK (tcp_check_req → syn_recv_sock): accept queue full → with tcp_abort_on_overflow send
//   RST, else ignore the ACK; the request stays and its SYN-ACK is retransmitted (tcp_synack_retries).
// macOS / BSD (XNU tcp_input.c, uipc_socket.c): one queue length counts incomplete + complete connections
//   against backlog = min(backlog, somaxconn). A SYN on a full queue evicts a random embryonic
//   (incomplete) connection if there is one, else it is dropped silently. The completing ACK never
//   overflows: the connection was already counted.
import type { Prng } from '../engine/prng.js';
import type { Sysctls } from './host.js';

/** What the listener wants done with an incoming SYN. */
export type SynVerdict =
  | 'queue' // keep a request (embryonic connection) and answer SYN-ACK
  | 'cookie' // answer with a syncookie SYN-ACK, keep no state
  | 'evict-then-queue' // bsd: evict a random embryonic connection first
  | 'drop-syn-queue-full'
  | 'drop-accept-queue-full'
  | 'drop-syn-backlog';

/** The listener's view of a connection: its position in whichever queue holds it. */
export interface Queued {
  /** Index in the embryonic list, or -1. */
  embryoIndex: number;
}

export interface ListenerStats {
  synsReceived: number;
  dropsSynQueueFull: number;
  dropsAcceptQueueFull: number;
  dropsSynBacklog: number;
  cookiesSent: number;
  acksIgnoredOverflow: number;
  overflowResets: number;
  evictions: number;
  accepted: number;
  peakAcceptQueue: number;
}

export class ListenQueues<C extends Queued> {
  /** min(backlog, somaxconn). */
  readonly backlog: number;
  private readonly embryos: C[] = [];
  private readonly acceptQ: C[] = [];
  private acceptHead = 0;
  readonly stats: ListenerStats = {
    synsReceived: 0,
    dropsSynQueueFull: 0,
    dropsAcceptQueueFull: 0,
    dropsSynBacklog: 0,
    cookiesSent: 0,
    acksIgnoredOverflow: 0,
    overflowResets: 0,
    evictions: 0,
    accepted: 0,
    peakAcceptQueue: 0,
  };

  constructor(
    requestedBacklog: number,
    private readonly sys: Sysctls,
    private readonly rng: Prng,
  ) {
    // Linux clamps to somaxconn in inet_listen (and a negative or zero backlog still gives 0 → 1 slot);
    // XNU clamps to somaxconn in solisten.
    this.backlog = Math.max(0, Math.min(requestedBacklog, sys.somaxconn));
  }

  get embryonicCount(): number {
    return this.embryos.length;
  }

  get acceptQueueLength(): number {
    return this.acceptQ.length - this.acceptHead;
  }

  /** Linux sk_acceptq_is_full: strictly greater than the backlog. */
  acceptQueueFull(): boolean {
    if (this.sys.listenModel === 'bsd') return this.embryos.length + this.acceptQueueLength >= this.backlog;
    return this.acceptQueueLength > this.backlog;
  }

  onSyn(): SynVerdict {
    this.stats.synsReceived++;
    const s = this.sys;
    if (s.listenModel === 'bsd') {
      if (this.embryos.length + this.acceptQueueLength < this.backlog) return 'queue';
      if (this.embryos.length > 0) {
        this.stats.evictions++;
        return 'evict-then-queue';
      }
      this.stats.dropsAcceptQueueFull++;
      return 'drop-accept-queue-full';
    }
    let cookie = false;
    // inet_csk_reqsk_queue_is_full compares with > since upstream 3479c7549fb1 (2025, backported to the
    // stable kernels; measured here: listen(8) holds 9 requests): backlog + 1 requests fit, as in the
    // accept queue. The parity suite's cookies-off row shows it (5 per retransmission wave at backlog 4).
    if (s.tcpSyncookies === 2 || this.embryos.length > this.backlog) {
      if (s.tcpSyncookies === 0) {
        this.stats.dropsSynQueueFull++;
        return 'drop-syn-queue-full';
      }
      cookie = true;
    }
    if (this.acceptQueueLength > this.backlog) {
      this.stats.dropsAcceptQueueFull++;
      return 'drop-accept-queue-full';
    }
    if (!cookie && s.tcpSyncookies === 0 && s.tcpMaxSynBacklog - this.embryos.length < s.tcpMaxSynBacklog >> 2) {
      this.stats.dropsSynBacklog++;
      return 'drop-syn-backlog';
    }
    if (cookie) {
      this.stats.cookiesSent++;
      return 'cookie';
    }
    return 'queue';
  }

  addEmbryo(c: C): void {
    c.embryoIndex = this.embryos.length;
    this.embryos.push(c);
  }

  /** Removes an embryonic connection (completed, evicted or timed out). O(1): swap with the last. */
  removeEmbryo(c: C): void {
    const i = c.embryoIndex;
    if (i < 0) return;
    const last = this.embryos.pop() as C;
    if (last !== c) {
      this.embryos[i] = last;
      last.embryoIndex = i;
    }
    c.embryoIndex = -1;
  }

  /** bsd: the embryonic connection to evict, chosen uniformly from the seeded stream. */
  pickEvictee(): C {
    const c = this.embryos[this.rng.int(0, this.embryos.length - 1)];
    if (c === undefined) throw new Error('pickEvictee with no embryonic connection');
    return c;
  }

  /**
   * The final ACK arrived for `c`. Returns true when `c` moved to the accept queue; false when the accept
   * queue is full (Linux; the caller resets or ignores per tcp_abort_on_overflow).
   */
  complete(c: C): boolean {
    if (this.sys.listenModel === 'linux' && this.acceptQueueLength > this.backlog) {
      if (this.sys.tcpAbortOnOverflow) this.stats.overflowResets++;
      else this.stats.acksIgnoredOverflow++;
      return false;
    }
    this.removeEmbryo(c);
    this.acceptQ.push(c);
    const n = this.acceptQueueLength;
    if (n > this.stats.peakAcceptQueue) this.stats.peakAcceptQueue = n;
    return true;
  }

  /** The oldest completed connection, without removing it (accept() may still fail with EMFILE). */
  peekAccept(): C | undefined {
    return this.acceptQ[this.acceptHead];
  }

  shiftAccept(): C | undefined {
    const c = this.acceptQ[this.acceptHead];
    if (c === undefined) return undefined;
    this.acceptHead++;
    if (this.acceptHead > 1024 && this.acceptHead * 2 > this.acceptQ.length) {
      this.acceptQ.splice(0, this.acceptHead);
      this.acceptHead = 0;
    }
    this.stats.accepted++;
    return c;
  }

  /** Everything still queued (listener closing): embryonic and completed. */
  drainAll(): C[] {
    const all = [...this.embryos, ...this.acceptQ.slice(this.acceptHead)];
    for (const c of this.embryos) c.embryoIndex = -1;
    this.embryos.length = 0;
    this.acceptQ.length = 0;
    this.acceptHead = 0;
    return all;
  }
}
