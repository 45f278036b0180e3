// Subscriptions by subject. Concrete channels live in a map (the hot path for fan-out to thousands of
// subscribers of one channel); patterns live in a token trie so matching costs O(tokens), not O(patterns).

interface Node<T> {
  readonly children: Map<string, Node<T>>;
  /** Subscribers whose pattern ends at this node. */
  readonly here: Set<T>;
  /** Subscribers of `<prefix>.>` at this node. */
  readonly rest: Set<T>;
}

function node<T>(): Node<T> {
  return { children: new Map(), here: new Set(), rest: new Set() };
}

export class ChannelIndex<T> {
  private readonly exact = new Map<string, Set<T>>();
  private readonly patterns: Node<T> = node();
  private patternCount = 0;

  add(subject: string, item: T, pattern: boolean): void {
    if (!pattern) {
      let set = this.exact.get(subject);
      if (set === undefined) this.exact.set(subject, (set = new Set()));
      set.add(item);
      return;
    }
    let at = this.patterns;
    const tokens = subject.split('.');
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token === '>') {
        if (!at.rest.has(item)) this.patternCount++;
        at.rest.add(item);
        return;
      }
      let next = at.children.get(token);
      if (next === undefined) at.children.set(token, (next = node()));
      at = next;
    }
    if (!at.here.has(item)) this.patternCount++;
    at.here.add(item);
  }

  remove(subject: string, item: T, pattern: boolean): void {
    if (!pattern) {
      const set = this.exact.get(subject);
      if (set === undefined) return;
      set.delete(item);
      if (set.size === 0) this.exact.delete(subject);
      return;
    }
    this.removePattern(this.patterns, subject.split('.'), 0, item);
  }

  /** Calls `visit` once per subscription matching concrete `channel`: exact subscribers first. */
  forEachMatch(channel: string, visit: (item: T) => void): void {
    const set = this.exact.get(channel);
    if (set !== undefined) for (const item of set) visit(item);
    if (this.patternCount > 0) this.matchPatterns(this.patterns, channel.split('.'), 0, visit);
  }

  /** Number of exact subscribers of a concrete channel (for stats). */
  exactCount(channel: string): number {
    return this.exact.get(channel)?.size ?? 0;
  }

  get channelCount(): number {
    return this.exact.size;
  }

  private matchPatterns(at: Node<T>, tokens: readonly string[], i: number, visit: (item: T) => void): void {
    if (i === tokens.length) {
      for (const item of at.here) visit(item);
      return;
    }
    // `>` needs at least one more token, which tokens[i] is.
    for (const item of at.rest) visit(item);
    const exact = at.children.get(tokens[i]!);
    if (exact !== undefined) this.matchPatterns(exact, tokens, i + 1, visit);
    const star = at.children.get('*');
    if (star !== undefined) this.matchPatterns(star, tokens, i + 1, visit);
  }

  /** Returns whether `at` is now empty so the parent can prune it. */
  private removePattern(at: Node<T>, tokens: readonly string[], i: number, item: T): boolean {
    const token = tokens[i];
    if (token === undefined) {
      if (at.here.delete(item)) this.patternCount--;
    } else if (token === '>') {
      if (at.rest.delete(item)) this.patternCount--;
    } else {
      const next = at.children.get(token);
      if (next !== undefined && this.removePattern(next, tokens, i + 1, item)) at.children.delete(token);
    }
    return at.here.size === 0 && at.rest.size === 0 && at.children.size === 0;
  }
}
