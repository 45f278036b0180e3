// (d) The coalesced write path over a real loopback WebSocket: K frames to one socket as one pre-framed
// corked write (transport-ws 'preframed', the default) vs K separate ws.send() calls (a naive hub), plus
// the adapter's fallback ('send': ws.send per frame inside one cork/uncork).
//
// Every iteration writes K frames and then waits until the ws client (same process, 127.0.0.1) has
// received all K, so each iteration starts with empty socket buffers and really crosses the kernel: the
// mitata figure is the full delivery (write + loopback + client decode). The sender's share alone — the
// synchronous write calls, syscalls included — is timed around the write of every iteration and
// reported beside it (extra.senderSide). Frames are shared Frame objects framed once (the fan-out case:
// one publish framed once, written to thousands of sockets); the baseline frames on every send.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WsConnection } from '../src/adapters/transport-ws.js';
import { encodeEvent } from '../src/core/codec.js';
import type { Frame } from '../src/core/ports.js';
import {
  check,
  comparisonTable,
  machine,
  median,
  round,
  runPairs,
  type BenchModule,
  type BenchReport,
  type Comparison,
  type PairSpec,
  type RunOptions,
} from './lib/report.js';

/** A waiter left pending this long means the bytes never arrived: report, do not hang. */
const STALL_MS = 5_000;

export type Variant = 'naive-send' | 'preframed' | 'send-corked';

interface Link {
  readonly variant: Variant;
  readonly client: WebSocket;
  readonly server: WebSocket;
  readonly conn: WsConnection;
  received: number;
  receivedBytes: number;
  written: number;
  writtenBytes: number;
  waitFor: number;
  resolve: (() => void) | null;
  waitingSinceMs: number;
}

export interface WritePathRig {
  readonly links: Readonly<Record<Variant, Link>>;
  /** Writes `frames` through the variant's path, then resolves once the client has them all. */
  deliver(variant: Variant, frames: readonly Frame[]): Promise<void>;
  /** Synchronous write time of each deliver() call, per variant and frame count. */
  readonly senderNs: Map<string, number[]>;
  readonly stalls: string[];
  close(): Promise<void>;
}

export function framesOf(k: number, padBytes = 60): Frame[] {
  return Array.from({ length: k }, (_, i) =>
    encodeEvent({ channel: 'odin.token.ABC.trade', offset: i + 2, prev: i + 1, data: JSON.stringify({ i, price: 1.25 + i, pad: 'x'.repeat(padBytes) }) }),
  );
}

