// Linux netfilter connection tracking: a bounded table of flows. When it is full, a packet that would start
// a new flow is dropped ("nf_conntrack: table full, dropping packet"); for TCP that is a dropped SYN, which
// the client retransmits (docs/kernel.md, "Connection tracking").
//
// Entries outlive the connection: an entry lingers for the state's timeout after the last packet. The
// timeouts below are the nf_conntrack-sysctl.rst defaults; the model schedules one release per flow.
import type { Scheduler } from '../engine/scheduler.js';

/** nf_conntrack_tcp_timeout_time_wait: entry kept after a FIN exchange. */
export const CONNTRACK_TIME_WAIT_MS = 120_000;
/** nf_conntrack_tcp_timeout_close: entry kept after a RST. */
export const CONNTRACK_CLOSE_MS = 10_000;
/** nf_conntrack_tcp_timeout_syn_sent: an unanswered SYN's entry. */
export const CONNTRACK_SYN_SENT_MS = 120_000;

function releaseOne(ct: Conntrack): void {
  ct.entries--;
}

export class Conntrack {
  entries = 0;
  /** New flows refused because the table was full. */
  drops = 0;
  peak = 0;

  constructor(
    private readonly sched: Scheduler,
    readonly max: number,
  ) {}

  /** A packet starting a new flow: true if tracked, false if the table is full (packet dropped). */
  admit(): boolean {
    if (this.entries >= this.max) {
      this.drops++;
      return false;
    }
    this.entries++;
    if (this.entries > this.peak) this.peak = this.entries;
    return true;
  }

  /** The flow ended; its entry goes after the state's linger time. */
  releaseAfter(lingerMs: number): void {
    this.sched.after(lingerMs, releaseOne, this);
  }
}
