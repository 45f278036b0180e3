// The packages as a user gets them: `npm pack` of the server, the client and the React binding, installed
// in fresh directories outside the repository (under the system's temporary directory). The client
// installs with nothing but `ws`, the README's example runs in plain Node against a real gateway, and a
// TypeScript consumer compiles under --strict; the server installs with --omit=dev (no TypeScript loader
// or compiler there) and `npx odin serve` serves.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/server.js';
import { publish, serve } from '../e2e/support.js';
import { installedTree, installInFreshDir, packAll, repoRoot, run, type Packed } from './npm.js';

const INSTALL_TIMEOUT_MS = 120_000;
const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const manifest = (name: string): { version: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> } =>
  JSON.parse(readFileSync(join(repoRoot, name, 'package.json'), 'utf8')) as never;

let work: string;
let packs: Map<string, Packed>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'odin-packages-'));
  packs = await packAll(work);
}, INSTALL_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function pack(name: string): Packed {
  const packed = packs.get(name);
  if (packed === undefined) throw new Error(`npm pack made no ${name} (made: ${[...packs.keys()].join(', ')})`);
  return packed;
}

describe('what npm pack puts in each package', () => {
  it('the server: the compiled CLI, no TypeScript, no client, no laboratory', () => {
    const { files } = pack('odin-gateway');
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/odin.mjs',
        'dist/cli.js',
        'dist/server/server.js',
        'dist/server/doctor.js',
        'dist/adapters/transport-ws.js',
        'README.md',
        'package.json',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') || /^(src|sim|test|benchmarks|properties|packages|dist\/client)\//.test(f))).toEqual([]);
    const deps = Object.keys(manifest('.').dependencies ?? {});
    expect(deps.filter((d) => ['tsx', 'typescript', 'esbuild', 'vitest'].includes(d))).toEqual([]);
  });

  it('the client: its dist (bundles, maps, declarations) and README; ws is its only dependency', () => {
    const { files } = pack('@odin-gateway/client');
    expect(files.filter((f) => !f.startsWith('dist/'))).toEqual(['README.md', 'package.json']);
    for (const bundle of ['node.js', 'browser.js', 'odin-client.esm.js', 'odin-client.global.js']) {
      expect(files).toContain(`dist/${bundle}`);
      expect(files).toContain(`dist/${bundle}.map`);
    }
    expect(files).toContain('dist/types/client/index.d.ts');
    expect(Object.keys(manifest('packages/client').dependencies ?? {})).toEqual(['ws']);
  });

  it('the React binding: depends on the client, takes React as a peer', () => {
    const { files } = pack('@odin-gateway/react');
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/types/index.d.ts', 'package.json']));
    const react = manifest('packages/react');
    expect(react.dependencies).toEqual({ '@odin-gateway/client': manifest('packages/client').version });
    expect(Object.keys(react.peerDependencies ?? {})).toEqual(['react']);
  });
});

