// `odin load` (`npm run load -- …`): real WebSocket load against a running gateway, or any server that
// speaks the same messages (subscribe → subscribed → events), on loopback. See docs/load.md.
import { parseArgs } from 'node:util';
import { SUBPROTOCOL } from '../core/protocol.js';
import { isLoopbackHost } from './plan.js';
import { progressOn } from './progress.js';
import { CommandPublisher, HttpPublisher, openNatsPublisher, type Publisher } from './publishers.js';
import { summaryText } from './report.js';
import { runLoad, type RunOptions } from './run.js';
import { sessionDefaults } from './session.js';

const USAGE = `usage: odin load [URL] [options]            (npm run load -- [URL] [options])
  URL                     WebSocket endpoint on loopback (default ws://127.0.0.1:$WS_PORT/ws?v=1, port 8080)
connections
  -c, --connections N     connections to open (default 1000)
  --ramp N                new connections per second over all workers; 0 = as fast as allowed (default 1000)
  --hold S                seconds to hold them after the ramp (default 30)
  --workers N             at least N load processes (default 2; one more per 15,000 connections)
  --per-address N         connections per source address 127.0.B.x (default 10000)
  --address-block B       B in 127.0.B.x (default 0); give runs that overlap in time different blocks
  --channels N            channels in the pool, <prefix>.0 … (default 1)
  --channel-prefix P      (default odin.token.load)
  --per-connection K      channels each connection subscribes to (default 1)
  --protocol P            WebSocket subprotocol to offer (default none; odin also takes ?v=1)
  --connect-timeout S     TCP connect + Upgrade, per attempt (default 10)
  --subscribe-timeout S   Upgrade → "subscribed" (default 10)
publishing (HTTP POST /publish unless --nats or --publish-cmd)
  --rate N                events per second during the hold (default 0: an idle hold)
  --size B                bytes of each event's data (default 100)
  --bursts N              instead of a hold: N bursts of --burst-events events, timed to the last delivery
  --burst-events E        (default 50)
  --burst-gap S           seconds between bursts (default 2)
  --settle S              how long deliveries may still arrive after publishing (default 10)
  --publish-url URL       where POST /publish goes (default: the endpoint's http:// origin)
  --api-key KEY           the gateway's publish key (default $WS_PUBLISH_API_KEY)
authentication (a gateway with auth.mode=jwt)
  --token-secret S        mint an HS256 token per connection (sub load-<i>) with the gateway's
                          auth.hmacSecret (default $WS_AUTH_HMAC_SECRET; none: no tokens)
  --token-ttl S           token lifetime in seconds; must outlast the run (default 86400)
  --nats URLS             publish straight into NATS (comma-separated servers)
  --publish-cmd CMD       publish through a command that reads one {"channel","data"} JSON line per event
reporting
  --sample N              measure publish→deliver latency on 1 connection in N (default 10)
  --interval S            seconds between progress lines (default 5)
  --json                  print the report as JSON on stdout (progress goes to stderr)
  --no-progress           no progress bar, even on a terminal`;

const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

class UsageError extends Error {}

