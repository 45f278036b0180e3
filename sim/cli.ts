// `npm run sim -- --scenario NAME [--seed S] [--set key=value]… [--gateway story|ours|both (default: all it has)]
//                 [--variant NAME|all] [--json|--html [FILE]] [--inputs] [--list]`
//   --html FILE writes the HTML report (sim/report/html.ts) to FILE and prints the text report; bare --html prints it.
//
// Runs under the determinism guard, so a stray wall-clock read or Math.random fails loudly. The report
// goes to stdout and depends only on scenario, inputs and seed; the wall time goes to stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFdLimit, readMemoryLimit } from '../src/server/resources.js';
import { runGuarded } from './engine/determinism-guard.js';
import { exploreMain, wantsExplore } from './explore/cli.js';
import { parityMain, wantsParity } from './parity/cli.js';
import { renderHtml } from './report/html.js';
import { renderContractJson } from './report/contract.js';
import { renderText } from './report/text.js';
import { CANDIDATE, changedInputs, wantsCandidates } from './report/verdict.js';
import { meaningOf } from './scenarios/inputs/meanings.js';
import { validateInputs } from './scenarios/define.js';
import { findScenario, scenarios } from './scenarios/index.js';
import { applySets, type GatewayKind, type InputValue, type Inputs, type RunResult, type Scenario } from './scenarios/scenario.js';

export const USAGE = `usage: npm run sim -- --scenario NAME [options]
  --scenario NAME        the scenario to run (--list shows them)
  --seed N               seed for every random stream (default 1); same seed, same bytes
  --set key=value        override one input (repeatable); unknown keys are an error — see --inputs
  --gateway G            story | ours | both (default: every gateway the scenario has)
  --variant NAME|all     'as given' or one fix by name (default all: as given, then each fix = what-if evidence)
  --json                 one JSON document on stdout: scenario, seed, inputs, reportHash, story/ours
                         {attempted, connected, failures, boundBy, timeline}, variants, diagnosis
  --html                 an HTML page with the report on stdout
  --inputs               list every input key with its effective value and its meaning, then exit
  --profile host         take this machine's limits (open files, somaxconn, SYN backlog, syncookies,
                         port range, tw_reuse, cgroup memory, cores) as the scenario's inputs; says which
  --list                 list the scenarios
  --explore | --replay   the explorer (its own flags: docs/lab.md)
  --parity               the parity suite: each mechanism for real in a namespace and in the lab (--parity --help)
  --help                 this text
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Wall-clock milliseconds, read outside the guarded run only (speed report). */
  wallMs(): number;
}

interface Args {
  scenario?: string;
  seed: string;
  sets: string[];
  /** Absent: every gateway the scenario has (the story's and ours, where both exist). */
  gateway?: 'story' | 'ours' | 'both';
  variant: string;
  format: 'text' | 'json' | 'html';
  /** `--html FILE`: where the HTML report goes (stdout keeps the text or JSON report). */
  htmlFile?: string;
  inputs: boolean;
  list: boolean;
  help: boolean;
  profile?: 'host';
}

const OPTIONS = {
  scenario: { type: 'string' },
  seed: { type: 'string', default: '1' },
  set: { type: 'string', multiple: true, default: [] as string[] },
  gateway: { type: 'string' },
  variant: { type: 'string', default: 'all' },
  json: { type: 'boolean', default: false },
  html: { type: 'string' },
  inputs: { type: 'boolean', default: false },
  list: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  profile: { type: 'string' },
} satisfies ParseArgsConfig['options'];

/** `--html` alone means "HTML on stdout"; parseArgs has no optional values, so it becomes `--html=-`. */
const TO_STDOUT = '-';

function parse(argv: readonly string[]): Args {
  const normalised = argv.map((arg, i) => (arg === '--html' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')) ? `--html=${TO_STDOUT}` : arg));
  const { values: v } = parseArgs({ args: normalised, options: OPTIONS, strict: true, allowPositionals: false });
  const gateway = v.gateway;
  if (gateway !== undefined && gateway !== 'story' && gateway !== 'ours' && gateway !== 'both') throw new Error('--gateway story|ours|both');
  if (v.profile !== undefined && v.profile !== 'host') throw new Error("--profile host (the only profile: this machine's limits)");
  const a: Args = {
    seed: v.seed,
    sets: v.set,
    variant: v.variant,
    format: v.json ? 'json' : v.html === TO_STDOUT ? 'html' : 'text',
    inputs: v.inputs,
    list: v.list,
    help: v.help,
  };
  if (v.scenario !== undefined) a.scenario = v.scenario;
  if (gateway !== undefined) a.gateway = gateway;
  if (v.html !== undefined && v.html !== TO_STDOUT) a.htmlFile = v.html;
  if (v.profile !== undefined) a.profile = 'host';
  return a;
}

/**
 * The real process's streams and clock. WALL CLOCK ON PURPOSE: read only before and after the guarded
 * runs, to report speed on stderr; never part of a report.
 */
export function processIo(): CliIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    wallMs: () => performance.now(),
  };
}

/** Returns the process exit code. `odin sim` (src/cli.ts) calls this with argv only. */
export function main(argv: readonly string[], io: CliIo = processIo()): number {
  // The explorer (`--explore`, `--replay SEED`) has its own flags: sim/explore/cli.ts, docs/lab.md.
  if (wantsExplore(argv)) return exploreMain(argv, { ...io, readText: (path) => readFileSync(path, 'utf8') });
  // The parity suite (`--parity`): real kernel vs lab, sim/parity/cli.ts, docs/lab.md.
  if (wantsParity(argv)) return parityMain(argv, io);
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    io.err(`sim: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  if (args.list) {
    for (const s of scenarios) io.out(`${s.name.padEnd(20)} ${s.story}\n`);
    return 0;
  }
  const s = args.scenario === undefined ? undefined : findScenario(args.scenario);
  if (s === undefined) {
    io.err(`sim: --scenario must be one of: ${scenarios.map((x) => x.name).join(', ')}\n`);
    return 2;
  }
  let inputs: Inputs;
  let hostInputs: Record<string, string> | null = null;
  try {
    let base = s.defaults;
    if (args.profile === 'host') {
      const host = hostProfile(s.defaults, readHost());
      base = { ...s.defaults, ...host.values };
      hostInputs = host.from;
      for (const [k, from] of Object.entries(host.from)) io.err(`sim: --profile host: ${k} = ${String(host.values[k])} (${from})\n`);
      if (Object.keys(host.from).length === 0) io.err(`sim: --profile host: no input of ${s.name} maps to a host limit that could be read\n`);
    }
    // --set wins over the host's values (what-if on this machine).
    inputs = validateInputs(s.schema, applySets(base, args.sets));
  } catch (e) {
    io.err(`sim: ${(e as Error).message}\n`);
    return 2;
  }
  if (args.inputs) {
    io.out(renderInputs(inputs, hostInputs));
    return 0;
  }
  const results: RunResult[] = [];
  const t0 = io.wallMs();
  try {
    results.push(...runSelection(s, inputs, args.seed, args.gateway, args.variant));
  } catch (e) {
    const usage = e instanceof SelectionError;
    io.err(usage ? `sim: ${e.message}\n` : `sim: ${(e as Error).stack ?? String(e)}\n`);
    return usage ? 2 : 1;
  }
  const wall = io.wallMs() - t0;
  const events = results.reduce((n, r) => n + r.events, 0);
  const changed = changedInputs(s.defaults, inputs);
  if (args.htmlFile !== undefined) writeFileSync(args.htmlFile, renderHtml(s, results, changed));
  io.out(
    args.format === 'json'
      ? renderContractJson(s, args.seed, inputs, results, hostInputs)
      : args.format === 'html'
        ? renderHtml(s, results, changed)
        : renderText(s, results, changed),
  );
  io.err(`sim: ${results.length} run(s), ${events} events in ${(wall / 1000).toFixed(2)} s wall\n`);
  return 0;
}

