// The report's first screen: what happened, why, what fixes it, whether the story's own explanation holds,
// and what ours did and why — every number taken from the runs' typed results (sim/scenarios/define.ts),
// never typed into a sentence. Attempts (a retrying client makes several) and users are always named.
// test/sim/report-consistency.test.ts checks every sentence against the figures, for every scenario.
import type { Inputs, InputValue, ReportedWindow, RunResult, Scenario, StoryClaim, Tally, WindowTally } from '../scenarios/scenario.js';
import { isMechanismInput } from '../scenarios/inputs/mechanisms.js';

/** An input a --set (or --profile host) moved off the story's value. */
export interface Changed {
  readonly from: InputValue;
  readonly to: InputValue;
}

/** Inputs whose effective value differs from the scenario's default, keys sorted. */
export function changedInputs(defaults: Inputs, effective: Inputs): Record<string, Changed> {
  const out: Record<string, Changed> = {};
  for (const k of Object.keys(effective).sort()) {
    const from = defaults[k];
    const to = effective[k];
    if (from !== undefined && to !== undefined && from !== to) out[k] = { from, to };
    // A mechanism input (scenarios/inputs/mechanisms.ts) has no default: set at all, it is a change.
    else if (from === undefined && to !== undefined && isMechanismInput(k)) out[k] = { from: '(unset)', to };
  }
  return out;
}

/** Variant-name prefix of a candidate mechanism's run (`StoryClaim.candidates`). */
export const CANDIDATE = 'candidate: ';

/** The first screen must fit here (docs/lab.md, "Reading a report"). */
export const VERDICT_LINES_MAX = 25;
/** A reported count matches the lab's peak within this share (stories give round or single figures). */
export const COUNT_TOLERANCE = 0.05;

export const fmt = (x: number): string => (Number.isInteger(x) ? x.toLocaleString('en-US') : String(Math.round(x * 100) / 100));
const sec = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;

export function failedTotal(t: Tally): number {
  return Object.values(t.failures).reduce((s, v) => s + v, 0);
}