function number(values: Record<string, unknown>, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values[name] as string | undefined; // parseArgs gives strings for options with a value
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${name} ${raw}: expected a number from ${min} to ${max}`);
  return value;
}

function whole(values: Record<string, unknown>, name: string, fallback: number, min: number, max?: number): number {
  const value = number(values, name, fallback, min, max);
  if (!Number.isInteger(value)) throw new UsageError(`--${name} ${String(values[name])}: expected a whole number`);
  return value;
}

export interface ParsedLoad {
  readonly run: RunOptions;
  readonly publish:
    | { readonly kind: 'http'; readonly baseUrl: string; readonly apiKey: string | null }
    | { readonly kind: 'nats'; readonly servers: string }
    | { readonly kind: 'command'; readonly command: string };
  readonly json: boolean;
  readonly progress: boolean;
}

/** Parses and checks the arguments; throws UsageError with a message for the user. */
export function parseLoadArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedLoad {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        connections: { type: 'string', short: 'c' },
        ramp: { type: 'string' },
        hold: { type: 'string' },
        workers: { type: 'string' },
        'per-address': { type: 'string' },
        'address-block': { type: 'string' },
        channels: { type: 'string' },
        'channel-prefix': { type: 'string' },
        'per-connection': { type: 'string' },
        protocol: { type: 'string' },
        'connect-timeout': { type: 'string' },
        'subscribe-timeout': { type: 'string' },
        rate: { type: 'string' },
        size: { type: 'string' },
        bursts: { type: 'string' },
        'burst-events': { type: 'string' },
        'burst-gap': { type: 'string' },
        settle: { type: 'string' },
        'publish-url': { type: 'string' },
        'api-key': { type: 'string' },
        'token-secret': { type: 'string' },
        'token-ttl': { type: 'string' },
        nats: { type: 'string' },
        'publish-cmd': { type: 'string' },
        sample: { type: 'string' },
        interval: { type: 'string' },
        json: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) throw new UsageError('');
  if (positionals.length > 1) throw new UsageError(`expected at most one URL, got ${positionals.join(' ')}`);
  const port = env.WS_PORT ?? '8080';
  let url: URL;
  try {
    url = new URL(positionals[0] ?? `ws://127.0.0.1:${port}/ws?v=1`);
  } catch {
    throw new UsageError(`${positionals[0]} is not a URL (e.g. ws://127.0.0.1:8080/ws?v=1)`);
  }
  if (url.protocol !== 'ws:') throw new UsageError(`${url.href}: expected a ws:// URL`);
  if (!isLoopbackHost(url.hostname))
    throw new UsageError(`${url.hostname} is not a loopback address: odin load drives loopback targets only (127.0.0.0/8, ::1, localhost)`);
  // localhost may resolve to ::1 first; the source-address spread is IPv4.
  if (url.hostname === 'localhost') url.hostname = '127.0.0.1';
  const publishers = [values.nats, values['publish-cmd'], values['publish-url']].filter((v) => v !== undefined);
  if (publishers.length > 1) throw new UsageError('give one of --publish-url, --nats, --publish-cmd');
  const prefix = values['channel-prefix'] ?? 'odin.token.load';
  const tokenSecret = values['token-secret'] ?? env.WS_AUTH_HMAC_SECRET ?? null;
  const channelCount = whole(values, 'channels', 1, 1, 100_000);
  const seconds = (name: string, fallback: number, min: number, max: number): number => Math.round(number(values, name, fallback, min, max) * 1000);
  const run: RunOptions = {
    url: url.href,
    protocols: tokenSecret !== null ? [SUBPROTOCOL] : values.protocol === undefined || values.protocol === '' ? [] : [values.protocol],
    // Each connection its own sub (per-user caps), granted the whole pool.
    tokens: tokenSecret === null ? null : { secret: tokenSecret, ttlS: whole(values, 'token-ttl', 86_400, 60, 31_536_000), grants: [`${prefix}.>`] },
    connections: whole(values, 'connections', 1_000, 1, 1_000_000),
    workersMin: whole(values, 'workers', sessionDefaults.workersMin, 1, 64),
    socketsPerWorkerMax: sessionDefaults.socketsPerWorkerMax,
    perAddressMax: whole(values, 'per-address', sessionDefaults.perAddressMax, 1, 28_000),
    spreadAddresses: url.hostname !== '::1' && url.hostname !== '[::1]',
    addressBlock: whole(values, 'address-block', 0, 0, 255),
    channels: Array.from({ length: channelCount }, (_, i) => `${prefix}.${i}`),
    channelsPerConnection: whole(values, 'per-connection', sessionDefaults.channelsPerConnection, 1, 1_000),
    rampPerSecond: number(values, 'ramp', sessionDefaults.rampPerSecond, 0, 1_000_000),
    handshakesInFlightMax: sessionDefaults.handshakesInFlightMax,
    connectTimeoutMs: seconds('connect-timeout', 10, 0.1, 600),
    subscribeTimeoutMs: seconds('subscribe-timeout', 10, 0.1, 600),
    sampleEvery: whole(values, 'sample', sessionDefaults.sampleEvery, 1, 1_000_000),
    tickMs: sessionDefaults.tickMs,
    publishLabel: values.nats !== undefined ? 'nats' : values['publish-cmd'] !== undefined ? 'command' : 'http',
    ratePerSecond: number(values, 'rate', 0, 0, 1_000_000),
    sizeBytes: whole(values, 'size', 100, 0, 16 * 1024 * 1024),
    holdMs: seconds('hold', 30, 0, 86_400),
    bursts: whole(values, 'bursts', 0, 0, 10_000),
    burstEvents: whole(values, 'burst-events', 50, 1, 1_000_000),
    burstGapMs: seconds('burst-gap', 2, 0, 3_600),
    settleMs: seconds('settle', 10, 0.1, 3_600),
    reportEveryMs: seconds('interval', 5, 1, 3_600),
    publishTimeoutMs: 10_000,
  };
  if (run.channelsPerConnection > channelCount)
    throw new UsageError(`--per-connection ${run.channelsPerConnection} is more than the ${channelCount} channel(s) in the pool (--channels)`);
  const httpBase = values['publish-url'] ?? `http://${url.host}`;
  const publish: ParsedLoad['publish'] =
    values.nats !== undefined
      ? { kind: 'nats', servers: values.nats }
      : values['publish-cmd'] !== undefined
        ? { kind: 'command', command: values['publish-cmd'] }
        : { kind: 'http', baseUrl: httpBase, apiKey: values['api-key'] ?? env.WS_PUBLISH_API_KEY ?? null };
  return { run, publish, json: values.json === true, progress: values['no-progress'] !== true };
}

export async function openPublisher(spec: ParsedLoad['publish'], timeoutMs: number): Promise<Publisher> {
  if (spec.kind === 'nats') return openNatsPublisher(spec.servers, timeoutMs);
  if (spec.kind === 'command') return new CommandPublisher(spec.command, timeoutMs);
  return new HttpPublisher({ baseUrl: spec.baseUrl, apiKey: spec.apiKey, sockets: 32, inFlightMax: 1_000, timeoutMs });
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let parsed: ParsedLoad;
  try {
    parsed = parseLoadArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message === '') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`odin load: ${error.message}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const { run } = parsed;
  const usesPublisher = run.bursts > 0 || run.ratePerSecond > 0;
  let publisher: Publisher | null = null;
  try {
    publisher = usesPublisher ? await openPublisher(parsed.publish, run.publishTimeoutMs) : null;
  } catch (error) {
    process.stderr.write(`odin load: cannot publish through ${parsed.publish.kind}: ${(error as Error).message}\n`);
    return 1;
  }
  const progress = progressOn(process.stderr, parsed.progress);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    // Twice: leave now; the workers see their IPC channel close and exit on their own.
    if (interrupts > 1) process.exit(EXIT_INTERRUPTED);
    progress.log('SIGINT: closing the connections (again to quit at once)');
    controller.abort('SIGINT');
  };
  process.on('SIGINT', onSigint);
  try {
    const report = await runLoad(run, { publisher, progress, signal: controller.signal });
    await publisher?.close();
    if (parsed.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(`${summaryText(report)}\n`);
    return report.interrupted !== null ? EXIT_INTERRUPTED : 0;
  } catch (error) {
    progress.stop();
    await publisher?.close();
    process.stderr.write(`odin load: ${(error as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
