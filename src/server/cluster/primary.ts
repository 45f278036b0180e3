// The primary of `serve --workers N` (node:cluster). It serves no client itself: it listens, starts N
// workers and hands each connection to the worker with the most room (dispatch.ts), holds the embedded broker and
// serves it to them over IPC (with NATS each worker reads the stream itself), answers their /stats and
// /metrics with figures over all workers, replaces a worker that exits unexpectedly, and on SIGTERM or
// SIGINT drains every worker before it exits.
//
// A worker that dies takes its connections with it (clients see the socket close and reconnect; the
// cluster's other workers admit them and, the broker being the same, resume them exactly). The primary logs
// the death and starts a replacement in the same slot after a short delay that doubles with every crash in
// the last minute; five crashes in a minute is a crash loop, and the primary stops everything (exit 1)
// rather than spin. A worker that never came up (bad port, broker unreachable) stops the cluster with that
// worker's exit code: a configuration problem, not a crash.
import cluster, { type Worker } from 'node:cluster';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { totalmem } from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import { BrokerHost, brokerHostDefaults } from '../../adapters/broker-ipc-host.js';
import { MemoryBroker } from '../../adapters/broker-memory.js';
import { SystemClock } from '../../adapters/clock-system.js';
import { SystemRandom } from '../../adapters/random-system.js';
import { PromTelemetry } from '../../adapters/telemetry-prom.js';
import type { LogLevel } from '../../core/ports.js';
import type { Config } from '../config.js';
import { detectResources, systemPaths } from '../resources.js';
import { workerEndpoint } from './endpoints.js';
import { LeastLoadedDispatch } from './dispatch.js';
import { isClusterMessage, WORKER_BOUND_ENV, WORKER_SHARE_ENV, type ToPrimary, type ToWorker } from './messages.js';
import { PrimaryMetrics } from './metrics.js';
import { clusterPlan, type WorkerShare } from './share.js';
import { aggregateStats, type ClusterStats, type WorkerFigures } from './stats.js';

/** Crashes within this window count towards a crash loop. */
const CRASH_WINDOW_MS = 60_000;
const CRASHES_MAX = 5;
const REPLACE_DELAY_MS = 200;
/** A worker's own figures, asked for /stats. */
const STATS_TIMEOUT_MS = 2_000;
/** /stats and /metrics being gathered at once; more are refused. */
const GATHERS_MAX = 16;
/** Past the drain deadline, the primary's own grace for workers to exit before it kills them. */
const EXIT_GRACE_MS = 5_000;
/** Connections accepted while no worker is ready (start-up, every worker replaced at once); more are closed. */
const PENDING_MAX = 4_096;

interface Slot {
  readonly share: WorkerShare;
  worker: Worker | null;
  everListened: boolean;
}

