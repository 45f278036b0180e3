// Token bucket: over any window of T seconds at most burst + rate·T takes succeed (invariant I8).

/** Refills add fractions of a token; float rounding must not leave a bucket a hair short of a token. */
const EPSILON = 1e-9;

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

  /** Takes `count` tokens if there are that many (a costly request takes several, docs/protocol.md). */
  take(nowMs: number, count = 1): boolean {
    this.refill(nowMs);
    if (this.tokens < count - EPSILON) return false;
    this.tokens -= count;
    return true;
  }

  /** Milliseconds until one token is available (0 when one is). */
  waitMs(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1 - EPSILON) return 0;
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
    const tokens = this.tokens + (elapsedMs / 1000) * this.perSecond;
    this.tokens = tokens >= this.burst - EPSILON ? this.burst : tokens;
    this.refilledAtMs = nowMs;
  }
}
