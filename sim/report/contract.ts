// The lab's machine-readable contract (`--json`): one document per CLI run. Top level: scenario, seed,
// inputs (effective, after --set / --profile host), reportHash; under each gateway profile's name
// (`story`, `ours`) the 'as given' run's attempted / connected / failures / boundBy / timeline; `variants`
// holds each fix's result in the same shape (what-if evidence); `diagnosis` the sentences per run.
//
// reportHash = sha256 (hex) of this same document serialised with `JSON.stringify(doc, null, 2)` with
// the `reportHash` field absent. Only virtual-time data goes in, so it depends on scenario, inputs and
// seed alone, never on the wall clock or the machine.
//
// Attempts, users and the peak come typed from the scenario runner (sim/scenarios/define.ts); the first
// limit names its input key. `changed` lists the inputs a --set moved off the story's values (old → new),
// `verdict` the report's first screen (sim/report/verdict.ts).
import { createHash } from 'node:crypto';
import type { InputValue, Inputs, RunResult, Scenario, Tally } from '../scenarios/scenario.js';
import { failureKind, type Timeline } from './timeline.js';
import { changedInputs, verdictLines } from './verdict.js';

export { failureKind };

export interface ProfileResult {
  readonly variant: string;
  /** Connection attempts the clients made (first attempts and retries where the scenario counts them). */
  readonly attempted: number;
  /** Peak of concurrently open connections (sessions) on the gateway. */
  readonly connected: number;
  /** Failed attempts (or connections cut later) per contract kind (ECONNRESET, ETIMEDOUT, EMFILE, HTTP_503, HTTP_429, UPGRADE_TIMEOUT, …). */
  readonly failures: Readonly<Record<string, number>>;
  /** Each user's final outcome by kind ("ok": connected at the end), where the scenario tracks users. */
  readonly users: Tally | null;
  /** Input key of the first limit to bind, or null. */
  readonly boundBy: string | null;
  /** The first binding limit in words, and when (ms virtual), or null. */
  readonly firstLimit: { readonly limit: string; readonly atMs: number; readonly count: number } | null;
  readonly timeline: Timeline | null;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly diagnosis: readonly string[];
}

/** The contract's view of one run: the runner's typed tallies, nothing inferred from labels. */
export function profileResult(r: RunResult): ProfileResult {
  const first = r.limits[0];
  return {
    variant: r.variant,
    attempted: r.attempts.total,
    connected: r.peakConnected,
    failures: r.attempts.failures,
    users: r.users,
    boundBy: first === undefined ? null : first.key,
    firstLimit: first === undefined ? null : { limit: first.limit, atMs: first.firstAtMs, count: first.count },
    timeline: r.timeline ?? null,
    outcomes: r.outcomes,
    metrics: r.metrics,
    diagnosis: r.diagnosis,
  };
}

export function buildDocument(
  s: Scenario,
  seed: string,
  inputs: Inputs,
  results: readonly RunResult[],
  hostInputs: Readonly<Record<string, string>> | null,
): Record<string, unknown> {
  const changed = changedInputs(s.defaults, inputs);
  const doc: Record<string, unknown> = { scenario: s.name, title: s.story, seed, inputs: sortedInputs(inputs), changed, hostInputs };
  doc['verdict'] = verdictLines(s, results, changed);
  const variants: Record<string, Record<string, ProfileResult>> = {};
  const diagnosis: Record<string, readonly string[]> = {};
  for (const r of results) {
    const p = profileResult(r);
    if (r.variant === 'as given' && doc[r.gateway] === undefined) doc[r.gateway] = p;
    else (variants[r.variant] ??= {})[r.gateway] = p;
    diagnosis[`${r.gateway} · ${r.variant}`] = r.diagnosis;
  }
  doc['variants'] = variants;
  doc['diagnosis'] = diagnosis;
  return doc;
}

function sortedInputs(inputs: Inputs): Record<string, InputValue> {
  const out: Record<string, InputValue> = {};
  for (const k of Object.keys(inputs).sort()) out[k] = inputs[k] as InputValue;
  return out;
}

/** sha256 hex of the document's canonical text without `reportHash`. */
export function reportHash(doc: Readonly<Record<string, unknown>>): string {
  const { reportHash: _omit, ...rest } = doc;
  return createHash('sha256')
    .update(JSON.stringify(rest, null, 2))
    .digest('hex');
}

/** The `--json` output: the document with `reportHash` placed after `seed`/`inputs` at top level. */
export function renderContractJson(
  s: Scenario,
  seed: string,
  inputs: Inputs,
  results: readonly RunResult[],
  hostInputs: Readonly<Record<string, string>> | null,
): string {
  const doc = buildDocument(s, seed, inputs, results, hostInputs);
  const hash = reportHash(doc);
  return `${JSON.stringify({ reportHash: hash, ...doc }, null, 2)}\n`;
}
