// The report's prose against its figures, for every registered scenario and every variant it runs
// (docs/lab.md, "Reading a report"): the verdict fits one screen, every number in it is one of the runs'
// figures (or a difference of two), sentences that deny something are checked against the counts, and
// any sentence about failures or refusals says whether it counts attempts or users. Runs are shrunk with
// --set so the file stays within its time budget; the checker itself is tested on a contradiction.
import { describe, expect, it } from 'vitest';
import { runSelection } from '../../sim/cli.js';
import { renderText } from '../../sim/report/text.js';
import {
  CANDIDATE,
  changedInputs,
  countMatches,
  failedPct,
  failedTotal,
  fmt,
  symptomCount,
  symptomOut,
  unexplainedWindows,
  VERDICT_LINES_MAX,
  verdictLines,
  windowText,
} from '../../sim/report/verdict.js';
import { scenarios } from '../../sim/scenarios/index.js';
import { applySets, type RunResult, type Scenario } from '../../sim/scenarios/scenario.js';

/** Per scenario: --set arguments that shrink every variant's run while keeping its limits binding. */
const SHRINK: Readonly<Record<string, readonly string[]>> = {
  'mac-4500': ['load.connections=500', 'gateway.nofile=400', 'robots.nofile=400', 'load.bettingAtMs=20000'],
  'loadgen-ports': ['load.connections=300'],
  'scale-100k': ['load.connections=500', 'feed.broadcasts=2'],
  'cloudrun-512mb': ['load.connections=2300'],
  'syn-backlog': ['load.connections=800'],
  'docker-nofile-1024': ['load.connections=1500'],
  // Full size: the early windows the story's explanation leaves (0–60 s, 60–80 s) and the candidates ranked
  // by them need the ramp past the memory limit (about 15 s of CPU).
  'memory-7gb': [],
  'slow-clients': ['load.connections=30', 'feed.durationMs=4000'],
  'broker-outage': ['load.connections=100'],
  'rolling-restart': ['load.connections=200', 'load.sourceAddresses=5'],
  'windows-hub': ['load.connections=100'],
};

function rounded(x: number): number[] {
  return [x, Math.round(x * 100) / 100, Math.round(x * 1000) / 1000, Math.round(x)];
}

/** Every figure a sentence may quote: inputs, metrics, tallies, limits (count, seconds), claim numbers. */
function figures(s: Scenario, results: readonly RunResult[]): Set<number> {
  const f = new Set<number>([0, 5, 25]);
  const add = (x: number): void => rounded(x).forEach((v) => f.add(v));
  for (const r of s.claim.atConnections ?? []) add(r);
  for (const w of s.claim.windows ?? []) [w.fromS, w.toS, w.failedPct].forEach(add);
  for (const v of Object.values(s.defaults)) if (typeof v === 'number') add(v);
  const tallies: number[] = [];
  for (const r of results) {
    for (const v of Object.values(r.inputs)) if (typeof v === 'number') add(v);
    for (const v of Object.values(r.metrics)) add(v);
    for (const t of [r.attempts, r.users]) {
      if (t === null) continue;
      add(t.total);
      add(t.ok);
      add(t.total - t.ok);
      for (const v of Object.values(t.failures)) add(v);
      add(failedTotal(t));
      tallies.push(failedTotal(t));
    }
    add(r.peakConnected);
    tallies.push(r.peakConnected);
    for (const w of r.windows ?? []) [w.started, w.failed, failedPct(w)].forEach(add);
    for (const l of r.limits) {
      add(l.count);
      f.add(Number((l.firstAtMs / 1000).toFixed(3)));
    }
  }
  // Deltas between runs (the side-by-side table and "what fixes it").
  for (const a of tallies) for (const b of tallies) add(Math.abs(a - b));
  return f;
}