export async function startRig(): Promise<WritePathRig> {
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  const pending: Array<(ws: WebSocket) => void> = [];
  http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => pending.shift()?.(ws)));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const stalls: string[] = [];

  const connect = async (variant: Variant): Promise<Link> => {
    const serverSide = new Promise<WebSocket>((resolve) => pending.push(resolve));
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    const server = await serverSide;
    const conn = new WsConnection(server, variant === 'preframed' ? 'preframed' : 'send');
    const link: Link = {
      variant,
      client,
      server,
      conn,
      received: 0,
      receivedBytes: 0,
      written: 0,
      writtenBytes: 0,
      waitFor: 0,
      resolve: null,
      waitingSinceMs: 0,
    };
    client.on('message', (data: Buffer) => {
      link.received++;
      link.receivedBytes += data.length;
      if (link.resolve !== null && link.received >= link.waitFor) {
        const resolve = link.resolve;
        link.resolve = null;
        resolve();
      }
    });
    return link;
  };
  const links = { 'naive-send': await connect('naive-send'), preframed: await connect('preframed'), 'send-corked': await connect('send-corked') };
  check(links.preframed.conn.mode === 'preframed', `the adapter chose ${links.preframed.conn.mode} instead of preframed`);

  const watchdog = setInterval(() => {
    for (const link of Object.values(links)) {
      if (link.resolve !== null && performance.now() - link.waitingSinceMs > STALL_MS) {
        stalls.push(`${link.variant}: waited for ${link.waitFor} messages, got ${link.received}`);
        const resolve = link.resolve;
        link.resolve = null;
        resolve();
      }
    }
  }, 1_000);
  watchdog.unref();

  const senderNs = new Map<string, number[]>();
  const deliver = (variant: Variant, frames: readonly Frame[]): Promise<void> => {
    const link = links[variant];
    const t0 = process.hrtime.bigint();
    if (variant === 'naive-send') {
      for (const frame of frames) link.server.send(frame.bytes, { binary: false, fin: true });
    } else {
      link.conn.write(frames);
    }
    const t1 = process.hrtime.bigint();
    const key = `${variant}/${frames.length}`;
    let samples = senderNs.get(key);
    if (samples === undefined) senderNs.set(key, (samples = []));
    if (samples.length < 1_000_000) samples.push(Number(t1 - t0));
    link.written += frames.length;
    for (const frame of frames) link.writtenBytes += frame.bytes.byteLength;
    if (link.received >= link.written) return Promise.resolve();
    link.waitFor = link.written;
    link.waitingSinceMs = performance.now();
    return new Promise<void>((resolve) => (link.resolve = resolve));
  };

  return {
    links,
    deliver,
    senderNs,
    stalls,
    async close() {
      clearInterval(watchdog);
      for (const link of Object.values(links)) {
        link.client.terminate();
        link.server.terminate();
      }
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Each path delivers exactly the frames written, byte for byte and in order. */
export async function validate(rig: WritePathRig): Promise<void> {
  const frames = framesOf(5);
  frames.push(encodeEvent({ channel: 'odin.token.ABC.trade', offset: 99, prev: 98, data: JSON.stringify({ big: 'y'.repeat(70_000) }) }));
  for (const variant of ['naive-send', 'preframed', 'send-corked'] as const) {
    const link = rig.links[variant];
    const seen: Buffer[] = [];
    const record = (data: Buffer): void => void seen.push(Buffer.from(data));
    link.client.on('message', record);
    await rig.deliver(variant, frames);
    link.client.off('message', record);
    check(rig.stalls.length === 0, `${variant}: ${rig.stalls.join('; ')}`);
    check(seen.length === frames.length, `${variant}: ${seen.length} messages for ${frames.length} frames`);
    seen.forEach((data, i) => check(data.equals(Buffer.from(frames[i]!.bytes)), `${variant}: message ${i} differs from what was written`));
  }
  rig.senderNs.clear();
}

export const bench: BenchModule = {
  name: 'write-path',
  title: 'Coalesced pre-framed write vs K separate ws.send (real loopback socket)',
  async run(options: RunOptions): Promise<BenchReport> {
    const started = performance.now();
    const rig = await startRig();
    try {
      await validate(rig);
      const ks = options.quick ? [10] : [1, 10, 100];
      const pairs: PairSpec[] = ks.map((k) => {
        const frames = framesOf(k);
        return {
          label: `K=${k}`,
          itemsPerIteration: k,
          itemName: 'frame',
          baseline: { name: 'naive: K × ws.send', fn: () => rig.deliver('naive-send', frames) },
          ours: { name: 'odin: one corked pre-framed write', fn: () => rig.deliver('preframed', frames) },
          others: [{ name: 'odin fallback: ws.send in cork', fn: () => rig.deliver('send-corked', frames) }],
        };
      });
      const comparisons: Comparison[] = await runPairs(pairs, options);
      // Let the last writes land, then check every byte written was received.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const delivery = Object.values(rig.links).map((l) => ({
        variant: l.variant,
        written: l.written,
        received: l.received,
        writtenBytes: l.writtenBytes,
        receivedBytes: l.receivedBytes,
      }));
      for (const d of delivery) {
        check(d.received === d.written, `${d.variant}: wrote ${d.written} frames, client received ${d.received}`);
      }
      check(rig.stalls.length === 0, rig.stalls.join('; '));
      const senderSide = ks.map((k) => {
        const naive = median(rig.senderNs.get(`naive-send/${k}`) ?? []);
        const ours = median(rig.senderNs.get(`preframed/${k}`) ?? []);
        const corked = median(rig.senderNs.get(`send-corked/${k}`) ?? []);
        return { label: `K=${k}`, naiveP50Ns: naive, preframedP50Ns: ours, sendCorkedP50Ns: corked, speedup: round(naive / ours, 2) };
      });
      options.print(comparisonTable(comparisons));
      options.print(
        'sender side only (synchronous write calls, median ns): ' +
          senderSide
            .map((s) => `${s.label}: naive ${s.naiveP50Ns}, preframed ${s.preframedP50Ns}, send-corked ${s.sendCorkedP50Ns} (${s.speedup}×)`)
            .join('; '),
      );
      return {
        name: 'write-path',
        title: this.title,
        baselineIs: 'K calls of ws.send(bytes) on the server-side WebSocket: ws frames each and writes each to the TCP socket',
        oursIs: 'WsConnection.write(frames) in preframed mode: cached wire bytes per Frame, socket.cork(), K socket.write(), uncork() → one writev',
        machine: machine(),
        comparisons,
        extra: { senderSide, delivery },
        notes: [
          'mitata figures are per delivered batch (write + loopback + client decode in the same process); extra.senderSide isolates the synchronous write calls',
          `frame size ${framesOf(1)[0]!.bytes.byteLength} bytes; permessage-deflate off (the preframed path requires it off)`,
        ],
        durationMs: Math.round(performance.now() - started),
      };
    } finally {
      await rig.close();
    }
  },
};
