// One load worker process (forked by session.ts): opens its share of the connections at its share of the
// ramp, subscribes each, counts what arrives and samples latency, and reports a tick every tickMs.
//
// Why a lean client instead of odin's own (src/client): the load tool must measure the server, not
// itself. The real client parses every frame (JSON.parse), tracks positions, and reconnects with backoff —
// which would hide exactly the drops a load run has to count. Here a frame costs a prefix compare and,
// on one connection in `sampleEvery`, a byte search for the publish time (frames.ts). It speaks the same
// protocol (subscribe, then events), so it drives odin and any server with the same message shapes.
import { connect as netConnect, type NetConnectOpts, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { attemptFailureKind, bump, dropKind, refusalKind } from './failures.js';
import { controlKind, countEvents, forEachSentTime } from './frames.js';
import { encodeHistogram, newHistogram, recordUs } from './histogram.js';
import { zeroCounts, type FromWorker, type Tick, type ToWorker, type WorkerPlan } from './messages.js';
import { monotonicUs } from './payload.js';
import { channelsOf } from './plan.js';
import { tokenProtocol } from './token.js';

/** Pacing of the ramp: small enough that 1,000 connections/s leave in steps of 10. */
const RAMP_STEP_MS = 10;
/** Past this, connections still open at stop are dropped without a close handshake. */
const STOP_GRACE_MS = 2_000;
/** Outstanding expectations (bursts) at once. */
const EXPECTATIONS_MAX = 64;
/** The largest frame accepted: far above any event the publisher sends. */
const FRAME_BYTES_MAX = 16 * 1024 * 1024;

interface Conn {
  readonly ws: WebSocket;
  readonly index: number;
  readonly sampled: boolean;
  readonly channels: readonly string[];
  state: 'connecting' | 'subscribing' | 'subscribed' | 'closed';
  tcpUp: boolean;
  /** Upgraded and not yet closed: counted in counts.open. */
  isOpen: boolean;
  lastErrorCode: string | undefined;
  timer: NodeJS.Timeout | null;
}

let plan: WorkerPlan | null = null;
const conns: Conn[] = [];
const counts = zeroCounts();
const latency = newHistogram();
const connectLatency = newHistogram();
const subscribers: Record<string, number> = {};
let pending = 0;
let next = 0;
let rampStartMs = 0;
let stopping = false;
let rampTimer: NodeJS.Timeout | null = null;
let tickTimer: NodeJS.Timeout | null = null;
/** Expectations sorted by target: the first one is the next to be reached. */
let expectations: { id: number; target: number }[] = [];

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

function tick(flushId?: number): Tick {
  const t: Tick = {
    type: 'tick',
    ...(flushId !== undefined ? { flushId } : {}),
    atNs: process.hrtime.bigint().toString(),
    counts,
    subscribers,
    pending,
    latency: latency.totalCount > 0 ? encodeHistogram(latency) : '',
    connect: connectLatency.totalCount > 0 ? encodeHistogram(connectLatency) : '',
  };
  latency.reset();
  connectLatency.reset();
  return t;
}

function settle(conn: Conn, failure: string | null): void {
  if (conn.timer !== null) clearTimeout(conn.timer);
  conn.timer = null;
  pending--;
  if (failure !== null) {
    bump(counts.failures, failure);
    conn.state = 'closed';
    conn.ws.terminate();
  }
}

function onEvents(conn: Conn, frame: Buffer): void {
  const n = countEvents(frame);
  if (n === 0) {
    bump(counts.control, controlKind(frame));
    return;
  }
  counts.events += n;
  counts.eventBytes += frame.length;
  if (conn.sampled) {
    const nowUs = monotonicUs();
    forEachSentTime(frame, (sentUs) => {
      if (recordUs(latency, nowUs - sentUs)) counts.clipped++;
    });
  }
  while (expectations.length > 0 && counts.events >= expectations[0]!.target) {
    const reached = expectations.shift()!;
    send({ type: 'reached', id: reached.id, atNs: process.hrtime.bigint().toString() });
  }
}

function onSubscribeReply(conn: Conn, frame: Buffer): void {
  const kind = controlKind(frame);
  if (kind === 'subscribed') {
    conn.state = 'subscribed';
    counts.subscribed++;
    for (const channel of conn.channels) subscribers[channel] = (subscribers[channel] ?? 0) + 1;
    settle(conn, null);
  } else if (kind === 'error') settle(conn, 'SUBSCRIBE_ERROR');
  else if (countEvents(frame) > 0) bump(counts.control, 'event-before-subscribed');
  // welcome and anything else: keep waiting for the confirmation.
}

function attempt(index: number): void {
  const p = plan!;
  counts.attempted++;
  pending++;
  const startedUs = monotonicUs();
  const address = p.addresses.length > 0 ? p.addresses[index % p.addresses.length] : undefined;
  // ws calls this for the TCP connection: wrapped only to learn when TCP is up, which tells a kernel
  // timeout (ETIMEDOUT) from a server that accepted but never answered the Upgrade (UPGRADE_TIMEOUT).
  const createConnection = (options: NetConnectOpts & { socketPath?: string }): Socket => {
    const socket = netConnect({ ...options, path: options.socketPath } as NetConnectOpts);
    socket.once('connect', () => (conn.tcpUp = true));
    return socket;
  };
  const protocols = p.tokens === null ? [...p.protocols] : [...p.protocols, tokenProtocol(p.tokens, index, Math.floor(Date.now() / 1000))];
  const ws = new WebSocket(p.url, protocols, {
    perMessageDeflate: false,
    handshakeTimeout: p.connectTimeoutMs,
    maxPayload: FRAME_BYTES_MAX,
    followRedirects: false,
    ...(address !== undefined ? { localAddress: address } : {}),
    createConnection: createConnection as never,
  });
  const conn: Conn = {
    ws,
    index,
    sampled: index % p.sampleEvery === 0,
    channels: channelsOf(index, p.channels, p.channelsPerConnection),
    state: 'connecting',
    tcpUp: false,
    isOpen: false,
    lastErrorCode: undefined,
    timer: null,
  };
  conns.push(conn);
  ws.on('unexpected-response', (req, res) => {
    res.resume();
    req.destroy();
    if (conn.state === 'connecting') settle(conn, refusalKind(res.statusCode ?? 0));
  });
  ws.on('error', (error: NodeJS.ErrnoException) => {
    conn.lastErrorCode = error.code;
    if (conn.state === 'connecting') settle(conn, attemptFailureKind(error, conn.tcpUp));
  });
  ws.on('open', () => {
    if (conn.state !== 'connecting') return;
    recordUs(connectLatency, monotonicUs() - startedUs);
    counts.opened++;
    counts.open++;
    conn.isOpen = true;
    conn.state = 'subscribing';
    conn.timer = setTimeout(() => settle(conn, 'SUBSCRIBE_TIMEOUT'), p.subscribeTimeoutMs);
    ws.send(JSON.stringify({ type: 'subscribe', id: 1, channels: conn.channels }));
  });
  ws.on('message', (data: Buffer) => {
    if (conn.state === 'subscribed') onEvents(conn, data);
    else if (conn.state === 'subscribing') onSubscribeReply(conn, data);
  });
  ws.on('close', (code: number) => {
    const was = conn.state;
    conn.state = 'closed';
    if (conn.isOpen) {
      conn.isOpen = false;
      counts.open--;
    }
    // connecting: settled by its error; closed: settled already (refused, timed out) or stopped by us.
    if (was === 'subscribing') {
      // Closed before the confirmation: a failed attempt, unless we are the ones closing.
      settle(conn, stopping ? null : dropKind(code, conn.lastErrorCode));
      return;
    }
    if (was === 'subscribed') {
      for (const channel of conn.channels) subscribers[channel]! -= 1;
      if (!stopping) bump(counts.drops, dropKind(code, conn.lastErrorCode));
    }
  });
}

function rampStep(): void {
  const p = plan!;
  const due = p.rampPerSecond > 0 ? Math.floor(((performance.now() - rampStartMs) / 1000) * p.rampPerSecond) : p.count;
  while (next < p.count && next < due && pending < p.handshakesInFlightMax) attempt(p.first + next++);
  if (next >= p.count && rampTimer !== null) {
    clearInterval(rampTimer);
    rampTimer = null;
  }
}

function start(p: WorkerPlan): void {
  plan = p;
  rampStartMs = performance.now();
  rampTimer = setInterval(rampStep, RAMP_STEP_MS);
  rampStep();
  tickTimer = setInterval(() => send(tick()), p.tickMs);
}

async function stop(): Promise<void> {
  stopping = true;
  if (rampTimer !== null) clearInterval(rampTimer);
  for (const conn of conns) {
    if (conn.state === 'closed') continue;
    if (conn.state === 'connecting') {
      // Not a failure of the server: the run ended before this attempt did.
      conn.state = 'closed';
      pending--;
      conn.ws.terminate();
    } else conn.ws.close(1000, 'load run over');
  }
  const deadline = performance.now() + STOP_GRACE_MS;
  while (counts.open > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  for (const conn of conns) if (conn.state !== 'closed') conn.ws.terminate();
  if (tickTimer !== null) clearInterval(tickTimer);
  send(tick());
  send({ type: 'stopped' });
  setTimeout(() => process.exit(0), 50);
}

process.on('message', (message: ToWorker) => {
  switch (message.cmd) {
    case 'start':
      start(message.plan);
      return;
    case 'expect': {
      if (counts.events >= message.target) {
        send({ type: 'armed', id: message.id });
        send({ type: 'reached', id: message.id, atNs: process.hrtime.bigint().toString() });
        return;
      }
      if (expectations.length >= EXPECTATIONS_MAX) {
        send({ type: 'failed', message: `more than ${EXPECTATIONS_MAX} expectations outstanding` });
        return;
      }
      expectations = [...expectations, { id: message.id, target: message.target }].sort((a, b) => a.target - b.target);
      send({ type: 'armed', id: message.id });
      return;
    }
    case 'flush':
      send(tick(message.id));
      return;
    case 'stop':
      void stop();
      return;
  }
});

// The coordinator is gone (killed, crashed): nothing would ever stop us.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (error) => {
  send({ type: 'failed', message: String(error.stack ?? error) });
  process.exit(1);
});
send({ type: 'ready' });