function kinds(f: Readonly<Record<string, number>>, only?: readonly string[]): string {
  const parts = Object.entries(f)
    .filter(([k, v]) => v > 0 && (only === undefined || only.includes(k)))
    .map(([k, v]) => `${k} ${fmt(v)}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** "3,200 of 4,500 connection attempts failed or were cut (EMFILE 407, …)". */
function attemptsSentence(r: RunResult): string {
  const failed = failedTotal(r.attempts);
  if (failed === 0) return `none of ${fmt(r.attempts.total)} connection attempts failed`;
  return `${fmt(failed)} of ${fmt(r.attempts.total)} connection attempts failed or were cut (${kinds(r.attempts.failures)})`;
}

function usersSentence(r: RunResult): string | null {
  if (r.users === null) return null;
  const notOk = r.users.total - r.users.ok;
  return `users at the end: ${fmt(r.users.ok)} of ${fmt(r.users.total)} connected${notOk === 0 ? '' : `, ${fmt(notOk)} not (${kinds(r.users.failures)})`}`;
}

/** Count of the symptom's kinds in a run: attempts, and users where tracked. */
export function symptomCount(r: RunResult, claim: StoryClaim): { attempts: number; users: number | null } {
  const sum = (f: Readonly<Record<string, number>>): number => claim.symptomKinds.reduce((s, k) => s + (f[k] ?? 0), 0);
  return { attempts: sum(r.attempts.failures), users: r.users === null ? null : sum(r.users.failures) };
}

export function countMatches(peak: number, range: readonly [number, number]): boolean {
  return peak >= range[0] * (1 - COUNT_TOLERANCE) && peak <= range[1] * (1 + COUNT_TOLERANCE);
}

/** Whether the claimed symptom comes out of a run: its kinds appear, and the peak matches the reported count. */
export function symptomOut(r: RunResult, claim: StoryClaim): boolean {
  const kindsOk = claim.symptomKinds.length === 0 || symptomCount(r, claim).attempts > 0;
  const countOk = claim.atConnections === undefined || countMatches(r.peakConnected, claim.atConnections);
  return kindsOk && countOk;
}

/** A reported window and the run's tally of the attempts started in it. */
export interface WindowPair {
  readonly reported: ReportedWindow;
  readonly lab: WindowTally;
}

/** The run's window that starts where a reported one does (the run's last window runs to the end). */
function labWindow(r: RunResult, w: ReportedWindow): WindowTally | undefined {
  return r.windows?.find((x) => x.fromS === w.fromS && (x.toS === w.toS || x.toS === null));
}

/** Windows where the story saw failures and the run failed none of the attempts started in them. */
export function unexplainedWindows(r: RunResult, claim: StoryClaim): WindowPair[] {
  const out: WindowPair[] = [];
  for (const reported of claim.windows ?? []) {
    const lab = labWindow(r, reported);
    if (lab !== undefined && reported.failedPct > 0 && lab.started > 0 && lab.failed === 0) out.push({ reported, lab });
  }
  return out;
}

/** The as-given run calls for the candidates: the symptom did not come out, or reported failures did not. */
export function wantsCandidates(r: RunResult, claim: StoryClaim): boolean {
  return !symptomOut(r, claim) || unexplainedWindows(r, claim).length > 0;
}

export const windowText = (w: ReportedWindow): string => `${w.fromS}–${w.toS} s`;
/** Failed share of the attempts started in a window, in percent. */
export const failedPct = (w: WindowTally): number => (w.started === 0 ? 0 : (100 * w.failed) / w.started);

function rangeText(range: readonly [number, number]): string {
  return range[0] === range[1] ? fmt(range[0]) : `${fmt(range[0])}–${fmt(range[1])}`;
}

function limitSentence(r: RunResult): string {
  const [first, second] = r.limits;
  if (first === undefined) return 'no modelled limit bound';
  const next = second === undefined ? '' : `; next ${second.key ?? '(not an input)'} at ${sec(second.firstAtMs)} (×${fmt(second.count)})`;
  const prefix = `${first.key} — `;
  const what = first.key !== null && first.limit.startsWith(prefix) ? first.limit.slice(prefix.length) : first.limit;
  return `first limit ${first.key ?? '(not an input)'} at ${sec(first.firstAtMs)}: ${what} (×${fmt(first.count)})${next}`;
}

/** What a variant changes against the as-given run: peak, failed attempts, and the metrics that moved most. */
export function deltas(base: RunResult, v: RunResult, metricsMax = 2): string[] {
  const out: string[] = [];
  if (v.peakConnected !== base.peakConnected) out.push(`peak connected ${fmt(base.peakConnected)} → ${fmt(v.peakConnected)}`);
  const fb = failedTotal(base.attempts);
  const fv = failedTotal(v.attempts);
  if (fb !== fv) out.push(`failed attempts ${fmt(fb)} → ${fmt(fv)}`);
  const moved: [string, number, number, number][] = [];
  for (const [k, b] of Object.entries(base.metrics)) {
    const x = v.metrics[k];
    if (x === undefined || x === b) continue;
    if (base.inputs[k] !== undefined) continue;
    const rel = Math.abs(x - b) / Math.max(Math.abs(b), Math.abs(x), 1e-9);
    if (rel >= 0.1) moved.push([k, b, x, rel]);
  }
  moved.sort((a, b) => b[3] - a[3] || (a[0] < b[0] ? -1 : 1));
  for (const [k, b, x] of moved.slice(0, metricsMax)) out.push(`${k} ${fmt(b)} → ${fmt(x)}`);
  return out;
}

/** Why a refusal of ours is intended, by contract kind. */
const OURS_INTENDED: Readonly<Record<string, string>> = {
  HTTP_503:
    'intended: over capacity ours answers 503 + Retry-After before the upgrade, so admitted sessions keep their descriptors and memory instead of everyone failing at the wall',
  HTTP_429:
    'intended: the per-IP handshake rate protects against one address flooding the gateway; a load test from one box is one address, a real audience is many',
};

function oursLines(results: readonly RunResult[]): string[] {
  const ours = results.find((r) => r.gateway === 'ours' && r.variant === 'as given');
  if (ours === undefined) return [];
  const lines: string[] = [];
  const refused = (ours.attempts.failures['HTTP_503'] ?? 0) + (ours.attempts.failures['HTTP_429'] ?? 0);
  lines.push(`Ours, same load: peak ${fmt(ours.peakConnected)} connected; ${attemptsSentence(ours)}.`);
  const u = usersSentence(ours);
  if (u !== null) lines.push(`  ${u}.`);
  if (refused > 0) {
    for (const kind of ['HTTP_503', 'HTTP_429']) {
      const n = ours.attempts.failures[kind] ?? 0;
      if (n === 0) continue;
      const lim = ours.limits.find((l) => l.limit.includes(kind === 'HTTP_503' ? '503' : '429'));
      lines.push(
        `  ${fmt(n)} attempts got ${kind.replace('_', ' ')}${lim === undefined ? '' : ` from ${lim.key ?? 'our admission'}`} — ${OURS_INTENDED[kind]}.`,
      );
    }
  }
  const oneBox = results.find((r) => r.gateway === 'ours' && r.variant.startsWith('ours:'));
  if (oneBox !== undefined) {
    lines.push(`  Ours as ${oneBox.variant.slice('ours:'.length).trim()}: peak ${fmt(oneBox.peakConnected)} connected; ${attemptsSentence(oneBox)}.`);
  }
  return lines;
}

/** The story's claim checked against the as-given run and the fixes that change a blamed input. */
function explanationLines(s: Scenario, story: RunResult, results: readonly RunResult[]): string[] {
  const c = s.claim;
  const lines: string[] = [];
  const sc = symptomCount(story, c);
  if (c.symptomKinds.length > 0) {
    const u = sc.users === null ? '' : `, ${fmt(sc.users)} users`;
    lines.push(
      sc.attempts === 0
        ? `Symptom ${c.symptomKinds.join('/')}: not seen — 0 attempts${sc.users === null ? '' : ', 0 users'} ended that way.`
        : `Symptom ${c.symptomKinds.join('/')}: seen — ${fmt(sc.attempts)} attempts${u} ended that way.`,
    );
  }
  if (c.atConnections !== undefined) {
    const ok = countMatches(story.peakConnected, c.atConnections);
    lines.push(
      `Count: the story reported ${rangeText(c.atConnections)} connected; the lab's peak is ${fmt(story.peakConnected)} — ${ok ? 'matches' : 'does not match'} (±${COUNT_TOLERANCE * 100} %).`,
    );
  }
  const out = symptomOut(story, c);
  const first = story.limits[0];
  const blamedBinds = first !== undefined && first.key !== null && c.blamed.includes(first.key);
  const fixes = results.filter(
    (r) =>
      r.gateway === 'story' &&
      r.variant !== 'as given' &&
      !r.variant.startsWith(CANDIDATE) &&
      Object.keys(variantOverrides(s, r.variant)).some((k) => c.blamed.includes(k)),
  );
  const fixNote = fixes.length === 0 ? '' : ` Changing it (${fixes.map((r) => `${r.variant}: peak ${fmt(r.peakConnected)}`).join('; ')}).`;
  const firstName = first === undefined ? 'none of the modelled ones' : (first.key ?? `"${first.limit}" (no input sets it)`);
  let verdict: string;
  if (out && blamedBinds) verdict = `holds — the symptom comes out and the first limit is ${first?.key}, which the story blamed.`;
  else if (!out && blamedBinds) verdict = `does not hold — ${first?.key} binds first, as blamed, but the reported symptom does not come out of it.`;
  else if (out) verdict = `does not hold — the symptom comes out, but the first limit is ${firstName}, not ${c.blamed.join(' or ')}.`;
  else verdict = `does not hold — the symptom does not come out, and the first limit is ${firstName}.`;
  lines.push(`The story's explanation (${c.explanation}) ${verdict}${fixNote}`);
  const early = unexplainedWindows(story, c);
  if (early.length > 0) {
    const seen = early.map((w) => `${windowText(w.reported)} (${fmt(w.reported.failedPct)} %)`).join(', ');
    const lab = early.map((w) => `${fmt(w.lab.failed)} of ${fmt(w.lab.started)}`).join(' and ');
    lines.push(`Not accounted for: the story saw attempts fail in ${seen}; as given, ${lab} attempts started there did not complete.`);
  }
  return lines;
}