/** A --gateway or --variant the scenario does not have (exit 2, not a crash). */
class SelectionError extends Error {}

/**
 * The runs a report holds, each under the determinism guard: per gateway (default: every one the scenario
 * has) 'as given' and then each fix. Ours gets its own fixes (`oursVariants`); the story's server skips
 * fixes named "ours: …", which set our options only.
 */
export function runSelection(s: Scenario, inputs: Inputs, seed: string, gateway: 'story' | 'ours' | 'both' | undefined, variant: string): RunResult[] {
  const gateways: GatewayKind[] = gateway === undefined || gateway === 'both' ? [...s.gateways] : [gateway];
  const variantNames = variant === 'all' ? ['as given', ...Object.keys(s.variants)] : [variant];
  const results: RunResult[] = [];
  for (const g of gateways) {
    if (!s.gateways.includes(g)) throw new SelectionError(`${s.name} has no "${g}" gateway yet`);
    const names =
      variant !== 'all' ? variantNames : g === 'ours' ? ['as given', ...(s.oursVariants ?? [])] : variantNames.filter((v) => !v.startsWith('ours:'));
    for (const v of names) {
      const overrides = v === 'as given' ? {} : s.variants[v];
      if (overrides === undefined) throw new SelectionError(`unknown variant ${JSON.stringify(v)}; variants: ${Object.keys(s.variants).join(', ')}`);
      const vin = { ...inputs, ...overrides };
      results.push(runGuarded(() => s.run(vin, seed, g, v)));
    }
    // The story's symptom (or failures it reported in some windows) did not come out as given: run the
    // mechanisms that would produce it (ranked in the verdict).
    const asGiven = results.find((r) => r.gateway === g && r.variant === 'as given');
    if (g === 'story' && variant === 'all' && asGiven !== undefined && wantsCandidates(asGiven, s.claim)) {
      for (const [name, overrides] of Object.entries(s.claim.candidates ?? {})) {
        const vin = { ...inputs, ...overrides };
        results.push(runGuarded(() => s.run(vin, seed, g, `${CANDIDATE}${name}`)));
      }
    }
  }
  return results;
}