/** Numbers in a line, after removing names that contain digits (scenario, variants, kinds, HTTP codes, claim text). */
function numbersIn(line: string, s: Scenario, results: readonly RunResult[]): number[] {
  // A ranked list's ordinal ("  2. …") is no figure.
  let t = line.replace(/^ {2}\d+\. /, ' ');
  const names = [
    s.claim.reported,
    s.claim.explanation,
    s.name,
    ...results.map((r) => r.variant),
    // A candidate's line names it without the "candidate: " prefix.
    ...results.filter((r) => r.variant.startsWith(CANDIDATE)).map((r) => r.variant.slice(CANDIDATE.length)),
    ...results.flatMap((r) => r.limits.map((l) => l.limit)),
    // The verdict quotes a limit without its "key — " prefix.
    ...results.flatMap((r) => r.limits.map((l) => (l.key === null ? l.limit : l.limit.slice(`${l.key} — `.length)))),
  ];
  for (const n of names.sort((a, b) => b.length - a.length)) t = t.split(n).join(' ');
  t = t
    .replace(/HTTP \d{3}/g, ' ')
    .replace(/\b\d{3} \+ Retry-After/g, ' ')
    .replace(/\b[A-Z][A-Z0-9_]*\b/g, ' ')
    .replace(/[\w.]*[a-z]\d+[\w.]*/gi, ' ');
  return [...t.matchAll(/\d[\d,]*(?:\.\d+)?/g)].map((m) => Number(m[0].replace(/,/g, '')));
}

interface Violation {
  readonly run: string;
  readonly sentence: string;
  readonly why: string;
}

/** Sentences that deny or assert a count, checked against the run's own tallies. */
export function contradictions(r: RunResult): Violation[] {
  const out: Violation[] = [];
  const f = r.attempts.failures;
  const refused = (f['HTTP_503'] ?? 0) + (f['HTTP_429'] ?? 0);
  const run = `${r.gateway} · ${r.variant}`;
  for (const d of r.diagnosis) {
    if (/No handshake was refused/.test(d) && refused > 0) out.push({ run, sentence: d, why: `${refused} attempts got HTTP 503/429` });
    const every = /Every one of the (\d+) clients was admitted/.exec(d);
    if (every !== null && (refused > 0 || (r.users !== null && r.users.ok !== Number(every[1])))) {
      out.push({ run, sentence: d, why: `${refused} attempts refused; users connected ${r.users?.ok}` });
    }
    if (/No (robot|client)( socket)? (read|saw) ECONNRESET/.test(d) && (f['ECONNRESET'] ?? 0) > 0)
      out.push({ run, sentence: d, why: `${f['ECONNRESET']} attempts ECONNRESET` });
  }
  return out;
}

function verdictViolations(s: Scenario, results: readonly RunResult[], lines: readonly string[]): string[] {
  const bad: string[] = [];
  const fig = figures(s, results);
  for (const line of lines) {
    for (const n of numbersIn(line, s, results)) if (!fig.has(n)) bad.push(`number ${n} is no figure of the runs: ${line}`);
    // The story's own words are quoted as they were reported; every sentence of the lab's names its unit.
    const quoted = line.startsWith('Reported:') || line.startsWith('Must hold:');
    if (!quoted && /\b(failed|refused|got HTTP|ended that way|not connected)\b/.test(line) && !/\b(attempts|users|handshakes)\b/.test(line))
      bad.push(`neither attempts nor users named: ${line}`);
  }
  const main = results.find((r) => r.variant === 'as given' && r.gateway === 'story') ?? results.find((r) => r.variant === 'as given');
  if (main !== undefined) {
    const failed = failedTotal(main.attempts);
    const what = lines.find((l) => l.startsWith('What happened'));
    if (what === undefined) bad.push('no "What happened" line');
    else if (
      failed === 0
        ? !what.includes('none of')
        : !what.includes(`${failed.toLocaleString('en-US')} of ${main.attempts.total.toLocaleString('en-US')} connection attempts`)
    ) {
      bad.push(`"What happened" does not state ${failed} of ${main.attempts.total} attempts: ${what}`);
    }
    const sym = lines.find((l) => l.startsWith('Symptom'));
    if (sym !== undefined) {
      const n = s.claim.symptomKinds.reduce((acc, k) => acc + (main.attempts.failures[k] ?? 0), 0);
      if (/not seen/.test(sym) !== (n === 0)) bad.push(`symptom line says ${/not seen/.test(sym) ? 'not seen' : 'seen'} but ${n} attempts: ${sym}`);
    }
  }
  bad.push(...candidateViolations(s, results, lines));
  return bad;
}

