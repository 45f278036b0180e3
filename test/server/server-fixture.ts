// Starts the real server (startServer) on 127.0.0.1:0 with settings given as `section.key` → text, the
// same way flags arrive, and offers small HTTP and WebSocket client helpers.
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

export interface Started extends RunningServer {
  /** Every log line the server wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
}

export async function start(settings: Record<string, string> = {}): Promise<Started> {
  const flags = Object.entries({ 'server.host': '127.0.0.1', 'server.port': '0', 'log.level': 'debug', ...settings }).map(([path, raw]) => ({
    path,
    raw,
    flag: `--set ${path}`,
  }));
  const { config } = loadConfig({ flags });
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const running = await startServer(config, { logDestination: destination });
  return Object.assign(running, { logs });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

export async function request(server: RunningServer, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  // A body is JSON unless the caller says otherwise (POST /publish refuses anything else with 415).
  const sent =
    body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type') ? { 'Content-Type': 'application/json', ...headers } : headers;
  const res = await fetch(`${server.url}${path}`, { method, headers: sent, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface Refusal {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

/** Connects a real ws client: resolves with the open socket and its first message, or with the HTTP refusal. */
export function connect(url: string, protocols?: string | string[]): Promise<{ ws: WebSocket; welcome: unknown } | { refusal: Refusal }> {
  return settle(new WebSocket(url, protocols));
}

/** Waits for an already created client to open (first message) or be refused. */
export function settle(ws: WebSocket): Promise<{ ws: WebSocket; welcome: unknown } | { refusal: Refusal }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve({ ws, welcome: JSON.parse(String(data)) }));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // keep text
        }
        resolve({ refusal: { status: res.statusCode ?? 0, headers: res.headers, body } });
        ws.terminate();
      });
    });
    ws.once('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}

export async function opened(url: string, protocols?: string | string[]): Promise<{ ws: WebSocket; welcome: unknown }> {
  const result = await connect(url, protocols);
  if ('refusal' in result) throw new Error(`refused: ${JSON.stringify(result.refusal)}`);
  return result;
}

export async function refused(url: string, protocols?: string | string[]): Promise<Refusal> {
  const result = await connect(url, protocols);
  if (!('refusal' in result)) {
    result.ws.terminate();
    throw new Error('expected a refusal, got an open WebSocket');
  }
  return result.refusal;
}

export async function openedSocket(ws: WebSocket): Promise<WebSocket> {
  const result = await settle(ws);
  if ('refusal' in result) throw new Error(`refused: ${JSON.stringify(result.refusal)}`);
  return result.ws;
}

export async function refusedSocket(ws: WebSocket): Promise<Refusal> {
  const result = await settle(ws);
  if (!('refusal' in result)) {
    result.ws.terminate();
    throw new Error('expected a refusal, got an open WebSocket');
  }
  return result.refusal;
}
