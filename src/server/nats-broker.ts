// `serve --nats URL`: the NATS JetStream broker from the validated config, and its start-up failures as
// one-line errors with an exit code. Imported lazily, so the embedded broker never loads the NATS client.
import type { LogLevel, Telemetry } from '../core/ports.js';
import { NatsStartError, openNatsBroker, StreamConfigError, type NatsBroker } from '../adapters/broker-nats.js';
import type { Config } from './config.js';

/** The broker of record could not be opened: unreachable, refused, or its stream is unusable. */
export class BrokerStartError extends Error {
  override readonly name = 'BrokerStartError';
  constructor(
    message: string,
    /** 78 (configuration) for a stream that breaks a guarantee, 1 otherwise. */
    readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function natsServersOf(config: Config): string[] {
  return config.nats.servers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export async function openConfiguredNats(
  config: Config,
  log: (level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>) => void,
  metrics?: Pick<Telemetry, 'gauge' | 'observe'>,
): Promise<NatsBroker> {
  const n = config.nats;
  try {
    return await openNatsBroker({
      servers: natsServersOf(config),
      auth: { token: n.token, user: n.user, password: n.password, nkeySeed: n.nkeySeed, credsFile: n.credsFile },
      tls: { caFile: n.tlsCaFile, certFile: n.tlsCertFile, keyFile: n.tlsKeyFile },
      connectTimeoutMs: n.connectTimeoutMs,
      stream: {
        name: n.stream,
        subjects: n.subjects,
        maxAgeMs: n.maxAgeMs,
        maxMsgs: n.maxMsgs,
        maxBytes: n.maxBytes,
        storage: n.storage,
        replicas: n.replicas,
      },
      warmupEventsMax: n.warmupEventsMax,
      subjectsMax: n.subjectsMax,
      heartbeatMs: n.heartbeatMs,
      requestTimeoutMs: n.requestTimeoutMs,
      historyReadsMax: n.historyReadsMax,
      log,
      ...(metrics !== undefined ? { metrics } : {}),
    });
  } catch (error) {
    if (error instanceof StreamConfigError) throw new BrokerStartError(error.message, 78, { cause: error });
    if (error instanceof NatsStartError) throw new BrokerStartError(error.message, 1, { cause: error });
    // A JetStream API error while ensuring the stream (e.g. replicas 3 on a single server): still one line.
    throw new BrokerStartError(`cannot set up stream ${n.stream} on NATS: ${(error as Error).message}`, 1, { cause: error });
  }
}
