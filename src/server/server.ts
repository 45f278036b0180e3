// Composition root of `odin serve`: real ports + the core Gateway + node:http. Everything I/O-shaped is
// wired here and nowhere else. startServer() is also what tests use (port 0).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { totalmem } from 'node:os';
import type { DestinationStream } from 'pino';
import { computeCapacity, type Capacity, type CapacityInput } from '../core/admission.js';
import { Gateway, type DrainOutcome } from '../core/gateway.js';
import { retainedBytesDefault } from '../core/memory-budget.js';
import { metrics as metricCatalog } from '../core/metrics.js';
import { natsMetrics } from '../adapters/nats/metrics.js';
import type { Broker } from '../core/ports.js';
import { MemoryBroker } from '../adapters/broker-memory.js';
import { SystemClock } from '../adapters/clock-system.js';
import { SystemRandom } from '../adapters/random-system.js';
import { PromTelemetry } from '../adapters/telemetry-prom.js';
import { toGatewayOptions, type Config } from './config.js';
import { createHttpHandler } from './http.js';
import { startLoadMonitor } from './load.js';
import { detectResources, systemPaths, type DetectedResources, type ResourcePaths } from './resources.js';
import type { BrokerInfo } from './http.js';
import { createUpgradeHandler } from './upgrade.js';
import { ProxyTrust } from './addresses.js';
import { verifierOf } from './auth.js';

export { BrokerStartError } from './nats-broker.js';

export interface StartDeps {
  /** Log destination; stdout when absent. */
  readonly logDestination?: DestinationStream;
  /** Fields on every log line (a cluster worker's slot). */
  readonly logBase?: Readonly<Record<string, unknown>>;
  /** Another broker (tests, a cluster worker's IPC broker); else NATS when nats.servers is set, else the embedded memory broker. */
  readonly broker?: Broker;
  /** What /health and /ready call the broker given in `broker` ('custom' when absent). */
  readonly brokerKind?: string;
  readonly resourcePaths?: ResourcePaths;
  /** This process's share of the memory, instead of a plan for a process alone (a cluster worker's share). */
  readonly memoryPlan?: MemoryPlan;
  /** /stats and /metrics for a whole cluster instead of this process alone (a worker asks the primary). */
  readonly clusterView?: ClusterView;
  /** Connections handed in by a cluster's primary instead of a port of this process's own. */
  readonly handed?: HandedConnections;
}

/** How a cluster worker gets its clients: the primary listens and hands each connection over (cluster/dispatch.ts). */
export interface HandedConnections {
  /** The address the primary listens on. */
  readonly bound: AddressInfo;
  /** Starts feeding connections to the server (server.emit('connection', socket) per hand-off). */
  attach(server: Server): void;
}

/** How a cluster worker answers /stats and /metrics: with figures gathered over every worker. */
export interface ClusterView {
  readonly stats: () => Promise<unknown>;
  readonly metrics: () => Promise<string>;
  readonly metricsContentType: string;
}

export interface RunningServer {
  /** http://host:port — the WebSocket endpoint is `${wsUrl}`. */
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly gateway: Gateway;
  readonly telemetry: PromTelemetry;
  readonly capacity: Capacity;
  /** The internal port (server.internalPort) as bound; null when there is none. */
  readonly internalUrl: string | null;
  /** Graceful drain, bounded by gateway.drainTimeoutMs plus a grace; idempotent. */
  close(): Promise<void>;
}

/** The port is taken or the address is not ours: a start-up failure the CLI reports in one line. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

/** Beyond the gateway's own drain deadline: time to close the listener and flush logs. */
const SHUTDOWN_GRACE_MS = 2_000;

/** What memory is for: the budget, and the byte bounds of the history stores (src/core/memory-budget.ts). */
export interface MemoryPlan {
  /** memory limit × resources.memoryBudgetRatio; null when no limit is known. */
  readonly budgetBytes: number | null;
  readonly historyBytesMax: number;
  /** The embedded broker's log; 0 when the broker lives elsewhere (its memory is not ours). */
  readonly brokerBytesMax: number;
}

export function memoryPlanOf(config: Config, detected: DetectedResources, embeddedBroker = config.nats.servers.trim() === ''): MemoryPlan {
  const memoryBytes = config.resources.memoryBytes ?? detected.memory.bytes;
  const budgetBytes = memoryBytes === null ? null : Math.floor(memoryBytes * config.resources.memoryBudgetRatio);
  return {
    budgetBytes,
    historyBytesMax: config.history.totalBytesMax ?? retainedBytesDefault(budgetBytes),
    brokerBytesMax: embeddedBroker ? (config.broker.bytesMax ?? retainedBytesDefault(budgetBytes)) : 0,
  };
}

