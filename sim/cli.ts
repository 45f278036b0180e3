// `npm run sim -- --scenario NAME [--seed S] [--set key=value]… [--gateway story|ours|both (default: all it has)]
//                 [--variant NAME|all] [--json|--html [FILE]] [--inputs] [--list]`
//   --html FILE writes the HTML report (sim/report/html.ts) to FILE and prints the text report; bare --html prints it.
//
// Runs under the determinism guard, so a stray wall-clock read or Math.random fails loudly. The report
// goes to stdout and depends only on scenario, inputs and seed; the wall time goes to stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import { runGuarded } from './engine/determinism-guard.js';
import { exploreMain, wantsExplore } from './explore/cli.js';
import { renderHtml } from './report/html.js';
import { renderJson, renderText } from './report/text.js';
import { findScenario, scenarios } from './scenarios/index.js';
import { applySets, type GatewayKind, type RunResult } from './scenarios/scenario.js';

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
}

function parse(argv: readonly string[]): Args {
  const a: Args = { seed: '1', sets: [], variant: 'all', format: 'text', inputs: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--scenario':
        a.scenario = value();
        break;
      case '--seed':
        a.seed = value();
        break;
      case '--set':
        a.sets.push(value());
        break;
      case '--gateway': {
        const g = value();
        if (g !== 'story' && g !== 'ours' && g !== 'both') throw new Error('--gateway story|ours|both');
        a.gateway = g;
        break;
      }
      case '--variant':
        a.variant = value();
        break;
      case '--json':
        a.format = 'json';
        break;
      case '--html': {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('--')) a.htmlFile = value();
        else a.format = 'html';
        break;
      }
      case '--inputs':
        a.inputs = true;
        break;
      case '--list':
        a.list = true;
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
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
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    io.err(`sim: ${(e as Error).message}\n`);
    return 2;
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
  let inputs;
  try {
    inputs = applySets(s.defaults, args.sets);
  } catch (e) {
    io.err(`sim: ${(e as Error).message}\n`);
    return 2;
  }
  if (args.inputs) {
    io.out(`${JSON.stringify(inputs, null, 2)}\n`);
    return 0;
  }
  // "both" and the default run what the scenario has; naming one it lacks is an error.
  const gateways: GatewayKind[] = args.gateway === undefined || args.gateway === 'both' ? [...s.gateways] : [args.gateway];
  const variantNames = args.variant === 'all' ? ['as given', ...Object.keys(s.variants)] : [args.variant];
  const results: RunResult[] = [];
  const t0 = io.wallMs();
  try {
    for (const g of gateways) {
      if (!s.gateways.includes(g)) {
        io.err(`sim: ${s.name} has no "${g}" gateway yet\n`);
        return 2;
      }
      const names = g === 'ours' && args.variant === 'all' ? ['as given', ...(s.oursVariants ?? [])] : variantNames;
      for (const v of names) {
        const overrides = v === 'as given' ? {} : s.variants[v];
        if (overrides === undefined) {
          io.err(`sim: unknown variant ${JSON.stringify(v)}; variants: ${Object.keys(s.variants).join(', ')}\n`);
          return 2;
        }
        const vin = { ...inputs, ...overrides };
        results.push(runGuarded(() => s.run(vin, args.seed, g, v)));
      }
    }
  } catch (e) {
    io.err(`sim: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
  const wall = io.wallMs() - t0;
  const events = results.reduce((n, r) => n + r.events, 0);
  if (args.htmlFile !== undefined) writeFileSync(args.htmlFile, renderHtml(s, results));
  io.out(args.format === 'json' ? renderJson(s, results) : args.format === 'html' ? renderHtml(s, results) : renderText(s, results));
  io.err(`sim: ${results.length} run(s), ${events} events in ${(wall / 1000).toFixed(2)} s wall\n`);
  return 0;
}

// Run directly: `npx tsx sim/cli.ts --scenario mac-4500`.
if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
