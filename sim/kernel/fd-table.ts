// One process's descriptor table, bounded by the soft RLIMIT_NOFILE.
//
// Descriptors are numbered 0..limit-1, so at most `limit` are open at once; the open that would need
// descriptor number `limit` fails with EMFILE. stdin/stdout/stderr, log files and outbound connections
// count like sockets: open them with `reserve()` so the model sees the same headroom the process has.
// Numbers are recycled last-freed-first (POSIX says lowest-free; only the count matters to the model).

export class FdTable {
  private openCount = 0;
  private nextFresh = 0;
  private readonly freed: number[] = [];
  /** Opens refused with EMFILE so far. */
  emfileCount = 0;

  constructor(private limit: number) {
    if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`nofile ${limit}`);
  }

  get used(): number {
    return this.openCount;
  }

  get softLimit(): number {
    return this.limit;
  }

  get available(): number {
    return Math.max(0, this.limit - this.openCount);
  }

  /** setrlimit(RLIMIT_NOFILE): lowering below the open count only stops new opens. */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  open(): number | 'EMFILE' {
    if (this.openCount >= this.limit) {
      this.emfileCount++;
      return 'EMFILE';
    }
    this.openCount++;
    const fd = this.freed.pop();
    return fd ?? this.nextFresh++;
  }

  /** Opens `n` descriptors that stay open (stdio, logs, outbound clients). Throws if they do not fit. */
  reserve(n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.open() === 'EMFILE') throw new RangeError(`reserve(${n}) exceeds nofile ${this.limit}`);
    }
  }

  /** Closes `n` descriptors opened with reserve() (libuv's reserve on EMFILE). */
  release(n: number): void {
    if (this.openCount < n) throw new RangeError(`release(${n}) with ${this.openCount} open`);
    this.openCount -= n;
  }

  close(fd: number): void {
    if (fd < 0) throw new RangeError(`close(${fd})`);
    if (this.openCount <= 0) throw new RangeError('close() with no descriptor open');
    this.openCount--;
    this.freed.push(fd);
  }
}