function variantOverrides(s: Scenario, name: string): Inputs {
  return s.variants[name] ?? s.claim.candidates?.[name.startsWith(CANDIDATE) ? name.slice(CANDIDATE.length) : name] ?? {};
}

/** Connected (as the timeline sampled it) when the first symptom appeared, or null when it never did. */
function connectedAtFirstSymptom(r: RunResult, claim: StoryClaim): number | null {
  for (const p of r.timeline ?? []) if (claim.symptomKinds.some((k) => (p.failures[k] ?? 0) > 0)) return p.connected;
  return null;
}

/**
 * Candidate mechanisms, best match first. A symptom with a kind (resets, timeouts): the kind, then the count
 * it first appears at against the reported one. A plateau (no kind, a count): how close each peak comes.
 */
function candidateLines(s: Scenario, story: RunResult, results: readonly RunResult[]): string[] {
  const c = s.claim;
  const runs = results.filter((r) => r.gateway === 'story' && r.variant.startsWith(CANDIDATE));
  if (runs.length === 0) return [];
  const early = unexplainedWindows(story, c);
  if (symptomOut(story, c) && early.length > 0) return windowCandidateLines(runs, early);
  const plateau = c.symptomKinds.length === 0;
  const mid = c.atConnections === undefined ? null : (c.atConnections[0] + c.atConnections[1]) / 2;
  const scored = runs.map((r) => {
    const n = plateau ? 0 : symptomCount(r, c).attempts;
    const at = plateau ? r.peakConnected : connectedAtFirstSymptom(r, c);
    const inRange = at !== null && c.atConnections !== undefined && countMatches(at, c.atConnections);
    const distance = at === null || mid === null ? Infinity : Math.abs(at - mid);
    // Without the symptom's kind, the next best is a mechanism that ends more connections (another kind).
    return { r, n, at, inRange, key: [n > 0 || plateau ? 0 : 1, inRange ? 0 : 1, distance, -failedTotal(r.attempts)] as const };
  });
  scored.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2] || a.key[3] - b.key[3] || (a.r.variant < b.r.variant ? -1 : 1));
  const lines = [
    plateau
      ? `Candidates that would produce it (each switched on by an input; ranked by how close their peak comes to the reported count):`
      : `Candidates that would produce it (each switched on by an input; ranked by the symptom's kind, the count it appears at, then connections ended):`,
  ];
  scored.forEach((x, i) => {
    const name = x.r.variant.slice(CANDIDATE.length);
    const range = c.atConnections === undefined ? '' : ` (${x.inRange ? 'matches' : 'outside'} ${rangeText(c.atConnections)})`;
    const what = plateau
      ? `peak ${fmt(x.r.peakConnected)} connected${range}; ${attemptsSentence(x.r)}`
      : x.n === 0
        ? `no ${c.symptomKinds.join('/')} — ${attemptsSentence(x.r)}${x.r.users === null ? '' : `; ${usersSentence(x.r)}`}`
        : `${c.symptomKinds.join('/')} in ${fmt(x.n)} attempts, first at ${fmt(x.at ?? 0)} connected${range}`;
    lines.push(`  ${i + 1}. ${name}: ${what}.`);
  });
  return lines;
}

