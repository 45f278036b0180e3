// The channel-name tree behind pattern history reads (src/core/subject-tree.ts; docs/protocol.md,
// "Subscribing and resuming"), against a plain list of (channel, newest offset) and the spec's matching
// rule: a walk never skips a matching channel with an event after `after`, reports only existing channels
// that match (a channel whose own events are older may come along when a channel below it is newer — the
// tree prunes by subtree, and the broker reads each reported channel's own log), forgets deleted
// channels, stops when told to, and gives up — saying so — past its step bound. A pattern resume's work is
// bounded by that bound, whatever the history holds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { subjectMatches } from '../src/core/protocol.js';
import { SubjectTree, type SubjectPath } from '../src/core/subject-tree.js';
import { runs } from './support/runs.js';

const channel = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 }).map((t) => t.join('.'));
const pattern = fc
  .array(fc.constantFrom('a', 'b', '*'), { minLength: 1, maxLength: 3 })
  .chain((t) => fc.constantFrom(t, [...t, '>'], ['>']))
  .map((t) => t.join('.'));
const op = fc.oneof(
  fc.record({ kind: fc.constant('publish' as const), name: channel }),
  fc.record({ kind: fc.constant('publish' as const), name: channel }),
  fc.record({ kind: fc.constant('delete' as const), name: channel }),
  fc.record({ kind: fc.constant('match' as const), name: pattern }),
);

describe('subject tree', () => {
  it('a walk reports every matching channel with an event after `after`, only matching live ones', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 50, size: 'max' }), fc.nat(60), (ops, afterSeed) => {
        const tree = new SubjectTree<string>();
        const newest = new Map<string, number>();
        const paths = new Map<string, SubjectPath>();
        let offset = 0;
        for (const { kind, name } of ops) {
          if (kind === 'publish') {
            let path = paths.get(name);
            if (path === undefined) paths.set(name, (path = tree.insert(name, name)));
            tree.touch(path, ++offset);
            newest.set(name, offset);
          } else if (kind === 'delete') {
            tree.delete(name);
            paths.delete(name);
            newest.delete(name);
          } else {
            const after = afterSeed % (offset + 1);
            const seen: string[] = [];
            expect(tree.match(name, after, (v) => (seen.push(v), true), 10_000)).toBe('complete');
            const owed = [...newest].filter(([c, n]) => n > after && subjectMatches(name, c)).map(([c]) => c);
            for (const c of owed) expect(seen).toContain(c);
            for (const c of seen) expect(newest.has(c) && subjectMatches(name, c)).toBe(true);
            expect(new Set(seen).size).toBe(seen.length);
          }
        }
      }),
      runs(200),
    );
  });

  it('stops when the visitor says so, and gives up past its step bound', () => {
    const tree = new SubjectTree<string>();
    let offset = 0;
    for (const c of ['a.x', 'a.y', 'b.z', 'b.w.v']) tree.touch(tree.insert(c, c), ++offset);
    const seen: string[] = [];
    expect(tree.match('>', 0, (v) => (seen.push(v), seen.length < 2), 100)).toBe('stopped');
    expect(seen).toEqual(['a.x', 'a.y']);
    expect(tree.match('a.*', 0, (v) => v !== 'a.x', 100)).toBe('stopped');
    // Root, a, a.x, a.y: four nodes entered for `a.*`; three steps are not enough.
    expect(tree.match('a.*', 0, () => true, 4)).toBe('complete');
    expect(tree.match('a.*', 0, () => true, 3)).toBe('steps_exhausted');
    expect(tree.match('>', 0, () => true, 5)).toBe('steps_exhausted');
    // A subtree with nothing after `after` costs one step: b (newest 4) is entered, b.z and b.w are not.
    expect(tree.match('b.>', 4, () => true, 2)).toBe('complete');
  });

  it('prunes a deleted channel, and keeps what shares its prefix', () => {
    const tree = new SubjectTree<string>();
    tree.touch(tree.insert('a.b.c', 'abc'), 1);
    tree.touch(tree.insert('a.b', 'ab'), 2);
    tree.delete('a.b.c');
    const seen: string[] = [];
    tree.match('>', 0, (v) => (seen.push(v), true), 100);
    expect(seen).toEqual(['ab']);
    tree.delete('a.b');
    tree.delete('x.y');
    // Nothing left below the root: a walk enters the root only.
    expect(tree.match('>', 0, () => true, 1)).toBe('complete');
  });
});
