// Real NATS servers for the integration tests, three ways, and the output says which one ran:
//   testcontainers — a container runtime answers (Docker on a laptop; here Podman set up by
//                    scripts/podman-setup.sh, whose .testcontainers.env this file reads when the variables
//                    are not already set). Image from ODIN_NATS_IMAGE (default: the official nats image).
//   process        — no runtime: `nats-server -a 127.0.0.1 -p -1 -js -sd <tmp>`, port read from its log.
//                    Also for servers with a custom config (auth tests) and for clusters.
//   NATS_URL       — an external server, for tests that need no control over it.
// Servers can be stopped and started again on the same port with their JetStream store intact, or killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export type NatsPath = 'testcontainers' | 'process' | 'NATS_URL';

export interface NatsServer {
  readonly path: NatsPath;
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  /** Credentials clients must present (the NATS Testcontainers module always sets a user). */
  readonly auth: { readonly user?: string; readonly password?: string };
  /** Stops the server; start() brings it back on the same port with the same store. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGKILL: no lame-duck, no flush. */
  kill(): Promise<void>;
  /** Stops and removes everything. */
  close(): Promise<void>;
}

export interface NatsOptions {
  /** The test stops/starts the server: never an external one. */
  readonly controllable?: boolean;
  /** A nats-server config file's text (authorization, TLS…): always the process path. */
  readonly config?: string;
  /** false: a server without JetStream (a start-up error test); always the process path. */
  readonly jetstream?: boolean;
}

