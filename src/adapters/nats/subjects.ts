// Subject algebra for a stream's subjects, pure (no NATS client): which subjects a stream stores, whether
// one pattern covers another, their intersection, and the consumer filters NATS 2.9 accepts for a history
// read. Kept apart from stream.ts so a simulated twin of the broker can use the same rules.
import { isPattern, subjectMatches } from '../../core/protocol.js';

/** Is every message on `subject` captured by one of `patterns`? (NATS wildcards on both sides.) */
export function subjectCovered(subject: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => covers(pattern, subject));
}

function covers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < s.length; i++) {
    const pt = p[i];
    if (pt === undefined) return false;
    if (pt === '>') return true;
    const st = s[i]!;
    if (st === '>') return false; // `a.>` is only covered by `>` at this depth
    if (pt === '*') continue;
    if (st === '*' || pt !== st) return false;
  }
  return p.length === s.length;
}

/**
 * The subjects both patterns match, as one pattern, or null when they share none. Token by token: a literal
 * meets `*` as itself, `>` takes the other side's remaining tokens (at least one).
 * Example: `odin.*.ABC.>` ∩ `odin.token.>` = `odin.token.ABC.>`.
 */
export function intersectSubjects(a: string, b: string): string | null {
  const x = a.split('.');
  const y = b.split('.');
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined && q === undefined) return out.join('.');
    if (p === '>' && q !== undefined) return [...out, ...y.slice(i)].join('.');
    if (q === '>' && p !== undefined) return [...out, ...x.slice(i)].join('.');
    if (p === undefined || q === undefined) return null;
    if (p === '*') out.push(q);
    else if (q === '*' || p === q) out.push(p);
    else return null;
  }
}

/**
 * Consumer filters that together select exactly the stream's messages matching `pattern`. NATS 2.9 takes a
 * filter only when it lies within one of the stream's subjects or (with a wildcard) contains one; a
 * pattern that straddles them (`odin.*.ABC.>` over `odin.token.>` and `odin.global.>`) is read as its
 * intersection with each. No filter: nothing in the stream can match.
 */
export function filtersFor(pattern: string, streamSubjects: readonly string[]): string[] {
  const wildcard = isPattern(pattern);
  if (streamSubjects.some((s) => subjectCovered(pattern, [s]) || (wildcard && subjectCovered(s, [pattern])))) return [pattern];
  const parts = streamSubjects.map((s) => intersectSubjects(pattern, s)).filter((i): i is string => i !== null);
  return [...new Set(parts)];
}

/** Is `channel` (a concrete subject) one the stream stores? */
export function streamStores(channel: string, streamSubjects: readonly string[]): boolean {
  return streamSubjects.some((pattern) => subjectMatches(pattern, channel));
}
