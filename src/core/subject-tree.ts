// Concrete channels by name, walked with a pattern: the reverse of ChannelIndex (which finds the patterns
// that match one concrete channel). A pattern resume asks "which channels match `odin.token.*.trade` and
// had an event after offset A?"; scanning every retained event for that costs the whole history, and
// scanning every channel costs every channel. Here each node remembers the newest offset published
// anywhere below it, so the walk skips whole subtrees with nothing after A, and it is bounded in steps:
// a walk that would take more gives up and says so (the caller answers `too_many`).
//
// Example: channels a.x (newest 40), a.y (newest 90), b.z (newest 95). Walking `a.*` after 50 visits
// a (newest 90), skips a.x (40 <= 50), and reports a.y; b is never entered.

interface Node<V> {
  /** Null until the node gets a child: most nodes are leaves, and a Map is the heavy part of a node. */
  children: Map<string, Node<V>> | null;
  value: V | undefined;
  /** Newest offset of any channel at or below this node (an upper bound once channels are deleted). */
  newest: number;
}

function node<V>(): Node<V> {
  return { children: null, value: undefined, newest: 0 };
}

export type WalkEnd = 'complete' | 'stopped' | 'steps_exhausted';

/** The nodes from the root to one channel: kept by the caller, so recording an event needs no look-up. */
export type SubjectPath = readonly { newest: number }[];

export class SubjectTree<V> {
  private readonly root: Node<V> = node();

  /** Adds `channel` with `value` (or replaces its value); returns its path for touch(). */
  insert(channel: string, value: V): SubjectPath {
    let at = this.root;
    const path: Node<V>[] = [at];
    for (const token of channel.split('.')) {
      at.children ??= new Map();
      let next = at.children.get(token);
      if (next === undefined) at.children.set(token, (next = node()));
      path.push(next);
      at = next;
    }
    at.value = value;
    return path;
  }

  /** Records an event at `offset` on the channel at the end of `path` (offsets only grow). */
  touch(path: SubjectPath, offset: number): void {
    for (const n of path) n.newest = offset;
  }

  /** Forgets `channel`, pruning the nodes it leaves empty. */
  delete(channel: string): void {
    this.prune(this.root, channel.split('.'), 0);
  }

  /**
   * Calls `visit` for each channel matching `pattern` (`*` one token, `>` one or more trailing tokens)
   * whose newest offset is above `after`, until `visit` returns false ('stopped') or `stepsMax` nodes have
   * been entered ('steps_exhausted'). Order: depth first, children in insertion order.
   */
  match(pattern: string, after: number, visit: (value: V) => boolean, stepsMax: number): WalkEnd {
    const walk = { steps: 0, stepsMax, after, visit, end: 'complete' as WalkEnd };
    this.walk(this.root, pattern.split('.'), 0, walk);
    return walk.end;
  }

  private walk(at: Node<V>, tokens: readonly string[], i: number, w: Walk<V>): void {
    if (w.end !== 'complete') return;
    if (++w.steps > w.stepsMax) {
      w.end = 'steps_exhausted';
      return;
    }
    if (at.newest <= w.after) return;
    if (i === tokens.length) {
      if (at.value !== undefined && !w.visit(at.value)) w.end = 'stopped';
      return;
    }
    if (at.children === null) return;
    const token = tokens[i]!;
    if (token === '>') {
      for (const child of at.children.values()) this.everything(child, w);
      return;
    }
    if (token === '*') {
      for (const child of at.children.values()) this.walk(child, tokens, i + 1, w);
      return;
    }
    const child = at.children.get(token);
    if (child !== undefined) this.walk(child, tokens, i + 1, w);
  }

  /** Every channel at or below `at` (the tail of a `>` pattern). */
  private everything(at: Node<V>, w: Walk<V>): void {
    if (w.end !== 'complete') return;
    if (++w.steps > w.stepsMax) {
      w.end = 'steps_exhausted';
      return;
    }
    if (at.newest <= w.after) return;
    if (at.value !== undefined && !w.visit(at.value)) {
      w.end = 'stopped';
      return;
    }
    if (at.children !== null) for (const child of at.children.values()) this.everything(child, w);
  }

  /** Returns whether `at` is now empty, so the parent can drop it. */
  private prune(at: Node<V>, tokens: readonly string[], i: number): boolean {
    if (i === tokens.length) at.value = undefined;
    else {
      const child = at.children?.get(tokens[i]!);
      if (child !== undefined && this.prune(child, tokens, i + 1)) at.children!.delete(tokens[i]!);
      if (at.children?.size === 0) at.children = null;
    }
    return at.value === undefined && at.children === null;
  }
}

interface Walk<V> {
  steps: number;
  readonly stepsMax: number;
  readonly after: number;
  readonly visit: (value: V) => boolean;
  end: WalkEnd;
}
