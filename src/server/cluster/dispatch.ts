// Which worker takes the next connection (`serve --workers N`): the one with the most room. node:cluster's
// own round-robin hands a connection to whichever worker acknowledged its last one first, so a worker
// that is a little slower gets fewer; with every worker near its descriptor limit, that drift made one
// worker answer 503 while the other still had hundreds of free descriptors (docs/operations.md, "Several
// cores"). Room = the worker's connection ceiling − its connections, where its connections are its last
// report plus what was handed to it since: exact during a ramp (the primary counts every hand-off) and
// corrected for closes at the next report. Ties go round-robin, so equal workers alternate.

interface Entry {
  readonly slot: number;
  readonly connectionsMax: number;
  /** Open connections at the worker's last report. */
  reported: number;
  /** Handed since that report. */
  handed: number;
  /** Draining: chosen only when every worker is (its gateway answers 503 with Retry-After). */
  draining: boolean;
}

export class LeastLoadedDispatch {
  private readonly entries: Entry[] = [];
  private lastSlot = -1;

  /** A worker is ready for connections (started, or started again after a crash). */
  add(slot: number, connectionsMax: number): void {
    this.remove(slot);
    this.entries.push({ slot, connectionsMax, reported: 0, handed: 0, draining: false });
    this.entries.sort((a, b) => a.slot - b.slot);
  }

  /** A worker is gone: nothing more is handed to it. */
  remove(slot: number): void {
    const at = this.entries.findIndex((e) => e.slot === slot);
    if (at >= 0) this.entries.splice(at, 1);
  }

  /** A worker is draining: others get its share while any is serving. */
  draining(slot: number): void {
    const entry = this.entries.find((e) => e.slot === slot);
    if (entry !== undefined) entry.draining = true;
  }

  /** A worker's own count of its open connections (it reports periodically). */
  report(slot: number, open: number): void {
    const entry = this.entries.find((e) => e.slot === slot);
    if (entry === undefined) return;
    entry.reported = open;
    entry.handed = 0;
  }

  /**
   * The slot to hand the next connection to, counted as handed; null when no worker is ready. A worker
   * with no room left still gets connections when every worker is full: its gateway answers them with a
   * 503 and Retry-After, which tells the client more than a reset would.
   */
  next(): number | null {
    const n = this.entries.length;
    if (n === 0) return null;
    const anyServing = this.entries.some((e) => !e.draining);
    let best: Entry | null = null;
    let bestRoom = -Infinity;
    // Start after the last chosen slot so that ties alternate.
    const start = Math.max(
      0,
      this.entries.findIndex((e) => e.slot > this.lastSlot),
    );
    for (let i = 0; i < n; i++) {
      const entry = this.entries[(start + i) % n]!;
      if (anyServing && entry.draining) continue;
      const room = entry.connectionsMax - entry.reported - entry.handed;
      if (room > bestRoom) {
        best = entry;
        bestRoom = room;
      }
    }
    best!.handed++;
    this.lastSlot = best!.slot;
    return best!.slot;
  }

  /** Each ready worker's estimated connections, for logs and tests. */
  loads(): ReadonlyArray<{ readonly slot: number; readonly connections: number; readonly connectionsMax: number }> {
    return this.entries.map((e) => ({ slot: e.slot, connections: e.reported + e.handed, connectionsMax: e.connectionsMax }));
  }
}
