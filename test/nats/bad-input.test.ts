// Wrong stream configuration, an unreachable server, refused credentials, no JetStream, a channel outside
// the stream: each is one clear sentence at start-up (and a non-zero exit from the CLI, no stack trace)
// or a clean refusal — never a crash, a hang, or a gateway that starts and silently serves nothing.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RetentionPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNatsBroker } from '../../src/adapters/broker-nats.js';
import { loadConfig } from '../../src/server/config.js';
import { BrokerStartError, startServer } from '../../src/server/server.js';
import { freePort, startNats, type NatsServer } from '../support/nats-fixture.js';
import { namespace, plainClient, serveOnNats, type PlainClient } from './support.js';

const BIN = fileURLToPath(new URL('../../bin/odin.mjs', import.meta.url));

function odin(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `--nats` and the settings of `target` as CLI arguments. */
function natsArgs(server: NatsServer, ns: ReturnType<typeof namespace>): string[] {
  const auth = server.auth.user ? ['--set', `nats.user=${server.auth.user}`, '--set', `nats.password=${server.auth.password}`] : [];
  return ['--nats', server.url, '--set', `nats.stream=${ns.stream}`, '--set', `nats.subjects=${ns.subjects}`, ...auth];
}

async function startWith(settings: Record<string, string>): Promise<unknown> {
  const flags = Object.entries({ 'server.host': '127.0.0.1', 'server.port': '0', 'log.level': 'silent', ...settings }).map(([path, raw]) => ({
    path,
    raw,
    flag: `--set ${path}`,
  }));
  try {
    const running = await startServer(loadConfig({ flags }).config);
    await running.close();
    return null;
  } catch (error) {
    return error;
  }
}

let nats: NatsServer;
let backend: PlainClient;

beforeAll(async () => {
  nats = await startNats();
  backend = await plainClient(nats);
});
afterAll(async () => {
  await backend?.close();
  await nats?.close();
});

describe('a stream that breaks a guarantee', () => {
  it('is refused at start-up with every problem and what to change; the CLI exits 78 with one line', async () => {
    const ns = namespace();
    await backend.jsm.streams.add({ name: ns.stream, subjects: [`${ns.prefix}.token.>`], retention: RetentionPolicy.Interest, max_msgs_per_subject: 10 });
    const expected =
      `stream ${ns.stream} cannot be used: ` +
      `subjects: wanted ["${ns.prefix}.token.>","${ns.prefix}.global.>"], found ["${ns.prefix}.token.>"] (${ns.prefix}.global.> not covered); add them to the stream or set nats.subjects to what it stores; ` +
      'retention: wanted limits, found interest (messages would disappear when consumed, so history would have holes); use a limits stream; ' +
      "max_msgs_per_subject: wanted unlimited, found 10 (a channel's older events would vanish from the middle of the stream and a replay could be partial); set it to -1";
    const cli = await odin(['serve', '--port', '0', ...natsArgs(nats, ns)]);
    expect(cli.code).toBe(78);
    expect(cli.stderr).toBe(`odin serve: ${expected}\n`);
    const error = (await startWith({
      'nats.servers': nats.url,
      'nats.stream': ns.stream,
      'nats.subjects': ns.subjects,
      ...(nats.auth.user ? { 'nats.user': nats.auth.user, 'nats.password': nats.auth.password! } : {}),
    })) as BrokerStartError;
    expect(error).toBeInstanceOf(BrokerStartError);
    expect([error.message, error.exitCode]).toEqual([expected, 78]);
  });

  it('starts on a stream whose limits merely differ, and says which and how', async () => {
    const ns = namespace();
    await backend.jsm.streams.add({ name: ns.stream, subjects: [`${ns.prefix}.>`], max_age: nanos(60_000), max_msgs: 500 });
    const gateway = await serveOnNats(nats, ns);
    // Anonymous mode's own warning (docs/security.md) is not about the stream.
    const warnings = gateway.logs
      .filter((l) => l.level === 40)
      .map((l) => l.msg)
      .filter((m) => !String(m).startsWith('ANONYMOUS MODE'));
    await gateway.close();
    expect(warnings).toEqual([
      `stream ${ns.stream} differs from the configuration: subjects: the stream also stores ${ns.prefix}.>, which the gateway will fan out too`,
      `stream ${ns.stream} differs from the configuration: max_age: wanted 30000 ms, found 60000 ms`,
      `stream ${ns.stream} differs from the configuration: max_msgs: wanted 100000, found 500`,
      `stream ${ns.stream} differs from the configuration: max_bytes: wanted 52428800, found unlimited`,
    ]);
  });
});

describe('servers that cannot be used', () => {
  it('an unreachable server: one line naming it, exit 1, within the connect timeout', async () => {
    const port = await freePort();
    const started = Date.now();
    const cli = await odin(['serve', '--port', '0', '--nats', `nats://127.0.0.1:${port}`, '--set', 'nats.connectTimeoutMs=1000']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe(
      `odin serve: cannot reach NATS at nats://127.0.0.1:${port} (ECONNREFUSED); is nats-server running there, and is the address right?\n`,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a server without JetStream: says to enable it', async () => {
    const plain = await startNats({ jetstream: false });
    try {
      const error = (await startWith({ 'nats.servers': plain.url, 'nats.requestTimeoutMs': '1000' })) as Error;
      expect(error).toBeInstanceOf(BrokerStartError);
      expect(error.message).toMatch(new RegExp(`^JetStream is not available at ${plain.url} \\(.+\\); start nats-server with -js \\(--jetstream\\)$`));
    } finally {
      await plain.close();
    }
  });
});

describe('the broker port itself', () => {
  it('refuses a channel outside the stream at once, naming the subjects, and publishes inside it', async () => {
    const ns = namespace();
    const broker = await openNatsBroker({
      servers: [nats.url],
      auth: nats.auth,
      stream: { name: ns.stream, subjects: [`${ns.prefix}.>`], maxAgeMs: 30_000, maxMsgs: 1_000, maxBytes: 1 << 20, storage: 'memory', replicas: 1 },
    });
    try {
      const outside = await new Promise((resolve) => broker.publish('other.channel', '1', resolve));
      expect(outside).toEqual({
        ok: false,
        reason: `channel "other.channel" is outside stream ${ns.stream}, which stores ${ns.prefix}.>`,
        outsideStream: true,
      });
      const inside = await new Promise((resolve) => broker.publish(`${ns.prefix}.x`, '{"a":1}', resolve));
      expect(inside).toEqual({ ok: true, epoch: broker.epoch(), offset: 1 });
    } finally {
      await broker.close();
    }
  });
});

describe('odin publish', () => {
  it('publishes straight to NATS and over HTTP, printing the assigned position; refuses a channel outside the stream', async () => {
    const ns = namespace();
    const gateway = await serveOnNats(nats, ns);
    try {
      const auth: Record<string, string> = nats.auth.user ? { WS_NATS_USER: nats.auth.user, WS_NATS_PASSWORD: nats.auth.password! } : {};
      const direct = await odin(['publish', `${ns.prefix}.token.A.trade`, '{"price":1}', '--nats', nats.url, '--stream', ns.stream], auth);
      expect([direct.code, direct.stderr]).toEqual([0, '']);
      const epoch = gateway.gateway.stats().broker.epoch;
      expect(JSON.parse(direct.stdout)).toEqual({ epoch, offset: 1 });
      const http = await odin(['publish', `${ns.prefix}.token.A.trade`, '{"price":2}', '--url', gateway.url]);
      expect(JSON.parse(http.stdout)).toEqual({ epoch, offset: 2 });
      const outside = await odin(['publish', 'other.channel', '1', '--nats', nats.url, '--stream', ns.stream], auth);
      expect(outside.code).toBe(1);
      expect(outside.stderr).toBe(
        `odin publish: channel "other.channel" is outside stream ${ns.stream}, which stores ${ns.prefix}.token.>, ${ns.prefix}.global.>\n`,
      );
      const overHttp = await odin(['publish', 'other.channel', '1', '--url', gateway.url]);
      expect(overHttp.stderr).toBe(
        `odin publish: ${gateway.url} answered 400 channel_outside_stream: channel "other.channel" is outside stream ${ns.stream}, which stores ${ns.prefix}.token.>, ${ns.prefix}.global.>\n`,
      );
    } finally {
      await gateway.close();
    }
  });
});
