// One direction of a TCP connection as bytes in buffers: writer's user-space queue → kernel send buffer →
// wire → receiver's kernel receive buffer → read by the receiving program.
//
// Back-pressure, the point of this file: the receiver's free buffer space is the window. A receiver that
// stops reading fills its receive buffer (rmem), the window closes, the writer's kernel send buffer (wmem)
// fills, and further writes stay in user space — `userBytes`, which is what Node reports as
// writableLength and ws as bufferedAmount. So a slow reader shows up at the writer as a growing buffered
// amount, exactly the signal the gateway's slow-client policy watches.
//
// Simplifications (docs/lab.md): a write is one chunk and travels as one segment unless the window splits
// it; window updates reach the writer instantly (ACK latency ignored); send-buffer space frees when bytes
// go on the wire, not when they are acknowledged; no buffer autotuning (Linux grows rmem/wmem up to
// tcp_rmem[2]/tcp_wmem[2] under load — set larger caps to model that).

export interface Chunk {
  /** Chunk size; cut to what the kernel already holds when the writer's socket is destroyed. */
  bytes: number;
  readonly payload: unknown;
  /** Bytes copied into the kernel send buffer. */
  inKernel: number;
  /** Bytes put on the wire. */
  sent: number;
}

/** What went on the wire: `bytes` of the head chunk; `done` is the chunk when this was its last byte. */
export interface Segment {
  readonly pipe: Pipe;
  readonly bytes: number;
  readonly done: Chunk | null;
  /** Carries the FIN (alone, or piggybacked on the last data segment sent in the same instant). */
  fin: boolean;
}

export class Pipe {
  private readonly q: Chunk[] = [];
  private head = 0;
  /** Index of the first chunk not yet fully copied into the kernel. */
  private copyHead = 0;
  private readonly readable: Chunk[] = [];
  private readHead = 0;

  userBytes = 0;
  sndBytes = 0;
  wireBytes = 0;
  rcvBytes = 0;
  /** Transmission may start (the receiving socket exists). */
  open = false;
  finQueued = false;
  finSent = false;
  finArrived = false;
  /** Last scheduled arrival: arrivals stay in order although links jitter. */
  lastArrivalMs = 0;
  /** When the last segment was sent, and that segment (a FIN sent in the same instant shares its packet). */
  lastSendMs = -1;
  lastSegment: Segment | null = null;

  constructor(
    public sndCapBytes: number,
    public rcvCapBytes: number,
  ) {}

  /** Queues a chunk. Returns the writer's buffered amount afterwards (user-space bytes). */
  write(bytes: number, payload: unknown): number {
    if (this.finQueued) throw new Error('write after end');
    this.q.push({ bytes, payload, inKernel: 0, sent: 0 });
    this.userBytes += bytes;
    this.copyToKernel();
    return this.userBytes;
  }

  /** FIN after everything queued so far. */
  end(): void {
    this.finQueued = true;
  }

  /** Drops what the kernel has not taken yet (the program's own buffer dies with the socket). */
  discardUser(): void {
    let keep = this.copyHead;
    const c = this.q[keep];
    if (c !== undefined && c.inKernel > 0) {
      c.bytes = c.inKernel;
      keep++;
    }
    this.q.length = keep;
    this.copyHead = keep;
    this.userBytes = 0;
  }

  /** Bytes written and not yet delivered into the receive buffer. */
  get unsentBytes(): number {
    return this.userBytes + this.sndBytes;
  }

  private copyToKernel(): void {
    while (this.copyHead < this.q.length) {
      const room = this.sndCapBytes - this.sndBytes;
      if (room <= 0) return;
      const c = this.q[this.copyHead] as Chunk;
      const n = Math.min(room, c.bytes - c.inKernel);
      c.inKernel += n;
      this.sndBytes += n;
      this.userBytes -= n;
      if (c.inKernel === c.bytes) this.copyHead++;
      else return;
    }
  }

  /** The next segment the window allows, or null. A FIN goes once all data is on the wire. */
  nextSegment(): Segment | null {
    if (!this.open) return null;
    const c = this.q[this.head];
    if (c === undefined) {
      if (this.finQueued && !this.finSent) {
        this.finSent = true;
        return { pipe: this, bytes: 0, done: null, fin: true };
      }
      return null;
    }
    const window = this.rcvCapBytes - this.rcvBytes - this.wireBytes;
    const n = Math.min(c.inKernel - c.sent, window);
    if (n <= 0) return null;
    c.sent += n;
    this.sndBytes -= n;
    this.wireBytes += n;
    let done: Chunk | null = null;
    if (c.sent === c.bytes) {
      done = c;
      this.head++;
      // Forget sent chunks at once (the receiver holds its own reference until read): a long-lived
      // connection must not keep every payload it ever carried reachable.
      if (this.head === this.q.length) {
        this.q.length = 0;
        this.copyHead = 0;
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.q.length) {
        this.q.splice(0, this.head);
        this.copyHead -= this.head;
        this.head = 0;
      }
    }
    this.copyToKernel();
    return { pipe: this, bytes: n, done, fin: false };
  }

  /** A segment reached the receive buffer. */
  arrive(seg: Segment): void {
    if (seg.bytes > 0) {
      this.wireBytes -= seg.bytes;
      this.rcvBytes += seg.bytes;
      if (seg.done !== null) this.readable.push(seg.done);
    }
    if (seg.fin) this.finArrived = true;
  }

  /** The receiving program reads one whole chunk, or gets null when none is complete. */
  read(): Chunk | null {
    const c = this.readable[this.readHead];
    if (c === undefined) return null;
    this.readHead++;
    if (this.readHead === this.readable.length) {
      this.readable.length = 0;
      this.readHead = 0;
    } else if (this.readHead > 1024 && this.readHead * 2 > this.readable.length) {
      this.readable.splice(0, this.readHead);
      this.readHead = 0;
    }
    this.rcvBytes -= c.bytes;
    return c;
  }

  /** Bytes in the receive buffer not read by the program (RST on close when > 0). */
  get unreadBytes(): number {
    return this.rcvBytes;
  }

  /** The peer's FIN arrived and every byte before it has been read. */
  get endOfStream(): boolean {
    return this.finArrived && this.readHead >= this.readable.length;
  }
}