/**
 * Each candidate line against its own run: a plateau candidate states that run's peak and whether it lies in
 * the reported range; a candidate for a symptom with a kind states its count of that kind, or that there was none.
 */
function candidateViolations(s: Scenario, results: readonly RunResult[], lines: readonly string[]): string[] {
  const bad: string[] = [];
  const c = s.claim;
  const story = results.find((r) => r.gateway === 'story' && r.variant === 'as given');
  const early = story === undefined ? [] : unexplainedWindows(story, c);
  const byWindow = story !== undefined && symptomOut(story, c) && early.length > 0;
  if (early.length > 0) {
    const line = lines.find((l) => l.startsWith('Not accounted for:'));
    const stated = early.map((w) => `${fmt(w.lab.failed)} of ${fmt(w.lab.started)}`).join(' and ');
    if (line === undefined) bad.push('windows the story saw failing, none failing as given, and no "Not accounted for" line');
    else if (!line.includes(`${stated} attempts started there`)) bad.push(`"Not accounted for" does not state ${stated}: ${line}`);
  }
  for (const r of results.filter((x) => x.gateway === 'story' && x.variant.startsWith(CANDIDATE))) {
    const name = r.variant.slice(CANDIDATE.length);
    const line = lines.find((l) => /^ {2}\d+\. /.test(l) && l.includes(`${name}: `));
    if (line === undefined) {
      if (!lines.some((l) => l.includes('more verdict lines'))) bad.push(`candidate ${name} is not in the verdict`);
      continue;
    }
    if (byWindow) {
      // Each window the explanation leaves: this run's own attempts started there and how many did not complete.
      for (const w of early) {
        const t = r.windows?.find((x) => x.fromS === w.reported.fromS) ?? { started: 0, failed: 0 };
        const want = `${windowText(w.reported)} ${fmt(t.failed)} of ${fmt(t.started)} attempts did not complete`;
        if (!line.includes(want)) bad.push(`candidate line does not state "${want}": ${line}`);
      }
    } else if (c.symptomKinds.length === 0) {
      if (!line.includes(`peak ${fmt(r.peakConnected)} connected`)) bad.push(`candidate line does not state its peak ${r.peakConnected}: ${line}`);
      if (c.atConnections !== undefined && line.includes('(matches') !== countMatches(r.peakConnected, c.atConnections))
        bad.push(`candidate line's match disagrees with peak ${r.peakConnected}: ${line}`);
    } else {
      const n = symptomCount(r, c).attempts;
      if (n === 0 ? !line.includes(`no ${c.symptomKinds.join('/')}`) : !line.includes(`in ${fmt(n)} attempts`))
        bad.push(`candidate line does not state its ${n} symptom attempts: ${line}`);
    }
  }
  return bad;
}

