// The events the load publisher sends: `{"t":<µs>,"n":<seq>,"p":"xx…"}`. `t` comes first so a worker finds
// it with one byte search (frames.ts); `p` pads the data to the requested size.
//
// `t` is CLOCK_MONOTONIC in microseconds (process.hrtime), which every process on one machine shares: the
// publisher in the coordinator and the subscribers in the workers subtract each other's readings directly.
// That is one reason the load tool drives loopback targets only.

/** Microseconds on the machine-wide monotonic clock. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

let padding = '';

/** The data JSON of event `seq`, sent at `sentUs`, padded to at least `sizeBytes` bytes. */
export function eventData(sentUs: number, seq: number, sizeBytes: number): string {
  const bare = `{"t":${sentUs},"n":${seq},"p":""}`;
  const pad = Math.max(0, sizeBytes - bare.length);
  if (pad === 0) return bare;
  // One padding string reused while the size stays the same (a run publishes one size).
  if (padding.length !== pad) padding = 'x'.repeat(pad);
  return `{"t":${sentUs},"n":${seq},"p":"${padding}"}`;
}
