// End-to-end helpers: a real server on 127.0.0.1 port 0 and raw `ws` clients that record every frame, so
// the tests see exactly what crosses the wire.
import WebSocket from 'ws';
import type { ServerMessage } from '../../src/core/protocol.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

export async function serve(settings: Record<string, string | number> = {}): Promise<RunningServer> {
  const all: Record<string, string | number> = { 'server.host': '127.0.0.1', 'server.port': 0, 'log.level': 'silent', ...settings };
  const flags = Object.entries(all).map(([path, value]) => ({ path, raw: String(value), flag: `--set ${path}` }));
  return startServer(loadConfig({ flags }).config);
}

export interface Probe {
  readonly ws: WebSocket;
  /** Every text frame received, raw, in order. */
  readonly raw: Buffer[];
  readonly messages: ServerMessage[];
  closed: { code: number; reason: string } | null;
  send(message: unknown): void;
  /** Resolves with the first message (from `from` on) that satisfies `match`. */
  waitFor<T extends ServerMessage>(match: (m: ServerMessage) => m is T, from?: number, timeoutMs?: number): Promise<T>;
  waitForClose(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  ofType<K extends ServerMessage['type']>(type: K): Extract<ServerMessage, { type: K }>[];
  close(): Promise<void>;
}

export const is =
  <K extends ServerMessage['type']>(type: K, extra: (m: Extract<ServerMessage, { type: K }>) => boolean = () => true) =>
  (m: ServerMessage): m is Extract<ServerMessage, { type: K }> =>
    m.type === type && extra(m as Extract<ServerMessage, { type: K }>);

function until<T>(check: () => T | undefined, what: string, timeoutMs: number, subscribe: (wake: () => void) => () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const found = check();
    if (found !== undefined) return resolve(found);
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = subscribe(() => {
      const value = check();
      if (value === undefined) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

export async function probe(server: RunningServer, query = ''): Promise<Probe> {
  const ws = new WebSocket(`${server.wsUrl}${query}`);
  const raw: Buffer[] = [];
  const messages: ServerMessage[] = [];
  const listeners = new Set<() => void>();
  const wake = () => listeners.forEach((l) => l());
  const p: Probe = {
    ws,
    raw,
    messages,
    closed: null,
    send: (message) => ws.send(JSON.stringify(message)),
    waitFor: (match, from = 0, timeoutMs = 5_000) =>
      until(
        () => messages.slice(from).find(match),
        'a matching message',
        timeoutMs,
        (l) => (listeners.add(l), () => listeners.delete(l)),
      ),
    waitForClose: (timeoutMs = 5_000) =>
      until(
        () => p.closed ?? undefined,
        'close',
        timeoutMs,
        (l) => (listeners.add(l), () => listeners.delete(l)),
      ),
    ofType: (type) => messages.filter((m) => m.type === type) as never,
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close(1000);
      await p.waitForClose();
    },
  };
  ws.on('message', (data: Buffer) => {
    raw.push(data);
    messages.push(JSON.parse(data.toString('utf8')) as ServerMessage);
    wake();
  });
  ws.on('close', (code, reason) => {
    p.closed = { code, reason: reason.toString() };
    wake();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await p.waitFor(is('welcome'));
  return p;
}

export async function publish(
  server: RunningServer,
  channel: string,
  data: unknown,
): Promise<{ status: number; body: { epoch?: string; offset?: number; error?: string } }> {
  const response = await fetch(`${server.url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  return { status: response.status, body: (await response.json()) as { epoch?: string; offset?: number } };
}

/** Opens a raw upgrade and reports the HTTP status the server answered with (or 101). */
export function upgradeStatus(
  server: RunningServer,
  query = '',
): Promise<{ status: number; retryAfter: string | null; ws: WebSocket | null; error: string | null }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.wsUrl}${query}`);
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] ?? null, ws: null, error: null });
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => resolve({ status: 101, retryAfter: null, ws, error: null }));
    ws.on('error', (error: NodeJS.ErrnoException) => resolve({ status: 0, retryAfter: null, ws: null, error: error.code ?? error.message }));
  });
}
