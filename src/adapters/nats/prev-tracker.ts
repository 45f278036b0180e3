// `prev` for events read from a JetStream stream. JetStream numbers messages over the whole stream and
// keeps no per-subject sequence, so the reader derives `prev` (the offset of the previous event on the same
// channel) from what it has read itself (docs/operations.md, "NATS JetStream").
//
// Rules, in order:
//   - a subject seen since the reader's starting point: the last sequence seen on it;
//   - a subject never seen (or forgotten, see below): 0 only when that is provable — the reader started at
//     sequence 1 of a stream that never dropped anything before it, skipped nothing since and forgot
//     nothing — else null (unknown);
//   - after the reader skipped sequences it could not read (retention expired them during an outage, or
//     someone deleted them), any subject may have had an event in the skipped range. Every subject whose
//     last known event precedes the skip answers the skip's last sequence instead: the client sees `prev`
//     beyond its position, asks for that range, and is told it is gone (a gap with a reason) rather than
//     receiving the next event as if nothing was missing.
//
// Two instances that read from the same starting point compute the same values. They may differ at the
// edge of retention: one that started later (first retained sequence higher) answers null where the
// other knows a number, and one that was cut off longer answers a skip where the other saw the event.
//
// The map is bounded: past `subjectsMax` the least recently published subject is forgotten, and from then
// on an unknown subject is "unknown" (null) rather than "none" (0) or a skip it may have outlived.

export class PrevTracker {
  /** Last sequence per subject, least recently published first (a Map keeps insertion order). */
  private readonly last = new Map<string, number>();
  /** Provably nothing unseen before the reader's position: started at 1, no skip, nothing forgotten. */
  private complete: boolean;
  /** Highest sequence the reader skipped without reading (0: none). */
  private skippedThrough = 0;
  /** Highest last sequence of a forgotten subject (0: none forgotten). */
  private forgottenThrough = 0;
  /** The last sequence read, 0 before the first. */
  private lastRead = 0;

  constructor(
    /** The first sequence the reader will read. */
    private readonly startSeq: number,
    /** The stream's first retained sequence when the reader started. */
    firstSeq: number,
    private readonly subjectsMax: number,
  ) {
    this.complete = startSeq === 1 && firstSeq <= 1;
  }

  /** The `prev` of the message at `seq` on `subject`, which becomes the subject's last sequence. */
  next(subject: string, seq: number): number | null {
    if (this.lastRead === 0) {
      // The first message read is the effective start: messages before it expired before the reader got to
      // them, so nothing is provable about them, but nobody read past them here either (not a skip).
      if (seq > this.startSeq) this.complete = false;
    } else if (seq > this.lastRead + 1) this.skip(seq - 1);
    this.lastRead = seq;
    const known = this.last.get(subject);
    let prev: number | null;
    if (known !== undefined) {
      prev = Math.max(known, this.skippedThrough);
      this.last.delete(subject); // re-inserted below: most recent last
    } else if (this.forgottenThrough > this.skippedThrough) {
      // This may be a forgotten subject whose last event came after any skip: its prev is not known.
      prev = null;
    } else prev = this.skippedThrough > 0 ? this.skippedThrough : this.complete ? 0 : null;
    this.last.set(subject, seq);
    if (this.last.size > this.subjectsMax) {
      const [oldest, oldestSeq] = this.last.entries().next().value as [string, number];
      this.last.delete(oldest);
      this.forgottenThrough = Math.max(this.forgottenThrough, oldestSeq);
      this.complete = false;
    }
    return prev;
  }

  /** Sequences up to `through` will never be read (an outage outlived their retention). */
  private skip(through: number): void {
    this.skippedThrough = through;
    this.complete = false;
  }

  /** The last sequence read, 0 before the first. */
  get lastSeq(): number {
    return this.lastRead;
  }

  get subjectCount(): number {
    return this.last.size;
  }
}