/**
 * Candidates for failures the explanation leaves in some windows: ranked by whether they fail attempts
 * there at all, then by how far their failure shares there are from the reported ones, then connections ended.
 */
function windowCandidateLines(runs: readonly RunResult[], early: readonly WindowPair[]): string[] {
  const scored = runs.map((r) => {
    const tallies = early.map((w) => labWindow(r, w.reported) ?? { ...w.lab, started: 0, failed: 0 });
    const failing = tallies.some((t) => t.failed > 0);
    const distance = tallies.reduce((d, t, i) => d + Math.abs(failedPct(t) - (early[i] as WindowPair).reported.failedPct), 0);
    return { r, tallies, key: [failing ? 0 : 1, distance, -failedTotal(r.attempts)] as const };
  });
  scored.sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2] || (a.r.variant < b.r.variant ? -1 : 1));
  const lines = [
    `Candidates for those windows (each switched on by an input; ranked by how close the share of attempts that do not complete there comes to the reported one, then connections ended):`,
  ];
  scored.forEach((x, i) => {
    const shares = x.tallies
      .map(
        (t, k) => `${windowText((early[k] as WindowPair).reported)} ${fmt(t.failed)} of ${fmt(t.started)} attempts did not complete (${fmt(failedPct(t))} %)`,
      )
      .join(', ');
    lines.push(`  ${i + 1}. ${x.r.variant.slice(CANDIDATE.length)}: ${shares}; in all ${attemptsSentence(x.r)}.`);
  });
  if (scored.every((x) => x.key[0] === 1))
    lines.push('  None of them leaves attempts incomplete in those windows: their cause lies outside what the lab models here.');
  return lines;
}

