// Connecting to NATS: servers, the usual kinds of credentials, TLS, and start-up failures turned into one
// clear sentence each (which servers, what went wrong, what to check) instead of a client stack trace.
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

export interface NatsAuth {
  readonly token?: string | null;
  readonly user?: string | null;
  readonly password?: string | null;
  /** An NKey user seed (`SU…`). */
  readonly nkeySeed?: string | null;
  /** A `.creds` file (JWT + NKey seed), as issued by an operator. */
  readonly credsFile?: string | null;
}

export interface NatsTls {
  readonly caFile?: string | null;
  readonly certFile?: string | null;
  readonly keyFile?: string | null;
}

export interface NatsConnectionSettings {
  /** `nats://host:port`, `tls://host:port` or `host:port`; the client fails over between them. */
  readonly servers: readonly string[];
  readonly auth?: NatsAuth;
  readonly tls?: NatsTls;
  /** Shown in the server's connection list (`nats server report connections`). */
  readonly name?: string;
  readonly connectTimeoutMs?: number;
}

/** NATS could not be reached or refused us at start-up: the message is the whole story, one line. */
export class NatsStartError extends Error {
  override readonly name = 'NatsStartError';
}

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new NatsStartError(`cannot read the NATS ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** The client's options; throws NatsStartError for unreadable credential or certificate files. */
export function connectionOptions(settings: NatsConnectionSettings): NodeConnectionOptions {
  const auth = hasCredentials(settings.auth) ? settings.auth : credentialsInUrls(settings.servers);
  const options: NodeConnectionOptions = {
    servers: settings.servers.map(withoutCredentials),
    name: settings.name ?? 'odin-gateway',
    timeout: settings.connectTimeoutMs ?? 5_000,
    // After the first connection: reconnect forever (an outage is reported through the broker status and
    // /ready, never by giving up), quickly enough that a restarted server is found within a second.
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: 5_000,
    maxPingOut: 2,
  };
  if (auth.token) options.token = auth.token;
  if (auth.user) {
    options.user = auth.user;
    options.pass = auth.password ?? '';
  }
  if (auth.credsFile) options.authenticator = credsAuthenticator(new TextEncoder().encode(readSecretFile(auth.credsFile, 'credentials file')));
  else if (auth.nkeySeed) options.authenticator = nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed.trim()));
  const tls = settings.tls ?? {};
  if (tls.caFile || tls.certFile || tls.keyFile) {
    options.tls = {
      ...(tls.caFile ? { ca: readSecretFile(tls.caFile, 'TLS CA file') } : {}),
      ...(tls.certFile ? { cert: readSecretFile(tls.certFile, 'TLS certificate file') } : {}),
      ...(tls.keyFile ? { key: readSecretFile(tls.keyFile, 'TLS key file') } : {}),
    };
  }
  return options;
}

function hasCredentials(auth: NatsAuth | undefined): auth is NatsAuth {
  return auth !== undefined && Boolean(auth.token || auth.user || auth.nkeySeed || auth.credsFile);
}

/**
 * Credentials written into a server URL, as nats-server's own tools accept them (`nats://user:pass@host`,
 * `nats://token@host`): the NATS client ignores them, so they are lifted into options here. The first URL
 * that carries any wins; explicit settings win over all.
 */
export function credentialsInUrls(servers: readonly string[]): NatsAuth {
  for (const server of servers) {
    const match = /^[a-z]+:\/\/([^@/]*)@/i.exec(server.trim());
    if (!match) continue;
    const userinfo = match[1]!;
    const colon = userinfo.indexOf(':');
    if (colon < 0) return { token: decodeURIComponent(userinfo) };
    return { user: decodeURIComponent(userinfo.slice(0, colon)), password: decodeURIComponent(userinfo.slice(colon + 1)) };
  }
  return {};
}

function withoutCredentials(server: string): string {
  return server.trim().replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1');
}

/** Servers without credentials, for messages: `nats://u:p@h:4222` must not leak its password. */
export function serversShown(servers: readonly string[]): string {
  return servers.map((s) => s.replace(/\/\/[^@/]*@/, '//')).join(', ');
}

/** The client's error in words an operator can act on. */
export function explainConnectError(error: unknown, servers: readonly string[]): string {
  const where = serversShown(servers);
  const err = error as Error & { code?: string; cause?: unknown };
  const message = `${err.message ?? String(error)}`;
  const causeCode = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.code;
  if (/authorization violation|authentication|user authentication|invalid.*(token|credentials)/i.test(message)) {
    return `NATS at ${where} refused our credentials (${message}); check nats.token, nats.user/nats.password, nats.nkeySeed or nats.credsFile`;
  }
  if (/tls|certificate|self.signed|SSL/i.test(message) || /CERT|TLS|SSL/.test(causeCode ?? '')) {
    return `TLS with NATS at ${where} failed (${message}); check nats.tlsCaFile, nats.tlsCertFile, nats.tlsKeyFile and the server's tls settings`;
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|timeout|connection refused/i.test(`${message} ${causeCode ?? ''}`)) {
    return `cannot reach NATS at ${where} (${causeCode ?? message}); is nats-server running there, and is the address right?`;
  }
  return `cannot connect to NATS at ${where}: ${message}`;
}

/** Connects once, with the settings' timeout; any failure is a NatsStartError with an explanation. */
export async function connectNats(settings: NatsConnectionSettings): Promise<NatsConnection> {
  if (settings.servers.length === 0) throw new NatsStartError('no NATS servers given (nats.servers / --nats)');
  const options = connectionOptions(settings);
  try {
    return await connect(options);
  } catch (error) {
    throw new NatsStartError(explainConnectError(error, settings.servers), { cause: error });
  }
}
