// The doctor's port check: can `odin serve` listen where the configuration says? When the port is taken,
// say by whom if we can tell: a running odin answers /health with `"service":"odin"`, which is the common
// case (a gateway already started in another terminal, or a service unit next to a manual run).
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface PortCheck {
  readonly name: 'listen';
  readonly status: 'ok' | 'fail';
  readonly detail: string;
}

/** Long enough for a busy gateway to answer /health on loopback, short enough for a CLI. */
const HEALTH_PROBE_TIMEOUT_MS = 1_500;

/** Where to reach a server bound to `host` from this machine (a wildcard address means loopback). */
export function probeHostOf(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Who answers HTTP on host:port, in words, and whether it is odin; null when nothing does. */
export async function whoAnswers(host: string, port: number): Promise<{ readonly who: string; readonly odin: boolean } | null> {
  let response: Response;
  try {
    response = await fetch(`http://${probeHostOf(host)}:${port}/health`, { signal: AbortSignal.timeout(HEALTH_PROBE_TIMEOUT_MS) });
  } catch {
    return null;
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: some other HTTP server.
  }
  const health = (typeof body === 'object' && body !== null ? body : {}) as {
    service?: unknown;
    version?: unknown;
    uptimeS?: unknown;
    broker?: { kind?: unknown; status?: unknown };
  };
  if (health.service !== 'odin') return { who: `another HTTP server (its /health answered ${response.status})`, odin: false };
  const broker = health.broker !== undefined ? `, broker ${String(health.broker.kind)} ${String(health.broker.status)}` : '';
  return { who: `a running odin (version ${String(health.version)}, up ${String(health.uptimeS)} s${broker})`, odin: true };
}

export function checkListen(host: string, port: number): Promise<PortCheck> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') {
        resolve({ name: 'listen', status: 'fail', detail: `cannot listen on ${host}:${port} (${error.code ?? error.message})` });
        return;
      }
      void whoAnswers(host, port).then((holder) =>
        resolve({
          name: 'listen',
          status: 'fail',
          detail:
            holder === null
              ? `${host}:${port} is taken (EADDRINUSE) by a process that does not answer HTTP; pick another --port`
              : `${host}:${port} is taken by ${holder.who}; stop it${holder.odin ? ' (SIGTERM drains it)' : ''} or pick another --port`,
        }),
      );
    });
    server.listen(port, host, () => {
      const { port: bound } = server.address() as AddressInfo;
      server.close(() => resolve({ name: 'listen', status: 'ok', detail: `${host}:${bound} is free` }));
    });
  });
}
