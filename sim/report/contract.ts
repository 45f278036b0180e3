// The lab's machine-readable contract (`--json`): one document per CLI run. Top level: scenario, seed,
// inputs (effective, after --set / --profile host), reportHash; under each gateway profile's name
// (`story`, `ours`) the 'as given' run's attempted / connected / failures / boundBy / timeline; `variants`
// holds each fix's result in the same shape (what-if evidence); `diagnosis` the sentences per run.
//
// reportHash = sha256 (hex) of this same document serialised with `JSON.stringify(doc, null, 2)` with
// the `reportHash` field absent. Only virtual-time data goes in, so it depends on scenario, inputs and
// seed alone, never on the wall clock or the machine.
//
// The scenarios report outcomes in their own words ("EMFILE@connecting", "attempts failed:timeout@upgrading",
// metric "attempt:http-503"); failureKind() maps them to the contract's kinds.
import { createHash } from 'node:crypto';
import type { InputValue, Inputs, RunResult, Scenario } from '../scenarios/scenario.js';
import { failureKind, type Timeline } from './timeline.js';

export { failureKind };

export interface ProfileResult {
  readonly variant: string;
  /** Connection attempts the clients made (first attempts and retries where the scenario counts them). */
  readonly attempted: number;
  /** Peak of concurrently open connections (sessions) on the gateway. */
  readonly connected: number;
  /** Failures per contract kind (ECONNRESET, ETIMEDOUT, ECONNREFUSED, EADDRNOTAVAIL, EMFILE, HTTP_503, HTTP_429, UPGRADE_TIMEOUT, …). */
  readonly failures: Readonly<Record<string, number>>;
  /** Input key of the first limit to bind, or null. */
  readonly boundBy: string | null;
  /** The first binding limit in words, and when (ms virtual), or null. */
  readonly firstLimit: { readonly limit: string; readonly atMs: number; readonly count: number } | null;
  readonly timeline: Timeline | null;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly diagnosis: readonly string[];
}

function add(into: Record<string, number>, kind: string | null, n: number): void {
  if (kind !== null && n > 0) into[kind] = (into[kind] ?? 0) + n;
}

function sorted(m: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k] as number;
  return out;
}

/**
 * Attempt-level counts where the scenario reports them: outcome keys "attempts failed:X", metric keys
 * "attempt:X", "attempt@inst:X" or "attempts X"; null when it reports per-user outcomes only.
 */
function attemptCounts(r: RunResult): Record<string, number> | null {
  const out: Record<string, number> = {};
  let any = false;
  for (const [k, v] of Object.entries(r.metrics)) {
    const m = /^attempts? ?(?:@[^:]*)?:?\s*(.+)$/.exec(k);
    if (m !== null && /^attempt(:|@| )/.test(k)) {
      out[m[1] as string] = (out[m[1] as string] ?? 0) + v;
      any = true;
    }
  }
  if (any) return out;
  for (const [k, v] of Object.entries(r.outcomes)) {
    if (k.startsWith('attempts failed:')) {
      out[k.slice('attempts failed:'.length)] = v;
      any = true;
    }
  }
  return any ? out : null;
}

/** The contract's view of one run. Timeline figures win over derived ones when the scenario records one. */
export function profileResult(r: RunResult): ProfileResult {
  const failures: Record<string, number> = {};
  const attempts = attemptCounts(r);
  const m = r.metrics;
  let attempted: number;
  if (attempts !== null && !Object.keys(r.outcomes).some((k) => k.startsWith('attempts failed:'))) {
    for (const [k, v] of Object.entries(attempts)) add(failures, failureKind(k), v);
    attempted = Object.values(attempts).reduce((s, v) => s + v, 0);
  } else if (attempts !== null) {
    for (const [k, v] of Object.entries(attempts)) add(failures, failureKind(k), v);
    attempted = (m['opened'] ?? 0) + Object.values(attempts).reduce((s, v) => s + v, 0);
  } else {
    for (const [k, v] of Object.entries(r.outcomes)) add(failures, failureKind(k), v);
    attempted = m['connectionsAttempted'] ?? Object.values(r.outcomes).reduce((s, v) => s + v, 0);
  }
  if (m['connectionsAttempted'] !== undefined) attempted = m['connectionsAttempted'];
  const tl = r.timeline ?? null;
  const peakKeys = ['sessionsPeak', 'openPeak', 'connectionsPeak'];
  let connected = -1;
  for (const k of peakKeys) if (m[k] !== undefined && connected < 0) connected = m[k];
  if (tl !== null && tl.length > 0) {
    connected = Math.max(connected, ...tl.map((p) => p.connected));
    const last = tl[tl.length - 1];
    if (last !== undefined && attempted < last.attempts) attempted = last.attempts;
  }
  if (connected < 0) {
    // No peak reported: the connections open at the end (a lower bound on the peak).
    connected = Object.entries(r.outcomes)
      .filter(([k]) => failureKind(k) === null && !k.startsWith('first attempt') && !k.startsWith('attempts'))
      .reduce((s, [, v]) => s + v, 0);
  }
  const first = r.limits[0];
  return {
    variant: r.variant,
    attempted,
    connected,
    failures: sorted(failures),
    boundBy: first === undefined ? null : boundKey(first.limit, r.inputs),
    firstLimit: first === undefined ? null : { limit: first.limit, atMs: first.firstAtMs, count: first.count },
    timeline: tl,
    outcomes: r.outcomes,
    metrics: r.metrics,
    diagnosis: r.diagnosis,
  };
}

/** "gateway.nofile — accept() → EMFILE" → "gateway.nofile"; a limit not named by an input key → null. */
export function boundKey(limit: string, inputs: Inputs): string | null {
  const m = /^([A-Za-z][\w]*(?:\.[\w]+)+)\b/.exec(limit);
  if (m !== null && inputs[m[1] as string] !== undefined) return m[1] as string;
  return null;
}

export function buildDocument(
  s: Scenario,
  seed: string,
  inputs: Inputs,
  results: readonly RunResult[],
  hostInputs: Readonly<Record<string, string>> | null,
): Record<string, unknown> {
  const doc: Record<string, unknown> = { scenario: s.name, title: s.story, seed, inputs: sortedInputs(inputs), hostInputs };
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
  return createHash('sha256').update(JSON.stringify(rest, null, 2)).digest('hex');
}

/** The `--json` output: the document with `reportHash` placed after `seed`/`inputs` at top level. */
export function renderContractJson(s: Scenario, seed: string, inputs: Inputs, results: readonly RunResult[], hostInputs: Readonly<Record<string, string>> | null): string {
  const doc = buildDocument(s, seed, inputs, results, hostInputs);
  const hash = reportHash(doc);
  return `${JSON.stringify({ reportHash: hash, ...doc }, null, 2)}\n`;
}
