// `odin doctor`: can this machine and this configuration run the gateway, and how many connections will
// it take? Each check answers ok / warn / fail with a one-line reason and, where useful, what to change.
// Exit code 1 when any check fails.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { availableParallelism, totalmem } from 'node:os';
import { Command, CommanderError } from 'commander';
import { WebSocket, WebSocketServer } from 'ws';
import { computeCapacity } from '../core/admission.js';
import { frameOf } from '../core/codec.js';
import { WsConnection } from '../adapters/transport-ws.js';
import { ConfigError, loadConfig, type Config, type FlagValue } from './config.js';
import { checkListen } from './doctor-port.js';
import { capacityInputOf } from './server.js';
import { detectResources, systemPaths } from './resources.js';

export type Status = 'ok' | 'warn' | 'fail';

export interface Check {
  readonly name: string;
  readonly status: Status;
  readonly detail: string;
}

/** Below this the accept queue overflows during reconnect storms (SYNs dropped, clients back off). */
const SOMAXCONN_MIN = 1024;
const NODE_MAJOR_MIN = 20;
/** A command-line mistake (unknown flag, missing value), as for `odin publish`. */
const EXIT_USAGE = 2;

function checkNode(): Check {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= NODE_MAJOR_MIN
    ? { name: 'node', status: 'ok', detail: `v${process.versions.node}` }
    : { name: 'node', status: 'fail', detail: `v${process.versions.node}; needs Node ${NODE_MAJOR_MIN} or newer` };
}

function checkWsVersion(): Check {
  try {
    const version = (createRequire(import.meta.url)('ws/package.json') as { version: string }).version;
    return version.startsWith('8.')
      ? { name: 'ws', status: 'ok', detail: `ws ${version}` }
      : {
          name: 'ws',
          status: 'warn',
          detail: `ws ${version}: the pre-framed write path was verified on 8.x; run with --write-mode send until test/adapters passes`,
        };
  } catch (error) {
    return { name: 'ws', status: 'fail', detail: `cannot resolve ws: ${(error as Error).message}` };
  }
}

/** Node's listen() backlog (doc/api/net.md); the kernel clamps it to somaxconn. */
const NODE_BACKLOG = 511;
/** Linux: TIME_WAIT is a fixed 60 s on the side that closes first (docs/kernel.md, "Ephemeral ports and TIME_WAIT"). */
const TIME_WAIT_S = 60;

/**
 * The kernel's network limits, each with what it allows: the accept and SYN queues that absorb handshake
 * bursts, and the ephemeral ports that bound this host as a load generator (docs/kernel.md has the sources).
 */