describe('the client installed from its tarball', () => {
  let app: string;
  let gateway: RunningServer | undefined;

  beforeAll(async () => {
    app = join(work, 'client-app');
    await installInFreshDir(app, [pack('@odin-gateway/client').filename]);
  }, INSTALL_TIMEOUT_MS);
  afterAll(async () => {
    await gateway?.close();
  });

  it('pulls in nothing but ws', async () => {
    expect(await installedTree(app)).toEqual(['@odin-gateway/client', 'ws']);
  });

  it("runs the README's example in plain Node against a real gateway", async () => {
    gateway = await serve();
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const example = /```js\n(import \{ connect \} from '@odin-gateway\/client';[\s\S]*?)```/.exec(readme)?.[1];
    expect(example, "README.md's client example (a js block importing @odin-gateway/client)").toBeDefined();
    expect(example).toContain("'ws://localhost:8080/ws'");
    writeFileSync(join(app, 'example.mjs'), example!.replace('ws://localhost:8080/ws', gateway.wsUrl));
    const child = spawn(process.execPath, ['example.mjs'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // Published until it arrives: the example subscribes once connected, and events before that are not its.
      for (const deadline = Date.now() + 15_000; !output.includes('{ price: 42.5 }');) {
        if (Date.now() > deadline) throw new Error(`the example printed no event within 15 s; its output: ${output}`);
        await publish(gateway, 'odin.token.ABC.trade', { price: 42.5 });
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(output).toMatch(/^\d+ \{ price: 42\.5 \}$/m);
    } finally {
      child.kill();
    }
  });

  // Two tsc runs over an installed package: seconds on a quiet machine, far more on a busy one.
  it('type-checks a consumer under tsc --strict, and rejects a misuse', { timeout: 90_000 }, async () => {
    const consumer = [
      "import { connect, type EventMeta, type GapInfo, type OdinClient, type Position, type RecoveryFailure } from '@odin-gateway/client';",
      "const client: OdinClient = connect('ws://localhost:8080/ws', { reconnect: { baseMs: 500, capMs: 30_000 }, onStateChange: (state) => console.log(state) });",
      "const sub = client.subscribe('odin.token.ABC.trade', {",
      '  onEvent: (data: unknown, meta: EventMeta) => console.log(meta.offset, meta.prev, data),',
      '  onGap: (channel: string, gap: GapInfo) => console.warn(channel, gap.from, gap.to, gap.reason),',
      '  onReset: (channel: string, reason: RecoveryFailure) => console.warn(channel, reason),',
      '});',
      "const where: Position | undefined = client.position('odin.token.ABC.trade');",
      'console.log(where?.epoch, sub.active, client.counters.eventsDelivered);',
      'client.close();',
      '',
    ].join('\n');
    writeFileSync(join(app, 'consumer.ts'), consumer);
    // As typed (no tsconfig: the defaults read the package's `types` field), and as a Node ESM project would.
    await run(process.execPath, [tsc, '--strict', '--noEmit', 'consumer.ts'], app);
    await run(
      process.execPath,
      [tsc, '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', 'consumer.ts'],
      app,
    );
    // The declarations are really read: a wrong option type is an error.
    writeFileSync(join(app, 'misuse.ts'), "import { connect } from '@odin-gateway/client';\nconnect('ws://x', { reconnect: { baseMs: 'soon' } });\n");
    await expect(
      run(process.execPath, [tsc, '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'misuse.ts'], app),
    ).rejects.toThrow(/misuse\.ts\(2,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });
});

describe('the server installed from its tarball with --omit=dev', () => {
  let app: string;

  beforeAll(async () => {
    app = join(work, 'server-app');
    await installInFreshDir(app, [pack('odin-gateway').filename], ['--omit=dev']);
  }, INSTALL_TIMEOUT_MS);

  it('has no TypeScript loader, compiler or test tool installed', () => {
    for (const tool of ['tsx', 'typescript', 'esbuild', 'vitest', 'playwright-core']) expect(existsSync(join(app, 'node_modules', tool)), tool).toBe(false);
    expect(existsSync(join(app, 'node_modules', '.bin', 'odin'))).toBe(true);
  });

  it('answers npx odin --version, and npx odin serve answers /health until SIGTERM drains it', async () => {
    const { stdout } = await run('npx', ['--no-install', 'odin', '--version'], app);
    expect(stdout).toBe(`${manifest('.').version}\n`);
    const server = spawn('npx', ['--no-install', 'odin', 'serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: app,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    server.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    server.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<void>((resolve) => server.on('close', () => resolve()));
    try {
      for (const deadline = Date.now() + 20_000; !/listening on (http:\/\/\S+)/.test(log);) {
        if (Date.now() > deadline) throw new Error(`no "listening on" within 20 s: ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /listening on (http:\/\/\S+)/.exec(log)![1]!;
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', service: 'odin', version: manifest('.').version });
    } finally {
      process.kill(-server.pid!, 'SIGTERM'); // npx and the odin it started: their own process group
    }
    await exited;
    expect(log).toContain('drained; stopped');
  });
});
