// The servers the end-to-end benches compare, each in its own process as users run them: odin
// (`odin serve`, from the sources through tsx, with `--workers N` where a bench asks) and the naive hub
// (benchmarks/fanout/naive-hub-main.ts, POST /publish on the same port). Both report their URL on stdout;
// their memory is read from /proc (resident set of the process and its children), so neither needs to
// cooperate. stop() sends SIGTERM, then SIGKILL after a bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type ServerKind = 'odin' | 'naive';

export interface ServerProcess {
  readonly kind: ServerKind;
  /** WebSocket endpoint to load (odin: ?v=1&batch=1, a client that reads batched frames, as ours does). */
  readonly wsUrl: string;
  /** Base URL for POST /publish. */
  readonly httpUrl: string;
  readonly pid: number;
  /** Resident memory of the server (primary and workers), bytes. */
  rssBytes(): number;
  stop(): Promise<void>;
}

export interface OdinServerOptions {
  readonly workers?: number;
  /** `section.key=value` settings on top of the benches' own (the bench CLI's --odin-set). */
  readonly settings?: readonly string[];
  /** Extra node flags (the heap breakdown takes snapshots on a signal). */
  readonly nodeArgs?: readonly string[];
}

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

/**
 * What every bench sets on odin: the load comes from a few loopback addresses at a rate no real client
 * population has per address, and the ramp saturates the loop for moments — the per-address handshake
 * bucket and the load brake would refuse it (that is their job in production; here they would measure
 * themselves). Everything else stays at its default.
 */
export const ODIN_BENCH_SETTINGS: readonly string[] = [
  'admission.handshakesPerSecond=1000000',
  'admission.handshakeBurst=1000000',
  'admission.perIpMax=1000000',
  'loadBrake.utilizationMax=1',
  'loadBrake.eventLoopDelayMsMax=60000',
];

/** Resident set in bytes of `pid` and every process below it (Linux /proc). */
export function treeRssBytes(pid: number): number {
  let total = 0;
  const visit = (p: number, depth: number): void => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (kb !== null) total += Number(kb[1]) * 1024;
      if (depth > 4) return;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const child of children === '' ? [] : children.split(/\s+/)) visit(Number(child), depth + 1);
    } catch {
      // The process is gone: it holds no memory.
    }
  };
  visit(pid, 0);
  return total;
}

function spawnServer(
  kind: ServerKind,
  args: readonly string[],
  nodeArgs: readonly string[],
  ready: (line: string) => { wsUrl: string; httpUrl: string } | null,
): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], { cwd: repo(''), stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${kind} server did not report its URL within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    function fail(error: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    }
    child.once('exit', (code, signal) => fail(new Error(`${kind} server exited before it listened (code ${code}, signal ${signal})`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      // Keep only the unfinished line: the server's later log lines are not ours to hold.
      const lines = buffer.split('\n');
      buffer = lines.pop()!.slice(-4096);
      if (settled) return;
      for (const line of lines) {
        const urls = ready(line);
        if (urls === null) continue;
        settled = true;
        clearTimeout(timer);
        resolve({
          kind,
          ...urls,
          pid: child.pid!,
          rssBytes: () => treeRssBytes(child.pid!),
          stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
            await exited;
            clearTimeout(killer);
          },
        });
        return;
      }
    });
  });
}

export function startOdin(options: OdinServerOptions = {}): Promise<ServerProcess> {
  const workers = options.workers ?? 1;
  const settings = [...ODIN_BENCH_SETTINGS, ...(options.settings ?? [])].flatMap((s) => ['--set', s]);
  const args = [repo('src/cli.ts'), 'serve', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', '--workers', String(workers), ...settings];
  const pattern = workers > 1 ? /cluster of \d+ workers listening on (\S+) \(WebSocket (\S+)\)/ : /"msg":"listening on (\S+) \(WebSocket (\S+)\)"/;
  return spawnServer('odin', args, options.nodeArgs ?? [], (line) => {
    const m = pattern.exec(line);
    return m === null ? null : { httpUrl: m[1]!, wsUrl: `${m[2]!}?v=1&batch=1` };
  });
}

export function startNaive(nodeArgs: readonly string[] = []): Promise<ServerProcess> {
  return spawnServer('naive', [repo('benchmarks/fanout/naive-hub-main.ts')], nodeArgs, (line) => {
    if (!line.startsWith('{"listening"')) return null;
    const m = JSON.parse(line) as { listening: string; http: string };
    return { wsUrl: m.listening, httpUrl: m.http };
  });
}

export function startServerOf(kind: ServerKind, odin: OdinServerOptions = {}): Promise<ServerProcess> {
  return kind === 'odin' ? startOdin(odin) : startNaive();
}
