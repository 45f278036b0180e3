// A Map for what usually holds one entry: a session's subscriptions. The one entry lives in two fields; a
// real Map is made only for a second. An empty Map with its table costs ~180 bytes, which was a fifth of
// what an idle subscribed session cost beyond its socket (docs/benchmarks.md, "A lighter connection").
export class SmallMap<K, V> {
  private oneKey: K | undefined = undefined;
  private oneValue: V | undefined = undefined;
  private hasOne = false;
  private many: Map<K, V> | null = null;

  get size(): number {
    return this.many !== null ? this.many.size : this.hasOne ? 1 : 0;
  }

  get(key: K): V | undefined {
    if (this.many !== null) return this.many.get(key);
    return this.hasOne && this.oneKey === key ? this.oneValue : undefined;
  }

  has(key: K): boolean {
    if (this.many !== null) return this.many.has(key);
    return this.hasOne && this.oneKey === key;
  }

  set(key: K, value: V): void {
    if (this.many !== null) {
      this.many.set(key, value);
    } else if (!this.hasOne || this.oneKey === key) {
      this.oneKey = key;
      this.oneValue = value;
      this.hasOne = true;
    } else {
      this.many = new Map([
        [this.oneKey as K, this.oneValue as V],
        [key, value],
      ]);
      this.forgetOne();
    }
  }

  delete(key: K): boolean {
    if (this.many !== null) return this.many.delete(key);
    if (!this.hasOne || this.oneKey !== key) return false;
    this.forgetOne();
    return true;
  }

  clear(): void {
    this.many = null;
    this.forgetOne();
  }

  /** Entries in insertion order, as Map's. */
  *entries(): IterableIterator<[K, V]> {
    if (this.many !== null) yield* this.many.entries();
    else if (this.hasOne) yield [this.oneKey as K, this.oneValue as V];
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  private forgetOne(): void {
    this.oneKey = undefined;
    this.oneValue = undefined;
    this.hasOne = false;
  }
}
