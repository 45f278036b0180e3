// Token bucket: over any window of T seconds at most burst + rate·T takes succeed (invariant I8).

export class TokenBucket {
  private tokens: number;
  private refilledAtMs: number;

  constructor(
    readonly burst: number,
    readonly perSecond: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.refilledAtMs = nowMs;
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until one token is available (0 when one is). */
  waitMs(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) return 0;
    return this.perSecond <= 0 ? Number.POSITIVE_INFINITY : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }

  /** A full bucket behaves exactly like a new one, so callers may forget it. */
  isFull(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens >= this.burst;
  }

  private refill(nowMs: number): void {
    const elapsedMs = nowMs - this.refilledAtMs;
    if (elapsedMs <= 0) return;
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs / 1000) * this.perSecond);
    this.refilledAtMs = nowMs;
  }
}
