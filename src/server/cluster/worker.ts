// One worker of `serve --workers N`: the whole gateway (startServer) with this worker's share of the
// capacity (share.ts), the embedded broker reached in the primary over IPC (or NATS read directly), and
// /stats and /metrics answered with the whole cluster's figures, which the primary gathers. It drains on
// the primary's word, on its own SIGTERM/SIGINT, or when the primary disappears (nothing would feed it).
import { AggregatorRegistry, Registry } from 'prom-client';
import { IpcBrokerStartError, ipcBrokerDefaults, openIpcBroker } from '../../adapters/broker-ipc.js';
import type { Broker } from '../../core/ports.js';
import type { Config } from '../config.js';
import { BrokerStartError, ListenError, startServer, type RunningServer } from '../server.js';
import { processEndpoint } from './endpoints.js';
import { boundFromEnv, handedConnections } from './handed.js';
import { isClusterMessage, WORKER_BOUND_ENV, type ToPrimary, type ToWorker } from './messages.js';
import { setWorkerAggregators } from './metrics.js';
import { workerConfig, workerMemoryPlan, type WorkerShare } from './share.js';

/** /stats and /metrics answers from the primary: bounded in time and in number at once. */
const ASK_TIMEOUT_MS = 6_000;
const ASKS_MAX = 64;
const HARD_EXIT_GRACE_MS = 5_000;

export async function runWorker(config: Config, share: WorkerShare): Promise<void> {
  const endpoint = processEndpoint();
  const send = (message: ToPrimary): boolean => endpoint.send(message);
  let broker: Broker | undefined;
  if (config.nats.servers.trim() === '') {
    try {
      broker = await openIpcBroker(endpoint, ipcBrokerDefaults);
    } catch (error) {
      if (!(error instanceof IpcBrokerStartError)) throw error;
      process.stderr.write(`odin serve (worker ${share.slot}): ${error.message}\n`);
      process.exit(1);
    }
  }

  let nextAsk = 1;
  const asks = new Map<number, { resolve: (m: ToWorker) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  const ask = (op: 'cluster-stats' | 'cluster-metrics'): Promise<ToWorker> =>
    new Promise((resolve, reject) => {
      if (asks.size >= ASKS_MAX) return reject(new Error(`${ASKS_MAX} requests to the primary already waiting`));
      const id = nextAsk++;
      const timer = setTimeout(() => {
        asks.delete(id);
        reject(new Error(`the primary did not answer within ${ASK_TIMEOUT_MS} ms`));
      }, ASK_TIMEOUT_MS);
      asks.set(id, { resolve, reject, timer });
      if (!send({ odin: 'cluster', op, id })) {
        clearTimeout(timer);
        asks.delete(id);
        reject(new Error('no IPC channel to the primary'));
      }
    });
  const answer = (m: ToWorker): unknown => {
    const error = (m as { error?: string }).error;
    if (error !== undefined) throw new Error(error);
    return m;
  };

  const bound = boundFromEnv(process.env[WORKER_BOUND_ENV]);
  if (bound === null) {
    process.stderr.write(`odin serve (worker ${share.slot}): no listening address from the primary (${WORKER_BOUND_ENV})\n`);
    process.exit(1);
  }

  let running: RunningServer;
  try {
    running = await startServer(workerConfig(config, share), {
      ...(broker !== undefined ? { broker, brokerKind: 'memory (in the primary)' } : {}),
      memoryPlan: workerMemoryPlan(config, share),
      logBase: { worker: share.slot, pid: process.pid },
      handed: handedConnections(bound, (open) => send({ odin: 'cluster', op: 'load', open })),
      clusterView: {
        stats: async () => (answer(await ask('cluster-stats')) as { stats: unknown }).stats,
        metrics: async () => (answer(await ask('cluster-metrics')) as { text: string }).text,
        metricsContentType: Registry.PROMETHEUS_CONTENT_TYPE,
      },
    });
  } catch (error) {
    if (!(error instanceof ListenError) && !(error instanceof BrokerStartError)) throw error;
    process.stderr.write(`odin serve (worker ${share.slot}): ${error.message}\n`);
    process.exit(error instanceof BrokerStartError ? error.exitCode : 1);
  }
  // The primary asks every worker for its registry (prom-client's cluster protocol) and adds them up.
  AggregatorRegistry.setRegistries([running.telemetry.registry]);
  new AggregatorRegistry();
  setWorkerAggregators(running.telemetry.registry);

  let closing = false;
  let signals = 0;
  const shutdown = (why: string): void => {
    if (closing) return;
    closing = true;
    send({ odin: 'cluster', op: 'draining' });
    running.telemetry.log('info', `${why}: graceful shutdown`);
    setTimeout(() => {
      running.telemetry.log('warn', 'shutdown deadline passed: exiting');
      running.telemetry.flush();
      process.exit(0);
    }, config.gateway.drainTimeoutMs + HARD_EXIT_GRACE_MS).unref();
    void running.close().then(() => process.exit(0));
  };
  const onSignal = (signal: string): void => {
    signals++;
    if (signals > 1) {
      running.telemetry.log('warn', `${signal} again: exiting without waiting for the drain`);
      running.telemetry.flush();
      process.exit(1);
    }
    shutdown(signal);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('disconnect', () => shutdown('the primary process is gone'));
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return;
    const m = message as ToWorker;
    switch (m.op) {
      case 'shutdown':
        shutdown('the primary asked');
        return;
      case 'own-stats':
        send({ odin: 'cluster', op: 'own-stats', id: m.id, stats: running.gateway.stats() });
        return;
      case 'connection':
        return; // handed.ts takes these
      case 'cluster-stats':
      case 'cluster-metrics': {
        const waiting = asks.get(m.id);
        if (waiting === undefined) return;
        asks.delete(m.id);
        clearTimeout(waiting.timer);
        waiting.resolve(m);
        return;
      }
    }
  });
  send({ odin: 'cluster', op: 'listening', url: running.url, wsUrl: running.wsUrl, connectionsMax: running.capacity.connectionsMax });
}