/** The capacity inputs (docs/operations.md, "Capacity"), config overrides first, then what the machine says. */
export function capacityInputOf(config: Config, detected: DetectedResources, rssBytes: number, plan = memoryPlanOf(config, detected)): CapacityInput {
  const r = config.resources;
  return {
    configuredMax: config.admission.connectionsMax,
    memoryBudgetBytes: plan.budgetBytes,
    baselineBytes: r.baselineBytes ?? rssBytes,
    retainedBytes: plan.historyBytesMax + plan.brokerBytesMax,
    perConnectionBytes: r.perConnectionBytes,
    fdLimit: r.fdLimit ?? detected.fd.soft,
    fdReserve: r.fdReserve,
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startServer(config: Config, deps: StartDeps = {}): Promise<RunningServer> {
  const telemetry = new PromTelemetry({
    catalog: [...metricCatalog, ...natsMetrics],
    logLevel: config.log.level,
    ...(deps.logDestination ? { destination: deps.logDestination } : {}),
    ...(deps.logBase ? { logBase: deps.logBase } : {}),
  });
  const clock = new SystemClock();
  const random = new SystemRandom();
  const detected = detectResources(deps.resourcePaths ?? systemPaths, totalmem());
  const useNats = deps.broker === undefined && config.nats.servers.trim() !== '';
  const plan = deps.memoryPlan ?? memoryPlanOf(config, detected, deps.broker === undefined && !useNats);
  const options = toGatewayOptions(config, plan.historyBytesMax);
  const capacityInput = capacityInputOf(config, detected, process.memoryUsage().rss, plan);
  const capacity = computeCapacity(capacityInput);
  telemetry.log('info', `max connections ${capacity.connectionsMax} (bound by ${capacity.boundBy})`, {
    terms: capacity.terms,
    memory: {
      limitBytes: config.resources.memoryBytes ?? detected.memory.bytes,
      source: config.resources.memoryBytes === null ? detected.memory.source : 'config resources.memoryBytes',
    },
    fd: { soft: config.resources.fdLimit ?? detected.fd.soft, source: config.resources.fdLimit === null ? detected.fd.source : 'config resources.fdLimit' },
    baselineBytes: capacityInput.baselineBytes,
    retainedBytes: { history: plan.historyBytesMax, broker: plan.brokerBytesMax },
    perConnectionBytes: capacityInput.perConnectionBytes,
  });

  // Loaded only when configured: the embedded broker never loads the NATS client. Throws BrokerStartError.
  const nats = useNats
    ? await (await import('./nats-broker.js')).openConfiguredNats(config, (level, message, fields) => telemetry.log(level, message, fields), telemetry)
    : null;
  const broker = deps.broker ?? nats ?? new MemoryBroker(clock, random, { ...config.broker, bytesMax: plan.brokerBytesMax });
  const verifier = verifierOf(config);
  const gateway = new Gateway({ clock, random, broker, telemetry, ...(verifier !== null ? { verifier } : {}) }, options, capacityInput);
  gateway.start();
  const describeBroker = (): BrokerInfo =>
    nats?.describe() ?? { kind: deps.broker === undefined ? 'memory' : (deps.brokerKind ?? 'custom'), status: gateway.stats().broker.status, detail: null };

  const onError = (error: Error, context = 'http'): void =>
    telemetry.log('debug', `${context} error: ${error.message}`, { code: (error as NodeJS.ErrnoException).code });
  const httpDeps = {
    gateway,
    metrics: deps.clusterView !== undefined ? { exposition: deps.clusterView.metrics, contentType: deps.clusterView.metricsContentType } : telemetry,
    ...(deps.clusterView !== undefined ? { clusterStats: deps.clusterView.stats } : {}),
    apiKey: config.publish.apiKey,
    publishBodyBytesMax: config.server.publishBodyBytesMax,
    publishRate: { perSecond: config.publish.ratePerSecond, burst: config.publish.burst },
    nowMs: () => clock.nowMs(),
    startedAtMs: clock.nowMs(),
    wsPath: config.server.path,
    describeBroker,
    onError,
  };
  const internalPort = config.server.internalPort;
  const server: Server = createServer(createHttpHandler({ ...httpDeps, surface: internalPort === null ? 'all' : 'public' }));
  // The internal port (docs/security.md): /metrics and /stats (with user ids) for operators only.
  const internal = internalPort === null ? null : createServer(createHttpHandler({ ...httpDeps, surface: 'internal' }));
  // Slow-loris bounds for plain HTTP; upgraded sockets leave the HTTP machinery and are not affected.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // Publishers post in bursts seconds apart: Node's 5 s default would close their connections between
  // bursts, and a burst on fresh connections arrives over more turns of the loop, so it is written in more
  // passes over the subscribers (docs/benchmarks.md, "Burst drain and keep-alive").
  for (const s of internal === null ? [server] : [server, internal]) s.keepAliveTimeout = config.server.httpKeepAliveMs;
  const upgrade = createUpgradeHandler(gateway, {
    path: config.server.path,
    messageBytesMax: options.messageBytesMax,
    proxies: config.server.trustProxy ? new ProxyTrust(config.server.trustedProxies) : null,
    verifier,
    queryToken: config.auth.queryToken,
    writeMode: config.server.writeMode,
    onError,
  });
  server.on('upgrade', upgrade);
  server.on('clientError', (error, socket) => {
    onError(error, 'client');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  try {
    if (deps.handed === undefined) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.server.port, config.server.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
    if (internal !== null) {
      await new Promise<void>((resolve, reject) => {
        internal.once('error', reject);
        internal.listen(internalPort!, config.server.internalHost, () => {
          internal.off('error', reject);
          resolve();
        });
      });
    }
  } catch (error) {
    gateway.stop();
    server.close();
    internal?.close();
    await nats?.close();
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ListenError(`cannot listen on ${config.server.host}:${config.server.port} (${code})`, { cause: error });
  }
  const bound = deps.handed?.bound ?? (server.address() as AddressInfo);
  const port = bound.port;
  const boundText = bound.family === 'IPv6' ? `[${bound.address}]:${port}` : `${bound.address}:${port}`;
  const url = `http://${urlHost(config.server.host)}:${port}`;
  const wsUrl = `ws://${urlHost(config.server.host)}:${port}${config.server.path}`;
  const load = startLoadMonitor(config.server.loadSampleMs, (sample) => gateway.setLoad(sample));
  const everywhere = bound.address === '0.0.0.0' || bound.address === '::' ? ' (all interfaces)' : '';
  // Its own line: tools parse the next one as "listening on URL (WebSocket URL)".
  telemetry.log('info', `bound to ${boundText}${everywhere}`, { bound: boundText });
  telemetry.log('info', `listening on ${url} (WebSocket ${wsUrl})`, {
    port,
    bound: boundText,
    writeMode: config.server.writeMode,
    auth: verifier === null ? 'none' : 'jwt',
    publishAuth: config.publish.apiKey !== null,
  });
  if (internal !== null) {
    const at = internal.address() as AddressInfo;
    telemetry.log('info', `internal port (metrics, stats) on ${at.family === 'IPv6' ? `[${at.address}]` : at.address}:${at.port}`, { internalPort: at.port });
  }
  if (verifier === null) {
    // Loud on purpose (docs/security.md): anyone who reaches this address may subscribe to every channel.
    telemetry.log(
      'warn',
      `ANONYMOUS MODE: connections are not authenticated and may subscribe to any channel (auth.mode=${config.auth.mode}); set auth.mode=jwt before exposing ${boundText}`,
    );
  }

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      telemetry.log('info', 'draining: refusing new connections, closing clients with 1001');
      let finished = false;
      // outcome is null when the gateway never reported (our own deadline fired first).
      const finish = (outcome: DrainOutcome | null): void => {
        if (finished) return;
        finished = true;
        clearTimeout(deadline);
        load.stop();
        // Stragglers past the deadline are dropped; the gateway already told them to come back.
        for (const ws of upgrade.sockets) ws.terminate();
        gateway.stop();
        const brokerClosed = nats?.close() ?? Promise.resolve();
        server.close(() => {
          void brokerClosed.then(() => {
            if (outcome === null) telemetry.log('warn', 'drain timed out without a report from the gateway; stopped');
            else {
              const counts = `connections closed: ${outcome.closed}, terminated: ${outcome.terminated}`;
              if (outcome.terminated === 0) telemetry.log('info', `drained; stopped (${counts})`, { ...outcome });
              else telemetry.log('warn', `drain timed out after ${options.drainTimeoutMs} ms; stopped (${counts})`, { ...outcome });
            }
            telemetry.flush();
            resolve();
          });
        });
        internal?.close();
        internal?.closeAllConnections();
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      };
      const deadline = setTimeout(() => finish(null), options.drainTimeoutMs + SHUTDOWN_GRACE_MS);
      gateway.drain(finish);
    });
    return closing;
  };

  deps.handed?.attach(server);
  const internalUrl = internal === null ? null : `http://${urlHost(config.server.internalHost)}:${(internal.address() as AddressInfo).port}`;
  return { url, wsUrl, port, gateway, telemetry, capacity, internalUrl, close };
}