export function checkNetwork(read: (path: string) => string, cores: number): Check[] {
  const sysctl = (name: string): string | null => {
    try {
      return read(`/proc/sys/net/${name}`).trim();
    } catch {
      return null;
    }
  };
  const somaxconn = sysctl('core/somaxconn');
  if (somaxconn === null) return [{ name: 'network', status: 'ok', detail: 'not Linux (or /proc not readable): skipped' }];
  const checks: Check[] = [];
  const acceptQueue = Math.min(NODE_BACKLOG, Number(somaxconn));
  checks.push(
    Number(somaxconn) >= SOMAXCONN_MIN
      ? {
          name: 'somaxconn',
          status: 'ok',
          detail: `net.core.somaxconn = ${somaxconn}: a burst of ${acceptQueue} handshakes waits in the accept queue (Node asks for ${NODE_BACKLOG}); beyond it SYNs are dropped and clients retry after 1, 3, 7 s`,
        }
      : {
          name: 'somaxconn',
          status: 'warn',
          detail: `net.core.somaxconn = ${somaxconn}: only ${acceptQueue} handshakes can wait; bursts overflow the accept queue (sysctl -w net.core.somaxconn=4096)`,
        },
  );
  const synBacklog = sysctl('ipv4/tcp_max_syn_backlog');
  const cookies = sysctl('ipv4/tcp_syncookies');
  if (synBacklog !== null && cookies !== null) {
    // On current kernels the SYN queue is full at min(backlog, somaxconn); tcp_max_syn_backlog only
    // matters with syncookies off (inet_csk_reqsk_queue_is_full, tcp_conn_request).
    const synQueue = cookies === '0' ? Math.min(acceptQueue, Number(synBacklog)) : acceptQueue;
    checks.push({
      name: 'syn queue',
      status: cookies === '0' && Number(synBacklog) < acceptQueue ? 'warn' : 'ok',
      detail: `tcp_max_syn_backlog = ${synBacklog}, tcp_syncookies = ${cookies}: ${synQueue} half-open handshakes${cookies === '0' ? ', then SYNs are dropped (syncookies off)' : ', then syncookies (no drop)'}`,
    });
  }
  const range = sysctl('ipv4/ip_local_port_range');
  if (range !== null) {
    const [lo, hi] = range.split(/\s+/).map(Number) as [number, number];
    const ports = hi - lo + 1;
    checks.push({
      name: 'ports',
      status: 'ok',
      detail: `ip_local_port_range ${lo}-${hi}: as a load generator this host opens at most ${ports} connections per source address to one server address:port; each close it initiates parks a port for ${TIME_WAIT_S} s, so c closes/s leave ${ports} − ${TIME_WAIT_S}·c`,
    });
  }
  const reuse = sysctl('ipv4/tcp_tw_reuse');
  if (reuse !== null) {
    const meaning =
      reuse === '1'
        ? 'outgoing connections may reuse TIME_WAIT ports after ~1 s'
        : reuse === '2'
          ? 'TIME_WAIT reuse on loopback only'
          : 'TIME_WAIT ports wait their full 60 s';
    checks.push({ name: 'tw_reuse', status: 'ok', detail: `tcp_tw_reuse = ${reuse}: ${meaning}` });
  }
  checks.push({ name: 'cores', status: 'ok', detail: `${cores} available; one gateway process runs its event loop on one of them` });
  return checks;
}

function checkResources(config: Config): Check[] {
  const detected = detectResources(systemPaths, totalmem());
  const input = capacityInputOf(config, detected, process.memoryUsage().rss);
  const capacity = computeCapacity(input);
  const checks: Check[] = [];
  const memory = config.resources.memoryBytes ?? detected.memory.bytes;
  checks.push({
    name: 'memory',
    status: 'ok',
    detail:
      memory === null
        ? `no limit (${detected.memory.source})`
        : `${memory} bytes (${config.resources.memoryBytes === null ? detected.memory.source : 'resources.memoryBytes'})`,
  });
  const fd = detected.fd;
  const soft = config.resources.fdLimit ?? fd.soft;
  const raise =
    fd.hard !== null && fd.soft !== null && fd.soft < fd.hard
      ? `; the hard limit is ${fd.hard}: raise the soft one (ulimit -n ${fd.hard}, or LimitNOFILE= in systemd)`
      : '';
  checks.push({
    name: 'descriptors',
    status: raise !== '' && capacity.boundBy === 'descriptors' ? 'warn' : 'ok',
    detail: `soft ${soft ?? 'unlimited'}, hard ${fd.hard ?? 'unlimited'}${raise}`,
  });
  const detail = `max connections ${capacity.connectionsMax} (bound by ${capacity.boundBy}; config ${capacity.terms.config}, memory ${capacity.terms.memory ?? '-'}, descriptors ${capacity.terms.descriptors ?? '-'})`;
  checks.push({ name: 'capacity', status: capacity.connectionsMax === 0 ? 'fail' : 'ok', detail });
  return checks;
}

