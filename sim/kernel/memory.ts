// Process memory against a limit (cgroup v2 memory.max, or the VM's RAM), and the GC-pressure factor that
// stretches CPU work as usage nears the limit (docs/kernel.md, "Memory, OOM and GC").
//
// OOM: a charge that takes usage past the limit, with nothing reclaimable in this model, kills the process
// (SIGKILL, exit 137). The kill is reported through `onOom`; process.ts tears the process down.
//
// GC pressure, from the standard cost model of a tracing collector: with live heap L and heap limit H,
// each collection frees at most H − L bytes and costs work proportional to L, so GC work per allocated
// byte is ∝ L / (H − L). A pacer that normally lets the heap grow to (1 + g)·L (Go's GOGC = 100·g; V8
// grows similarly) keeps that ratio at 1/g while (1 + g)·L < H; past that point the limit sets the goal and
// the ratio climbs as L/(H − L). So
//
//     stretch(p) = 1 + costRatio · max(1/g, p / (1 − p)),   p = used / limit,
//
// capped at `stretchMax` (Go's GC CPU limiter holds GC to ≤ 50 % of CPU → at most 2× mutator time; V8 has
// no such limiter and thrashes until "heap out of memory"). `costRatio` is GC work per unit of mutator work
// at ratio 1 — a property of the runtime profile, not of any story. The function is smooth and monotone.

export interface GcModel {
  /** GC work relative to mutator work when L/(H − L) = 1. */
  readonly costRatio: number;
  /** Heap growth allowed between collections as a fraction of live heap (GOGC/100). */
  readonly growth: number;
  /** Upper bound of the stretch factor. */
  readonly stretchMax: number;
}

export function gcStretch(usedBytes: number, limitBytes: number, gc: GcModel): number {
  const p = Math.min(Math.max(usedBytes / limitBytes, 0), 1);
  if (p >= 1) return gc.stretchMax;
  const ratio = Math.max(1 / gc.growth, p / (1 - p));
  return Math.min(1 + gc.costRatio * ratio, gc.stretchMax);
}

export class MemoryAccount {
  usedBytes = 0;
  peakBytes = 0;
  killed = false;

  constructor(
    readonly limitBytes: number,
    private readonly gc: GcModel,
    private readonly onOom: () => void,
  ) {}

  /** Adds `bytes`. Returns false when this charge killed the process (usage past the limit). */
  charge(bytes: number): boolean {
    if (this.killed) return false;
    this.usedBytes += bytes;
    if (this.usedBytes > this.peakBytes) this.peakBytes = this.usedBytes;
    if (this.usedBytes > this.limitBytes) {
      this.killed = true;
      this.onOom();
      return false;
    }
    return true;
  }

  release(bytes: number): void {
    this.usedBytes -= bytes;
    if (this.usedBytes < 0) throw new RangeError('memory released below zero');
  }

  /** Fraction of the limit in use. */
  pressure(): number {
    return this.usedBytes / this.limitBytes;
  }

  /** Multiplier on CPU cost from GC at the current usage. */
  stretch(): number {
    return gcStretch(this.usedBytes, this.limitBytes, this.gc);
  }
}