const READY_TIMEOUT_MS = 10_000;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function say(message: string): void {
  process.stdout.write(`[nats-fixture] ${message}\n`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Waits until JetStream answers on `url` (a restarted server accepts connections before that). */
export async function waitForJetStream(url: string, auth: NatsServer['auth'] = {}, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const nc = await connect({ servers: url, timeout: 1_000, reconnect: false, ...(auth.user ? { user: auth.user, pass: auth.password } : {}) });
      try {
        await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`JetStream at ${url} not ready within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

// ---- container runtime ----------------------------------------------------------------------------

/** Applies .testcontainers.env (written by scripts/podman-setup.sh) for variables not already set. */
function loadContainerEnv(): void {
  const file = join(repoRoot, '.testcontainers.env');
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match && process.env[match[1]!] === undefined) process.env[match[1]!] = match[2]!;
  }
}

let runtime: Promise<string | null> | null = null;

/** Why there is no usable container runtime, or null when there is one. Asked once per process. */
function containerRuntimeProblem(): Promise<string | null> {
  runtime ??= (async () => {
    loadContainerEnv();
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      return null;
    } catch (error) {
      return (error as Error).message.split('\n')[0]!;
    }
  })();
  return runtime;
}

async function startContainer(): Promise<NatsServer> {
  const { NatsContainer } = await import('@testcontainers/nats');
  const { getContainerRuntimeClient } = await import('testcontainers');
  const image = process.env.ODIN_NATS_IMAGE ?? 'nats:2.9.10';
  const port = await freePort();
  // A fixed host port, so a stopped and started container is found where the gateway left it.
  const started = await new NatsContainer(image)
    .withJetStream()
    .withName(`odin-nats-${process.pid}-${port}`)
    .withExposedPorts({ container: 4222, host: port })
    .start();
  const url = `nats://127.0.0.1:${port}`;
  const auth = { user: 'test', password: 'test' };
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(started.getId());
  say(`testcontainers: ${image} at ${url} (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'default'})`);
  let running = true;
  return {
    path: 'testcontainers',
    url,
    auth,
    async stop() {
      if (!running) return;
      running = false;
      await container.stop({ t: 5 });
    },
    async kill() {
      if (!running) return;
      running = false;
      await container.kill();
    },
    async start() {
      if (running) return;
      await container.start();
      running = true;
      await waitForJetStream(url, auth);
    },
    async close() {
      await started.stop({ timeout: 0 }).catch(() => container.remove({ force: true }).catch(() => undefined));
    },
  };
}

// ---- processes ------------------------------------------------------------------------------------

interface Spawned {
  readonly child: ChildProcess;
  readonly port: number;
}

/** Spawns nats-server and resolves once it logs "Server is ready", with the client port it listens on. */
function spawnServer(args: readonly string[]): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server ${args.join(' ')} not ready within ${READY_TIMEOUT_MS} ms:\n${log.slice(-2000)}`));
    }, READY_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run nats-server (${error.message}); install it: apt-get install nats-server`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code} before it was ready:\n${log.slice(-2000)}`));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (log.length < 64 * 1024) log += chunk.toString();
      const port = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
      if (port !== null && log.includes('Server is ready')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stderr.removeAllListeners('data');
        // ODIN_NATS_LOG_DIR keeps every server's log (nats-server-PORT.log), for a failing cluster test.
        const dir = process.env.ODIN_NATS_LOG_DIR;
        if (dir) {
          const file = join(dir, `nats-server-${port[1]}.log`);
          appendFileSync(file, log);
          child.stderr.on('data', (more: Buffer) => appendFileSync(file, more));
        } else child.stderr.resume();
        resolve({ child, port: Number(port[1]) });
      }
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** One nats-server process whose store directory and port survive stop()/start(). */
async function startProcess(extraArgs: readonly string[], label: string, fixedPort?: number, jetstream = true): Promise<NatsServer> {
  const storeDir = mkdtempSync(join(tmpdir(), 'odin-nats-'));
  const argsFor = (port: number): string[] => ['-a', '127.0.0.1', '-p', String(port), ...(jetstream ? ['-js', '-sd', storeDir] : []), ...extraArgs];
  let current: Spawned | null = await spawnServer(argsFor(fixedPort ?? -1));
  const port = current.port;
  const url = `nats://127.0.0.1:${port}`;
  say(`${label}: nats-server at ${url} (store ${storeDir})`);
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    if (current === null) return;
    const { child } = current;
    current = null;
    child.kill(signal);
    await exited(child);
  };
  return {
    path: 'process',
    url,
    auth: {},
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async start() {
      if (current !== null) return;
      current = await spawnServer(argsFor(port));
    },
    async close() {
      await halt('SIGKILL');
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

// ---- entry points ---------------------------------------------------------------------------------

/** Always a local nats-server process (benchmarks: no container network hop in the measured path). */
export function startNatsProcess(label = 'process'): Promise<NatsServer> {
  return startProcess([], label);
}

/** A NATS server with JetStream: a container where a runtime works, else a process, or NATS_URL. */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  if (options.jetstream === false) return startProcess([], 'process (without JetStream)', undefined, false);
  if (options.config !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'odin-nats-conf-'));
    const file = join(dir, 'nats.conf');
    writeFileSync(file, options.config);
    const server = await startProcess(['-c', file], 'process (custom config)');
    return { ...server, close: async () => (await server.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  const external = process.env.NATS_URL;
  if (external !== undefined && external !== '' && options.controllable !== true) {
    say(`NATS_URL: ${external}`);
    const refuse = (): Promise<void> => Promise.reject(new Error('the server at NATS_URL is not ours to stop or start'));
    return { path: 'NATS_URL', url: external, auth: {}, stop: refuse, start: refuse, kill: refuse, close: () => Promise.resolve() };
  }
  const problem = await containerRuntimeProblem();
  if (problem === null) return startContainer();
  return startProcess([], `process (no container runtime: ${problem})`);
}

export interface NatsCluster {
  readonly nodes: readonly NatsServer[];
  /** Every node's client URL, for a client that fails over between them. */
  readonly servers: readonly string[];
  close(): Promise<void>;
}

/** Three (or `size`) nats-server processes routed on loopback, JetStream on each, distinct stores. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const clientPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`);
  const nodes = await Promise.all(
    clientPorts.map((port, i) =>
      startProcess(
        ['-n', `odin-node-${i}`, '--cluster_name', 'odin-test', '--cluster', routes[i]!, '--routes', routes.filter((_, j) => j !== i).join(',')],
        `cluster node ${i}`,
        port,
      ),
    ),
  );
  const servers = nodes.map((n) => n.url);
  // JetStream in a cluster answers once a meta leader is elected.
  await waitForJetStream(servers[0]!, {}, 20_000);
  say(`cluster of ${size}: ${servers.join(', ')}`);
  return { nodes, servers, close: async () => void (await Promise.all(nodes.map((n) => n.close()))) };
}
