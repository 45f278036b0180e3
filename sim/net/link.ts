// One direction of a network path between two hosts: propagation latency, jitter, bandwidth, loss.
//
// Bandwidth is a serialisation queue: a packet departs when the previous one has left
// (busyUntil + bytes / bandwidth), so a burst bigger than the pipe queues at the sender's interface.
// Jitter is uniform in [0, jitterMs) per packet; TCP reorders nothing, so the TCP layer clamps each flow's
// arrivals to be monotone. Loss is Bernoulli per packet from the link's own seeded stream.
import type { Prng } from '../engine/prng.js';

export interface LinkSpec {
  readonly latencyMs: number;
  readonly jitterMs: number;
  /** Bytes per millisecond; 0 = unlimited (loopback in this model). 125_000 B/ms = 1 Gbit/s. */
  readonly bandwidthBytesPerMs: number;
  /** Probability that a packet is lost. */
  readonly lossRate: number;
}

/** Loopback: ~10 µs one way, no loss, no serialisation limit (memory copies, not a wire). */
export const LOOPBACK: LinkSpec = { latencyMs: 0.01, jitterMs: 0, bandwidthBytesPerMs: 0, lossRate: 0 };

/** A same-datacenter LAN: 0.1 ms one way, 10 Gbit/s. */
export const LAN: LinkSpec = { latencyMs: 0.1, jitterMs: 0.02, bandwidthBytesPerMs: 1_250_000, lossRate: 0 };

export class Link {
  private busyUntilMs = 0;
  packets = 0;
  lost = 0;
  bytes = 0;

  constructor(
    /** Replaceable mid-run (partitions, degradations): sockets hold the Link, not the spec. */
    public spec: LinkSpec,
    private readonly rng: Prng,
  ) {}

  /** Arrival time of a packet of `bytes` sent at `nowMs`, or -1 when the packet is lost. */
  transit(nowMs: number, bytes: number): number {
    this.packets++;
    const s = this.spec;
    if (s.lossRate > 0 && this.rng.next() < s.lossRate) {
      this.lost++;
      return -1;
    }
    this.bytes += bytes;
    let departMs = nowMs;
    if (s.bandwidthBytesPerMs > 0) {
      departMs = Math.max(nowMs, this.busyUntilMs) + bytes / s.bandwidthBytesPerMs;
      this.busyUntilMs = departMs;
    }
    const jitter = s.jitterMs > 0 ? this.rng.next() * s.jitterMs : 0;
    return departMs + s.latencyMs + jitter;
  }
}