export async function runPrimary(config: Config): Promise<void> {
  const telemetry = new PromTelemetry({ catalog: [], logLevel: config.log.level, processMetrics: false, logBase: { role: 'primary', pid: process.pid } });
  const log = (level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void => telemetry.log(level, message, fields);
  const workers = config.server.workers;
  const embedded = config.nats.servers.trim() === '';
  const plan = clusterPlan(config, detectResources(systemPaths, totalmem()), process.memoryUsage().rss);
  log('info', `starting ${workers} workers`, {
    broker: embedded ? 'embedded, held by the primary' : 'NATS, read by each worker',
    shares: plan.shares,
    brokerBytesMax: plan.brokerBytesMax,
  });

  const slots: Slot[] = plan.shares.map((share) => ({ share, worker: null, everListened: false }));
  const dispatch = new LeastLoadedDispatch();
  const pending: Socket[] = [];
  const hand = (socket: Socket): void => {
    const slot = dispatch.next();
    if (slot === null) {
      if (pending.length < PENDING_MAX) pending.push(socket);
      else socket.destroy();
      return;
    }
    const worker = slots[slot]!.worker;
    if (worker === null || !worker.isConnected()) return void socket.destroy();
    worker.send({ odin: 'cluster', op: 'connection' } satisfies ToWorker, socket, (error) => error !== null && socket.destroy());
  };
  // pauseOnConnect: the primary reads nothing, so the worker's HTTP server sees the whole request.
  const listener = createServer({ pauseOnConnect: true }, hand);
  listener.on('error', (error: NodeJS.ErrnoException) => log('warn', `accept failed (${error.code ?? error.message}); still listening`));
  const bound = await new Promise<AddressInfo | null>((resolve) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      process.stderr.write(`odin serve: cannot listen on ${config.server.host}:${config.server.port} (${error.code ?? error.message})\n`);
      resolve(null);
    };
    listener.once('error', failed);
    listener.listen(config.server.port, config.server.host, () => {
      listener.off('error', failed);
      resolve(listener.address() as AddressInfo);
    });
  });
  if (bound === null) process.exit(1);
  const metrics = new PrimaryMetrics();
  const aggregator = new AggregatorRegistry();
  let restarts = 0;
  const crashes: number[] = [];
  let shuttingDown = false;
  let announced = false;
  let gathers = 0;
  let nextGather = 1;
  const ownStats = new Map<number, { readonly answers: WorkerFigures[]; readonly done: () => void }>();

  const endpoints = new Map<Worker, ReturnType<typeof workerEndpoint>>();
  const host = embedded
    ? new BrokerHost(new MemoryBroker(new SystemClock(), new SystemRandom(), { ...config.broker, bytesMax: plan.brokerBytesMax }), {
        ...brokerHostDefaults,
        onLagging: (peer, unacked) => {
          const slot = slots.find((s) => s.worker !== null && endpoints.get(s.worker) === peer);
          log('error', `worker ${slot?.share.slot ?? '?'} fell ${unacked} events behind the broker; replacing it (its clients reconnect and resume)`);
          slot?.worker?.process.kill('SIGKILL');
        },
      })
    : null;
  host?.start();

  const serving = (): number => slots.filter((s) => s.worker !== null && s.worker.isConnected()).length;

  function gatherStats(): Promise<ClusterStats> {
    if (gathers >= GATHERS_MAX) return Promise.reject(new Error(`${GATHERS_MAX} /stats requests already being gathered`));
    gathers++;
    const id = nextGather++;
    const asked = slots.filter((s) => s.worker !== null && s.worker.isConnected());
    const answers: WorkerFigures[] = [];
    return new Promise<ClusterStats>((resolve) => {
      const finish = (): void => {
        if (!ownStats.delete(id)) return;
        clearTimeout(timer);
        gathers--;
        const answeredSlots = new Set(answers.map((a) => a.slot));
        const missing = slots.filter((s) => !answeredSlots.has(s.share.slot)).map((s) => s.share.slot);
        resolve(aggregateStats(answers, workers, missing, restarts));
      };
      const timer = setTimeout(finish, STATS_TIMEOUT_MS);
      ownStats.set(id, { answers, done: () => answers.length >= asked.length && finish() });
      for (const s of asked) s.worker!.send({ odin: 'cluster', op: 'own-stats', id } satisfies ToWorker);
      if (asked.length === 0) finish();
    });
  }

  async function gatherMetrics(): Promise<string> {
    if (gathers >= GATHERS_MAX) throw new Error(`${GATHERS_MAX} /metrics requests already being gathered`);
    gathers++;
    try {
      metrics.workers.set(serving());
      return `${await aggregator.clusterMetrics()}\n${await metrics.registry.metrics()}`;
    } finally {
      gathers--;
    }
  }

  function onControl(slot: Slot, worker: Worker, message: ToPrimary): void {
    switch (message.op) {
      case 'listening':
        dispatch.add(slot.share.slot, message.connectionsMax);
        for (const socket of pending.splice(0)) if (!socket.destroyed) hand(socket);
        if (!slot.everListened) {
          slot.everListened = true;
          if (!announced && slots.every((s) => s.everListened)) {
            announced = true;
            log('info', `cluster of ${workers} workers listening on ${message.url} (WebSocket ${message.wsUrl})`, {
              workers: slots.map((s) => ({ slot: s.share.slot, pid: s.worker?.process.pid })),
            });
          }
        } else log('info', `worker ${slot.share.slot} (pid ${worker.process.pid}) is serving again`);
        return;
      case 'load':
        dispatch.report(slot.share.slot, message.open);
        return;
      case 'draining':
        dispatch.draining(slot.share.slot);
        return;
      case 'own-stats': {
        const gather = ownStats.get(message.id);
        if (gather === undefined) return;
        gather.answers.push({ slot: slot.share.slot, pid: worker.process.pid ?? 0, stats: message.stats as WorkerFigures['stats'] });
        gather.done();
        return;
      }
      case 'cluster-stats':
        gatherStats().then(
          (stats) => worker.isConnected() && worker.send({ odin: 'cluster', op: 'cluster-stats', id: message.id, stats } satisfies ToWorker),
          (error: Error) =>
            worker.isConnected() && worker.send({ odin: 'cluster', op: 'cluster-stats', id: message.id, error: error.message } satisfies ToWorker),
        );
        return;
      case 'cluster-metrics':
        gatherMetrics().then(
          (text) => worker.isConnected() && worker.send({ odin: 'cluster', op: 'cluster-metrics', id: message.id, text } satisfies ToWorker),
          (error: Error) =>
            worker.isConnected() && worker.send({ odin: 'cluster', op: 'cluster-metrics', id: message.id, error: error.message } satisfies ToWorker),
        );
        return;
    }
  }

  function start(slot: Slot): void {
    const worker = cluster.fork({ [WORKER_SHARE_ENV]: JSON.stringify(slot.share), [WORKER_BOUND_ENV]: JSON.stringify(bound) });
    slot.worker = worker;
    const endpoint = workerEndpoint(worker);
    endpoints.set(worker, endpoint);
    host?.attach(endpoint);
    worker.on('message', (message: unknown) => {
      if (isClusterMessage(message)) onControl(slot, worker, message as ToPrimary);
    });
    worker.on('exit', (code, signal) => exited(slot, worker, code, signal));
  }

  function exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    endpoints.delete(worker);
    if (slot.worker === worker) {
      slot.worker = null;
      dispatch.remove(slot.share.slot);
    }
    if (shuttingDown) {
      if (slots.every((s) => s.worker === null)) finish();
      return;
    }
    const how = signal !== null ? `signal ${signal}` : `code ${code}`;
    if (!slot.everListened) {
      log('error', `worker ${slot.share.slot} exited before it served (${how}); stopping the cluster`);
      void shutdown('a worker could not start', code !== null && code !== 0 ? code : 1);
      return;
    }
    const now = performance.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length >= CRASHES_MAX) {
      log('error', `workers exited ${crashes.length} times within ${CRASH_WINDOW_MS / 1000} s: a crash loop; stopping the cluster`);
      void shutdown('crash loop', 1);
      return;
    }
    const delayMs = REPLACE_DELAY_MS * 2 ** (crashes.length - 1);
    log(
      code === 0 && signal === null ? 'warn' : 'error',
      `worker ${slot.share.slot} (pid ${worker.process.pid}) exited unexpectedly (${how}); its clients reconnect to the other workers; replacing it in ${delayMs} ms`,
      {
        slot: slot.share.slot,
        pid: worker.process.pid,
        code,
        signal,
      },
    );
    restarts++;
    metrics.restarts.inc();
    setTimeout(() => {
      if (!shuttingDown) start(slot);
    }, delayMs);
  }

  let finishing: ((code: number) => void) | null = null;
  let exitCode = 0;
  function finish(): void {
    listener.close();
    for (const socket of pending.splice(0)) socket.destroy();
    host?.stop();
    log('info', 'all workers stopped');
    telemetry.flush();
    finishing?.(exitCode);
  }

  function shutdown(reason: string, code = 0): Promise<void> {
    if (shuttingDown) return Promise.resolve();
    shuttingDown = true;
    exitCode = code;
    log('info', `${reason}: draining ${serving()} workers`);
    const deadline = setTimeout(() => {
      log('warn', 'workers did not exit within the drain deadline: killing them');
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      telemetry.flush();
      process.exit(exitCode === 0 ? 1 : exitCode);
    }, config.gateway.drainTimeoutMs + EXIT_GRACE_MS);
    deadline.unref();
    for (const s of slots) {
      if (s.worker?.isConnected() === true) s.worker.send({ odin: 'cluster', op: 'shutdown' } satisfies ToWorker);
      // A worker that is not connected (still starting, or gone) has nothing to drain.
      else s.worker?.process.kill('SIGTERM');
    }
    if (slots.every((s) => s.worker === null)) finish();
    return Promise.resolve();
  }

  let signals = 0;
  const onSignal = (signal: string): void => {
    signals++;
    if (signals > 1) {
      log('warn', `${signal} again: killing the workers without waiting for the drain`);
      for (const s of slots) s.worker?.process.kill('SIGKILL');
      telemetry.flush();
      process.exit(1);
    }
    void shutdown(signal);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  const done = new Promise<number>((resolve) => (finishing = resolve));
  for (const slot of slots) start(slot);
  process.exit(await done);
}