describe('report prose against its figures', () => {
  it('every registered scenario has a shrink entry (a new scenario must be added here)', () => {
    expect(Object.keys(SHRINK).sort()).toEqual(scenarios.map((s) => s.name).sort());
  });

  it('the checker catches a contradiction: "No handshake was refused." beside 4,203 HTTP 429s', () => {
    const r = {
      gateway: 'ours',
      variant: 'as given',
      diagnosis: ['No handshake was refused.', 'Every one of the 12148 clients was admitted; memory peaked at 1 MiB.'],
      attempts: { total: 14_351, ok: 10_000, failures: { HTTP_429: 4_203, HTTP_503: 2_148 } },
      users: { total: 12_148, ok: 10_000, failures: { NOT_CONNECTED: 2_148 } },
    } as unknown as RunResult;
    expect(contradictions(r).map((v) => v.why)).toEqual(['6351 attempts got HTTP 503/429', '6351 attempts refused; users connected 10000']);
  });

  it('the checker catches a candidate line that misstates its run: another peak, a match that is not one', () => {
    const s = { claim: { symptomKinds: [], atConnections: [8_651, 8_651] } } as unknown as Scenario;
    const r = { gateway: 'story', variant: `${CANDIDATE}the load tool's table`, peakConnected: 1_019 } as unknown as RunResult;
    const line = "  1. the load tool's table: peak 8,651 connected (matches 8,651).";
    expect(candidateViolations(s, [r], [line])).toHaveLength(2);
    expect(candidateViolations(s, [r], ["  1. the load tool's table: peak 1,019 connected (outside 8,651)."])).toEqual([]);
  });

  it('the checker catches window lines that misstate their runs: a candidate\'s window count, a missing "Not accounted for"', () => {
    const s = { claim: { symptomKinds: ['UPGRADE_TIMEOUT'], windows: [{ fromS: 0, toS: 60, failedPct: 1 }] } } as unknown as Scenario;
    const story = {
      gateway: 'story',
      variant: 'as given',
      peakConnected: 90,
      users: null,
      attempts: { total: 100, ok: 90, failures: { UPGRADE_TIMEOUT: 10 } },
      windows: [
        { fromS: 0, toS: 60, started: 60, failed: 0 },
        { fromS: 60, toS: null, started: 40, failed: 10 },
      ],
    } as unknown as RunResult;
    const cand = { gateway: 'story', variant: `${CANDIDATE}a smaller queue`, windows: [{ fromS: 0, toS: 60, started: 60, failed: 3 }] } as unknown as RunResult;
    const said = 'Not accounted for: the story saw attempts fail in 0–60 s (1 %); as given, 0 of 60 attempts started there did not complete.';
    const right = '  1. a smaller queue: 0–60 s 3 of 60 attempts did not complete (5 %); in all 3 of 100 connection attempts failed or were cut.';
    expect(candidateViolations(s, [story, cand], [said, right])).toEqual([]);
    expect(candidateViolations(s, [story, cand], [said, right.replace('3 of 60', '0 of 60')])).toHaveLength(1);
    expect(candidateViolations(s, [story, cand], [right])).toHaveLength(1);
  });

  for (const s of scenarios) {
    it(`${s.name}: every variant — the verdict fits one screen, its numbers are the runs' figures, no sentence contradicts a count`, () => {
      const inputs = applySets(s.defaults, SHRINK[s.name] ?? []);
      const results = runSelection(s, inputs, '3', undefined, 'all');
      const changed = changedInputs(s.defaults, inputs);
      const lines = verdictLines(s, results, changed);
      expect(lines.length).toBeLessThanOrEqual(VERDICT_LINES_MAX);
      expect(lines[0]).toBe(`VERDICT — ${s.name}`);
      // What-ifs are marked: every --set key appears as old → new.
      for (const [k, c] of Object.entries(changed)) expect(lines[1]).toContain(`${k} ${String(c.from)} → ${String(c.to)}`);
      if (s.claim.own !== true) expect(lines.some((l) => l.startsWith("The story's explanation"))).toBe(true);
      if (s.gateways.includes('ours') && s.gateways.includes('story')) expect(lines.some((l) => l.startsWith('Ours, same load'))).toBe(true);
      expect(verdictViolations(s, results, lines)).toEqual([]);
      expect(results.flatMap(contradictions)).toEqual([]);
      // The text report opens with the same verdict.
      const text = renderText(s, results, changed).split('\n');
      expect(text.slice(0, lines.length)).toEqual(lines);
    }, 120_000);
  }
});