/** Writes pre-framed frames to a real ws client over loopback and checks what it decodes. */
export async function checkPreframing(): Promise<Check> {
  const http = createHttpServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const texts = ['{"a":1}', JSON.stringify({ pad: 'x'.repeat(300) }), JSON.stringify({ pad: 'y'.repeat(70_000) })];
  try {
    http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => new WsConnection(ws, 'preframed').write(texts.map(frameOf))));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    const received = await new Promise<string[]>((resolve, reject) => {
      const got: string[] = [];
      const timer = setTimeout(() => reject(new Error('no frames within 5 s')), 5_000);
      client.on('message', (data, isBinary) => {
        got.push(isBinary ? '<binary>' : (data as Buffer).toString('utf8')); // ws's default binaryType gives a Buffer
        if (got.length === texts.length) {
          clearTimeout(timer);
          resolve(got);
        }
      });
      client.once('error', reject);
    });
    client.terminate();
    const same = received.every((text, i) => text === texts[i]);
    return same
      ? { name: 'preframing', status: 'ok', detail: 'pre-framed writes decode correctly in a ws client' }
      : { name: 'preframing', status: 'fail', detail: 'a ws client decoded different bytes; run with --write-mode send' };
  } catch (error) {
    return { name: 'preframing', status: 'fail', detail: `${(error as Error).message}; run with --write-mode send` };
  } finally {
    http.closeAllConnections();
    http.close();
  }
}

export async function runChecks(config: Config): Promise<Check[]> {
  return [
    checkNode(),
    checkWsVersion(),
    ...checkResources(config),
    ...checkNetwork((path) => readFileSync(path, 'utf8'), availableParallelism()),
    await checkListen(config.server.host, config.server.port),
    await checkPreframing(),
  ];
}

interface DoctorFlags {
  config?: string;
  port?: string;
  host?: string;
  set: string[];
  json?: boolean;
}

/** Entry point for `odin doctor [--config PATH] [--port N] [--host H] [--set k=v]... [--json]`. */
export async function main(argv: readonly string[]): Promise<number> {
  const command = new Command('odin doctor')
    .description('check this machine and configuration for running the gateway (exit 1 when a check fails)')
    .option('-c, --config <path>', 'JSON config file (also WS_CONFIG)')
    .option('-p, --port <port>', 'TCP port to check (WS_PORT)')
    .option('-H, --host <host>', 'interface to check (WS_HOST)')
    .option('-s, --set <section.key=value>', 'any setting, repeatable', (v: string, all: string[]) => [...all, v], [])
    .option('--json', 'print the checks as JSON')
    .showHelpAfterError()
    .exitOverride();
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    // Commander has printed the help or the error with the usage; --help is a success, the rest misuse.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    throw error;
  }
  const flags = command.opts<DoctorFlags>();
  const values: FlagValue[] = [];
  if (flags.port !== undefined) values.push({ path: 'server.port', raw: flags.port, flag: '--port' });
  if (flags.host !== undefined) values.push({ path: 'server.host', raw: flags.host, flag: '--host' });
  for (const assignment of flags.set) {
    const eq = assignment.indexOf('=');
    const path = eq < 0 ? assignment : assignment.slice(0, eq);
    values.push({ path, raw: eq < 0 ? '' : assignment.slice(eq + 1), flag: `--set ${path}` });
  }
  const checks: Check[] = [];
  try {
    const loaded = loadConfig({ ...(flags.config !== undefined ? { file: flags.config } : {}), env: process.env, flags: values });
    checks.push({
      name: 'config',
      status: loaded.warnings.length > 0 ? 'warn' : 'ok',
      detail: loaded.warnings.length > 0 ? loaded.warnings.join('; ') : `valid (${Object.keys(loaded.origins).length} settings not at their default)`,
    });
    checks.push(...(await runChecks(loaded.config)));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.push({ name: 'config', status: 'fail', detail: error.problems.join('; ') });
  }
  if (flags.json === true) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else for (const check of checks) process.stdout.write(`[${check.status.padStart(4)}] ${check.name.padEnd(12)} ${check.detail}\n`);
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}
