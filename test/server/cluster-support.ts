// `odin serve --workers N` as a child process for the tests: its log lines parsed, its URL read from the
// primary's announcement, and small WebSocket client helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { ClusterStats } from '../../src/server/cluster/stats.js';

export const BIN = fileURLToPath(new URL('../../bin/odin.mjs', import.meta.url));

export interface Msg {
  type: string;
  [k: string]: unknown;
}

export interface Client {
  readonly ws: WebSocket;
  readonly messages: Msg[];
  closed: number | null;
}

export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A client subscribed (resolves on "subscribed"); every message it gets is kept, parsed. */
export function client(wsUrl: string, subscribe: Record<string, unknown>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsUrl}?v=1`);
    const c: Client = { ws, messages: [], closed: null };
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', id: 1, ...subscribe })));
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Msg;
      c.messages.push(m);
      if (m.type === 'subscribed') resolve(c);
    });
    ws.on('close', (code) => (c.closed = code));
  });
}

export const events = (c: Client): Msg[] => c.messages.filter((m) => m.type === 'event');

export function positionOf(c: Client, channel: string): { epoch: string; offset: number; recovered?: boolean; replayed?: number } {
  return (c.messages.find((m) => m.type === 'subscribed')!.channels as Record<string, { epoch: string; offset: number }>)[channel]!;
}

export interface ClusterProcess {
  readonly child: ChildProcess;
  readonly logs: Array<Record<string, unknown>>;
  readonly url: string;
  readonly wsUrl: string;
  readonly exited: Promise<number | null>;
  stats(): Promise<ClusterStats>;
  kill(): Promise<void>;
}

export async function startCluster(args: readonly string[]): Promise<ClusterProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const logs: Array<Record<string, unknown>> = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  const announced = await Promise.race([
    until(() => logs.find((l) => /^cluster of \d+ workers listening on/.test(String(l.msg))), 'the cluster to listen', 30_000),
    exited.then((code) => Promise.reject(new Error(`odin serve exited (${code}) before listening`))),
  ]);
  const [, url, wsUrl] = /listening on (\S+) \(WebSocket (\S+)\)/.exec(String(announced.msg))!;
  return {
    child,
    logs,
    url: url!,
    wsUrl: wsUrl!,
    exited,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as ClusterStats,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
