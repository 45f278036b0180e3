// (b) Who receives a publish: ChannelIndex.forEachMatch (exact map + token trie) vs a linear scan that
// calls subjectMatches on every subscription, over 10k and 100k subscriptions.
//
// The subscription mix is what a token dashboard produces: 80% exact channels (odin.token.T17.trade),
// 10% one-token wildcards (odin.token.T17.*), 9% tail wildcards (odin.token.T17.>) and 1% broad ones
// (odin.token.*.trade, odin.global.>). Tokens = subscriptions / 10, so a channel has a handful of
// subscribers plus the broad ones — the work per publish is dominated by finding them, not visiting them.
import { ChannelIndex } from '../src/core/channel-index.js';
import { isPattern, subjectMatches } from '../src/core/protocol.js';
import { seeded } from './lib/fakes.js';
import { check, comparisonTable, machine, runPairs, type BenchModule, type BenchReport, type PairSpec, type RunOptions } from './lib/report.js';

const KINDS = ['trade', 'book', 'stats'] as const;

interface Sub {
  readonly id: number;
  readonly subject: string;
}

export interface MatchSetup {
  readonly subscriptions: number;
  readonly subs: readonly Sub[];
  readonly index: ChannelIndex<Sub>;
  /** Concrete channels published to, in rotation. */
  readonly channels: readonly string[];
  /** Average matches per publish over the rotation. */
  readonly matchesPerPublish: number;
  naive(): number;
  ours(): number;
}

function subjectFor(i: number, tokens: number, r: () => number): string {
  const token = `T${Math.floor(r() * tokens)}`;
  const kind = KINDS[Math.floor(r() * KINDS.length)]!;
  const roll = (i * 7919) % 100; // deterministic mix, spread over the id range
  if (roll < 80) return `odin.token.${token}.${kind}`;
  if (roll < 90) return `odin.token.${token}.*`;
  if (roll < 99) return `odin.token.${token}.>`;
  return roll % 2 === 0 ? `odin.token.*.${kind}` : 'odin.global.>';
}

export function setup(subscriptions: number): MatchSetup {
  const random = seeded(42);
  const r = (): number => random.next();
  const tokens = Math.max(1, Math.floor(subscriptions / 10));
  const subs: Sub[] = [];
  const index = new ChannelIndex<Sub>();
  for (let i = 0; i < subscriptions; i++) {
    const sub = { id: i, subject: subjectFor(i, tokens, r) };
    subs.push(sub);
    index.add(sub.subject, sub, isPattern(sub.subject));
  }
  const channels: string[] = [];
  for (let i = 0; i < 1_024; i++) {
    channels.push(i % 16 === 0 ? 'odin.global.trending' : `odin.token.T${Math.floor(r() * tokens)}.${KINDS[i % KINDS.length]!}`);
  }
  let sink = 0;
  const visit = (sub: Sub): void => {
    sink += sub.id;
  };
  let nextNaive = 0;
  let nextOurs = 0;
  let total = 0;
  for (const channel of channels) index.forEachMatch(channel, () => total++);
  return {
    subscriptions,
    subs,
    index,
    channels,
    matchesPerPublish: total / channels.length,
    naive() {
      const channel = channels[nextNaive++ & 1023]!;
      for (let i = 0; i < subs.length; i++) {
        const sub = subs[i]!;
        if (subjectMatches(sub.subject, channel)) visit(sub);
      }
      return sink;
    },
    ours() {
      const channel = channels[nextOurs++ & 1023]!;
      index.forEachMatch(channel, visit);
      return sink;
    },
  };
}

/**
 * The index finds exactly the subscriptions the linear scan finds, for `sample` channels of the rotation
 * (the scan over 100k subscriptions is the slow side: all 1,024 channels would take half a minute).
 */
export function validate(s: MatchSetup, sample = 64): void {
  const step = Math.max(1, Math.floor(s.channels.length / sample));
  for (let i = 0; i < s.channels.length; i += step) {
    const channel = s.channels[i]!;
    const expected = s.subs
      .filter((sub) => subjectMatches(sub.subject, channel))
      .map((sub) => sub.id)
      .sort((a, b) => a - b);
    const got: number[] = [];
    s.index.forEachMatch(channel, (sub) => got.push(sub.id));
    got.sort((a, b) => a - b);
    check(
      got.length === expected.length && got.every((id, i) => id === expected[i]),
      `index and scan disagree on ${channel}: ${got.length} vs ${expected.length}`,
    );
  }
  check(s.matchesPerPublish > 0, 'the rotation matches some subscriptions');
}

export const bench: BenchModule = {
  name: 'match',
  title: 'Subscription matching: ChannelIndex vs linear scan',
  async run(options: RunOptions): Promise<BenchReport> {
    const started = performance.now();
    const sizes = options.quick ? [1_000] : [10_000, 100_000];
    const pairs: PairSpec[] = [];
    const notes: string[] = [];
    for (const n of sizes) {
      const s = setup(n);
      validate(s);
      notes.push(`${n} subscriptions: ${s.matchesPerPublish.toFixed(1)} matches per publish on average`);
      pairs.push({
        label: `${n / 1000}k subs`,
        itemsPerIteration: 1,
        itemName: 'publish',
        baseline: { name: 'naive: scan all + subjectMatches', fn: s.naive },
        ours: { name: 'odin: ChannelIndex.forEachMatch', fn: s.ours },
      });
    }
    const comparisons = await runPairs(pairs, options);
    options.print(comparisonTable(comparisons));
    return {
      name: 'match',
      title: this.title,
      baselineIs: 'an array of subscriptions; every publish calls subjectMatches(pattern, channel) on each',
      oursIs: 'ChannelIndex: exact subscribers from a Map, patterns from a token trie (O(tokens) per publish, plus the matches)',
      machine: machine(),
      comparisons,
      notes: ['mix: 80% exact, 10% `T.*`, 9% `T.>`, 1% broad (`odin.token.*.kind`, `odin.global.>`); one publish in 16 goes to odin.global.trending', ...notes],
      durationMs: Math.round(performance.now() - started),
    };
  },
};
