// Helpers for the JetStream integration tests: a gateway on a real NATS server (startServer with the
// nats.* settings, as `odin serve --nats` would), a plain NATS client for publishing behind the gateway's
// back, a namespace per test (stream name and subjects), and polling with a deadline.
import { Writable } from 'node:stream';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

export interface NatsTarget {
  readonly url?: string;
  readonly servers?: readonly string[];
  readonly auth: { readonly user?: string; readonly password?: string };
}

function serversOf(target: NatsTarget): string[] {
  return [...(target.servers ?? [target.url!])];
}

let counter = 0;

/** A stream and subjects no other test uses, so tests can share a server (NATS_URL). */
export function namespace(): { readonly stream: string; readonly prefix: string; readonly subjects: string } {
  const id = `t${process.pid.toString(36)}${(++counter).toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return { stream: `ODIN_${id}`, prefix: id, subjects: `${id}.token.>,${id}.global.>` };
}

export interface Gateway extends RunningServer {
  readonly logs: Array<Record<string, unknown>>;
}

/** The real server on 127.0.0.1, JetStream as its broker. `settings` are config paths → text. */
export async function serveOnNats(target: NatsTarget, ns: ReturnType<typeof namespace>, settings: Record<string, string | number> = {}): Promise<Gateway> {
  const all: Record<string, string | number> = {
    'server.host': '127.0.0.1',
    'server.port': 0,
    'log.level': 'debug',
    'nats.servers': serversOf(target).join(','),
    'nats.stream': ns.stream,
    'nats.subjects': ns.subjects,
    'nats.heartbeatMs': 500,
    'gateway.drainTimeoutMs': 1_000,
    ...(target.auth.user ? { 'nats.user': target.auth.user, 'nats.password': target.auth.password ?? '' } : {}),
    ...settings,
  };
  const flags = Object.entries(all).map(([path, value]) => ({ path, raw: String(value), flag: `--set ${path}` }));
  const logs: Array<Record<string, unknown>> = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const running = await startServer(loadConfig({ flags }).config, { logDestination });
  return Object.assign(running, { logs });
}

export interface PlainClient {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  close(): Promise<void>;
}

/** A NATS JetStream client that is not the gateway: a backend publishing straight into the stream. */
export async function plainClient(target: NatsTarget): Promise<PlainClient> {
  const nc = await natsConnect({
    servers: serversOf(target),
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
    ...(target.auth.user ? { user: target.auth.user, pass: target.auth.password } : {}),
  });
  return { nc, js: jetstream(nc, { timeout: 5_000 }), jsm: await jetstreamManager(nc), close: () => nc.close() };
}

export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function httpPublish(
  gateway: RunningServer,
  channel: string,
  data: unknown,
): Promise<{ status: number; body: { epoch?: string; offset?: number; error?: string; message?: string } }> {
  const response = await fetch(`${gateway.url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  return { status: response.status, body: (await response.json()) as { epoch?: string; offset?: number } };
}

/** Every message the stream holds now, in order, read by a plain ordered consumer. */
export async function streamContents(plain: PlainClient, stream: string): Promise<Array<{ subject: string; seq: number }>> {
  const { state } = await plain.jsm.streams.info(stream);
  const out: Array<{ subject: string; seq: number }> = [];
  if (state.messages === 0) return out;
  // Retried: right after a cluster node dies, JetStream may need many seconds to place a new consumer.
  let consumer;
  for (const deadline = Date.now() + 30_000; ;) {
    try {
      consumer = await plain.js.consumers.get(stream, { opt_start_seq: state.first_seq, deliver_policy: 'by_start_sequence' as never });
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
  const messages = await consumer.consume({ max_messages: 1_000 });
  for await (const m of messages) {
    out.push({ subject: m.subject, seq: m.seq });
    if (m.seq >= state.last_seq) break;
  }
  return out;
}
