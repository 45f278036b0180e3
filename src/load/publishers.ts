// How the load tool publishes: over HTTP (POST /publish, odin's endpoint), straight into NATS (--nats: the
// gateway reads the JetStream stream, so a core NATS publish on a stored subject reaches it), or through a
// command (--publish-cmd) for servers with neither: the command is started once and reads one
// {"channel","data"} JSON line per event on its stdin.
//
// Every publisher is bounded: at most `inFlightMax` requests (or a blocked pipe) at once; an event that
// would exceed it is skipped and counted, because a publisher that queues without bound measures its own
// queue instead of the server.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { bump } from './failures.js';

export interface PublishStats {
  /** Handed to the server (a request written, a NATS publish buffered, a line written). */
  sent: number;
  /** Accepted: a 2xx answer; for NATS and commands, which answer nothing, every sent event. */
  ok: number;
  okPerChannel: Record<string, number>;
  failures: Record<string, number>;
  /** Not sent: the publisher was at its in-flight bound. */
  skipped: number;
  /** Sent again once: the server closed an idle keep-alive connection as the request went out on it. */
  retried: number;
}

export interface Publisher {
  readonly kind: string;
  publish(channel: string, data: string): void;
  readonly inFlight: number;
  readonly stats: PublishStats;
  /** Waits for what is in flight (bounded), then releases connections and processes. */
  close(): Promise<void>;
}

export function newStats(): PublishStats {
  return { sent: 0, ok: 0, okPerChannel: {}, failures: {}, skipped: 0, retried: 0 };
}

function accepted(stats: PublishStats, channel: string): void {
  stats.ok++;
  bump(stats.okPerChannel, channel);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

export interface HttpPublisherOptions {
  /** The server's base URL (http://127.0.0.1:8080); events go to POST /publish. */
  readonly baseUrl: string;
  readonly apiKey: string | null;
  /** Keep-alive connections to the server. */
  readonly sockets: number;
  readonly inFlightMax: number;
  readonly timeoutMs: number;
}

export class HttpPublisher implements Publisher {
  readonly kind = 'http';
  readonly stats = newStats();
  inFlight = 0;
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(private readonly options: HttpPublisherOptions) {
    this.url = new URL('/publish', options.baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets: options.sockets });
  }

  publish(channel: string, data: string): void {
    if (this.inFlight >= this.options.inFlightMax) {
      this.stats.skipped++;
      return;
    }
    this.stats.sent++;
    this.inFlight++;
    const body = `{"channel":${JSON.stringify(channel)},"data":${data}}`;
    let settled = false;
    const done = (failure: string | null): void => {
      if (settled) return;
      settled = true;
      this.inFlight--;
      if (failure === null) accepted(this.stats, channel);
      else bump(this.stats.failures, failure);
    };
    this.send(body, done, true);
  }

  private send(body: string, done: (failure: string | null) => void, mayRetry: boolean): void {
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (this.options.apiKey !== null) headers.authorization = `Bearer ${this.options.apiKey}`;
    const req = request(this.url, { method: 'POST', agent: this.agent, headers, timeout: this.options.timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? null : `HTTP_${res.statusCode}`));
      res.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? 'ERROR'));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('publish timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A server that closes idle keep-alive connections (Node's default: after 5 s) can close one just as
      // a request goes out on it: the request never reached it, so it is sent once more, on a new
      // connection — the retry Node's http documentation gives for req.reusedSocket.
      if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET') {
        this.stats.retried++;
        return this.send(body, done, false);
      }
      done(error.code ?? 'ERROR');
    });
    req.end(body);
  }

  async close(): Promise<void> {
    await until(() => this.inFlight === 0, this.options.timeoutMs);
    this.agent.destroy();
  }
}

/** NATS core publishes onto the stream's subjects (no acknowledgement per event: the gateway's deliveries
 * are the check). Loaded lazily, so HTTP runs never load the NATS client. */
export async function openNatsPublisher(servers: string, connectTimeoutMs: number): Promise<Publisher> {
  const { connectNats } = await import('../adapters/nats/connection.js');
  const nc = await connectNats({ servers: servers.split(','), connectTimeoutMs, name: 'odin-load' });
  const stats = newStats();
  const encoder = new TextEncoder();
  return {
    kind: 'nats',
    stats,
    inFlight: 0,
    publish(channel, data) {
      stats.sent++;
      try {
        nc.publish(channel, encoder.encode(data));
        accepted(stats, channel);
      } catch (error) {
        bump(stats.failures, (error as { code?: string }).code ?? 'NATS_ERROR');
      }
    },
    async close() {
      await Promise.race([nc.flush(), new Promise((resolve) => setTimeout(resolve, connectTimeoutMs))]).catch(() => undefined);
      await nc.close().catch(() => undefined);
    },
  };
}

/** A command started once (through the shell) that publishes the {"channel","data"} lines it reads. */
export class CommandPublisher implements Publisher {
  readonly kind = 'command';
  readonly stats = newStats();
  readonly inFlight = 0;
  private readonly child: ChildProcess;
  private blocked = false;
  private exited = false;

  constructor(
    command: string,
    private readonly closeTimeoutMs: number,
  ) {
    this.child = spawn(command, { shell: true, stdio: ['pipe', 'inherit', 'inherit'] });
    this.child.on('exit', () => (this.exited = true));
    this.child.on('error', () => (this.exited = true));
    this.child.stdin!.on('drain', () => (this.blocked = false));
    this.child.stdin!.on('error', () => (this.exited = true));
  }

  publish(channel: string, data: string): void {
    if (this.exited) {
      bump(this.stats.failures, 'PUBLISH_CMD_EXITED');
      return;
    }
    // The pipe's buffer is full: the command is not keeping up; skip rather than queue without bound.
    if (this.blocked) {
      this.stats.skipped++;
      return;
    }
    this.stats.sent++;
    this.blocked = !this.child.stdin!.write(`{"channel":${JSON.stringify(channel)},"data":${data}}\n`);
    accepted(this.stats, channel);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.child.stdin!.end();
    await until(() => this.exited, this.closeTimeoutMs);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