/** Best fix: the story variant with the highest peak, then the fewest failed attempts; null when none helps. */
function bestFix(story: RunResult, results: readonly RunResult[]): RunResult | null {
  let best: RunResult | null = null;
  for (const r of results) {
    if (r.gateway !== story.gateway || r.variant === 'as given' || r.variant.startsWith('ours:') || r.variant.startsWith(CANDIDATE)) continue;
    const better = r.peakConnected > story.peakConnected || (r.peakConnected === story.peakConnected && failedTotal(r.attempts) < failedTotal(story.attempts));
    if (!better) continue;
    if (
      best === null ||
      r.peakConnected > best.peakConnected ||
      (r.peakConnected === best.peakConnected && failedTotal(r.attempts) < failedTotal(best.attempts))
    )
      best = r;
  }
  return best;
}

/** The verdict lines (≤ VERDICT_LINES_MAX). `changed`: inputs moved off the story's values by --set. */
export function verdictLines(s: Scenario, results: readonly RunResult[], changed: Readonly<Record<string, Changed>>): string[] {
  const lines: string[] = [];
  lines.push(`VERDICT — ${s.name}`);
  const ch = Object.entries(changed);
  if (ch.length > 0)
    lines.push(
      `What-if: ${ch.map(([k, c]) => `${k} ${String(c.from)} → ${String(c.to)}`).join(', ')} (changed from the story's inputs; the figures below are for these).`,
    );
  lines.push(`${s.claim.own === true ? 'Must hold' : 'Reported'}: ${s.claim.reported}.`);
  // The story's server as given; with --variant NAME, that fix's run (the verdict then speaks of it).
  const main =
    results.find((r) => r.variant === 'as given' && r.gateway === 'story') ??
    results.find((r) => r.variant === 'as given') ??
    results.find((r) => r.gateway === 'story') ??
    results[0];
  if (main === undefined) return lines;
  const who = `${main.gateway === 'story' ? "story's server" : 'our gateway'}, ${main.variant}`;
  lines.push(`What happened (${who}): peak ${fmt(main.peakConnected)} connected at once; ${attemptsSentence(main)}.`);
  const u = usersSentence(main);
  if (u !== null) lines.push(`  ${u}.`);
  lines.push(`Why: ${limitSentence(main)}.`);
  const best = bestFix(main, results);
  const fixes = results.filter(
    (r) => r.gateway === main.gateway && r.variant !== 'as given' && !r.variant.startsWith('ours:') && !r.variant.startsWith(CANDIDATE),
  );
  if (fixes.length > 0) {
    lines.push(
      `What fixes it: ${best === null ? 'none of the variants raises the peak or cuts failed attempts' : `${best.variant} (${deltas(main, best).join(', ')})`}.`,
    );
    for (const r of fixes) {
      if (r === best) continue;
      const d = deltas(main, r);
      lines.push(`  ${r.variant}: ${d.length === 0 ? 'changes nothing measured' : d.join(', ')}.`);
    }
  }
  if (s.claim.own === true) {
    const d = main.diagnosis[0];
    if (d !== undefined) lines.push(`Result: ${d}`);
  } else if (main.gateway === 'story' && main.variant === 'as given') lines.push(...explanationLines(s, main, results), ...candidateLines(s, main, results));
  lines.push(...oursLines(results));
  if (lines.length > VERDICT_LINES_MAX) {
    const cut = lines.length - (VERDICT_LINES_MAX - 1);
    return [...lines.slice(0, VERDICT_LINES_MAX - 1), `(${cut} more verdict lines: see the details)`];
  }
  return lines;
}