/** `--inputs`: one line per key — key, value, meaning (and where a host value came from). */
export function renderInputs(inputs: Inputs, hostInputs: Readonly<Record<string, string>> | null): string {
  const keys = Object.keys(inputs).sort();
  const w = Math.max(...keys.map((k) => k.length));
  const vw = Math.max(...keys.map((k) => JSON.stringify(inputs[k]).length));
  const lines = keys.map((k) => {
    const host = hostInputs?.[k];
    return `${k.padEnd(w)}  ${JSON.stringify(inputs[k]).padEnd(vw)}  ${meaningOf(k) ?? '(no meaning written)'}${host === undefined ? '' : ` [from host: ${host}]`}`;
  });
  return `${lines.join('\n')}\n`;
}

/** What this machine's limits are, each with the file or call it came from; absent when unreadable. */
export interface HostLimits {
  nofileSoft?: number;
  nofileHard?: number;
  somaxconn?: number;
  synBacklog?: number;
  syncookies?: number;
  portRange?: string;
  twReuse?: number;
  memoryMiB?: number;
  cores?: number;
  sources: Record<string, string>;
}

/**
 * Reads this host's limits from the same sources as `odin doctor` (src/server/resources.ts for RLIMIT_NOFILE
 * and the cgroup memory limit, /proc/sys for the network sysctls). I/O: only here, outside the guarded run.
 */
export function readHost(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): HostLimits {
  const h: HostLimits = { sources: {} };
  const sysctl = (path: string): string | undefined => {
    try {
      return read(path).trim();
    } catch {
      return undefined;
    }
  };
  try {
    const fd = readFdLimit();
    if (fd.soft !== null) {
      h.nofileSoft = fd.soft;
      h.sources['nofileSoft'] = '/proc/self/limits Max open files (soft)';
    }
    if (fd.hard !== null) {
      h.nofileHard = fd.hard;
      h.sources['nofileHard'] = '/proc/self/limits Max open files (hard)';
    }
  } catch {
    // not Linux: leave the scenario's values
  }
  const numAt = (field: 'somaxconn' | 'synBacklog' | 'syncookies' | 'twReuse', path: string): void => {
    const v = sysctl(path);
    if (v !== undefined && /^\d+$/.test(v)) {
      h[field] = Number(v);
      h.sources[field] = path;
    }
  };
  numAt('somaxconn', '/proc/sys/net/core/somaxconn');
  numAt('synBacklog', '/proc/sys/net/ipv4/tcp_max_syn_backlog');
  numAt('syncookies', '/proc/sys/net/ipv4/tcp_syncookies');
  numAt('twReuse', '/proc/sys/net/ipv4/tcp_tw_reuse');
  const range = sysctl('/proc/sys/net/ipv4/ip_local_port_range');
  const m = range === undefined ? null : /^(\d+)\s+(\d+)$/.exec(range);
  if (m !== null) {
    h.portRange = `${m[1]}-${m[2]}`;
    h.sources['portRange'] = '/proc/sys/net/ipv4/ip_local_port_range';
  }
  try {
    const mem = readMemoryLimit();
    if (mem.bytes !== null) {
      h.memoryMiB = Math.floor(mem.bytes / 1024 ** 2);
      h.sources['memoryMiB'] = mem.source;
    }
  } catch {
    // no cgroup: no container limit
  }
  h.cores = availableParallelism();
  h.sources['cores'] = 'os.availableParallelism()';
  return h;
}

/** Which scenario input each host limit sets (a scenario gets only the keys it has). */
const HOST_KEYS: readonly [keyof Omit<HostLimits, 'sources'>, readonly string[]][] = [
  ['nofileSoft', ['gateway.nofile', 'robots.nofile']],
  ['nofileHard', ['gateway.nofileHard', 'robots.nofileHard']],
  ['somaxconn', ['host.somaxconn']],
  ['synBacklog', ['host.synBacklog']],
  ['syncookies', ['host.syncookies']],
  ['portRange', ['loadgen.portRange']],
  ['twReuse', ['loadgen.twReuse']],
  ['memoryMiB', ['container.memoryMiB']],
  ['cores', ['host.cores']],
];

/** Maps host limits onto a scenario's contract keys (same type as the scenario's default, else skipped). */
export function hostProfile(defaults: Inputs, host: HostLimits): { values: Record<string, InputValue>; from: Record<string, string> } {
  const values: Record<string, InputValue> = {};
  const from: Record<string, string> = {};
  for (const [field, keys] of HOST_KEYS) {
    const v = host[field];
    if (v === undefined) continue;
    for (const key of keys) {
      if (defaults[key] === undefined || typeof defaults[key] !== typeof v) continue;
      values[key] = v;
      from[key] = host.sources[field] ?? 'host';
    }
  }
  return { values, from };
}

// Run directly: `npx tsx sim/cli.ts --scenario mac-4500`.
if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
