// `odin publish --nats`: one event straight into the stream, as any backend's NATS client would publish
// it, answered with the position the gateway will show ({epoch: stream name@creation time, offset: seq}).
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, NatsStartError } from '../adapters/nats/connection.js';
import { epochOf } from '../adapters/nats/stream.js';
import { streamStores } from '../adapters/nats/subjects.js';
import type { Config } from './config.js';
import { natsServersOf } from './nats-broker.js';
import type { PublishAnswer } from './publish-cli.js';

export async function publishToNats(config: Config, channel: string, data: string): Promise<PublishAnswer> {
  const n = config.nats;
  let nc;
  try {
    nc = await connectNats({
      servers: natsServersOf(config),
      auth: { token: n.token, user: n.user, password: n.password, nkeySeed: n.nkeySeed, credsFile: n.credsFile },
      tls: { caFile: n.tlsCaFile, certFile: n.tlsCertFile, keyFile: n.tlsKeyFile },
      connectTimeoutMs: n.connectTimeoutMs,
      name: 'odin-publish',
    });
  } catch (error) {
    if (error instanceof NatsStartError) return { ok: false, message: error.message };
    throw error;
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: n.requestTimeoutMs });
    const info = await jsm.streams.info(n.stream);
    const subjects = info.config.subjects ?? [];
    if (!streamStores(channel, subjects))
      return { ok: false, message: `channel "${channel}" is outside stream ${n.stream}, which stores ${subjects.join(', ')}` };
    const ack = await jetstream(nc, { timeout: n.requestTimeoutMs }).publish(channel, data, { expect: { streamName: n.stream } });
    return { ok: true, epoch: epochOf(info), offset: ack.seq };
  } catch (error) {
    return { ok: false, message: `NATS did not store the event in stream ${n.stream}: ${(error as Error).message}` };
  } finally {
    await nc.close().catch(() => undefined);
  }
}
