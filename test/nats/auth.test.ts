// The credentials NATS deployments use — token, user/password, NKey, TLS with a private CA — each
// accepted when right and refused at start-up with one sentence that says what to check when wrong.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { BrokerStartError, startServer } from '../../src/server/server.js';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { namespace } from './support.js';

/** Starts a gateway with these nats.* settings; answers its epoch, or the start-up error. */
async function tryStart(settings: Record<string, string>): Promise<{ epoch: string } | { error: Error }> {
  const ns = namespace();
  const all = {
    'server.host': '127.0.0.1',
    'server.port': '0',
    'log.level': 'silent',
    'nats.stream': ns.stream,
    'nats.subjects': ns.subjects,
    'nats.connectTimeoutMs': '2000',
    ...settings,
  };
  const flags = Object.entries(all).map(([path, raw]) => ({ path, raw, flag: `--set ${path}` }));
  try {
    const running = await startServer(loadConfig({ flags }).config);
    const epoch = running.gateway.stats().broker.epoch;
    await running.close();
    return { epoch };
  } catch (error) {
    return { error: error as Error };
  }
}

function refusal(result: Awaited<ReturnType<typeof tryStart>>): string {
  if (!('error' in result)) throw new Error('expected a start-up error');
  expect(result.error).toBeInstanceOf(BrokerStartError);
  return result.error.message;
}

describe('token and user/password', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNats({ config: 'authorization { users: [ { user: "odin", password: "right-password" } ] }' });
  });
  afterAll(() => server?.close());

  it('connects with the right password and refuses a wrong one with what to check', async () => {
    expect(await tryStart({ 'nats.servers': server.url, 'nats.user': 'odin', 'nats.password': 'right-password' })).toMatchObject({ epoch: expect.any(String) });
    expect(refusal(await tryStart({ 'nats.servers': server.url, 'nats.user': 'odin', 'nats.password': 'wrong-password' }))).toMatch(
      new RegExp(`^NATS at ${server.url} refused our credentials \\(.*\\); check nats.token, nats.user/nats.password, nats.nkeySeed or nats.credsFile$`),
    );
    expect(refusal(await tryStart({ 'nats.servers': server.url }))).toMatch(/refused our credentials/);
  });

  it('connects with a token and refuses a wrong one', async () => {
    const tokenServer = await startNats({ config: 'authorization { token: "s3cret-token" }' });
    try {
      expect(await tryStart({ 'nats.servers': tokenServer.url, 'nats.token': 's3cret-token' })).toMatchObject({ epoch: expect.any(String) });
      expect(refusal(await tryStart({ 'nats.servers': tokenServer.url, 'nats.token': 'not-the-token' }))).toMatch(/refused our credentials/);
    } finally {
      await tokenServer.close();
    }
  });
});

describe('NKey', () => {
  it('connects with the user seed the server knows, and refuses another', async () => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const server = await startNats({ config: `authorization { users: [ { nkey: "${user.getPublicKey()}" } ] }` });
    try {
      expect(await tryStart({ 'nats.servers': server.url, 'nats.nkeySeed': seed })).toMatchObject({ epoch: expect.any(String) });
      const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
      expect(refusal(await tryStart({ 'nats.servers': server.url, 'nats.nkeySeed': stranger }))).toMatch(/refused our credentials/);
    } finally {
      await server.close();
    }
  });
});

describe('TLS with a private CA', () => {
  let dir: string;
  let server: NatsServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'odin-tls-'));
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=odin test CA');
    ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1,DNS:localhost" > san.ext'], { cwd: dir });
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
    server = await startNats({ config: `tls { cert_file: "${join(dir, 'server.crt')}", key_file: "${join(dir, 'server.key')}" }` });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects when the CA is given, and says to check the TLS settings when it is not', async () => {
    const tlsUrl = server.url.replace('nats://', 'tls://');
    expect(await tryStart({ 'nats.servers': tlsUrl, 'nats.tlsCaFile': join(dir, 'ca.crt') })).toMatchObject({ epoch: expect.any(String) });
    expect(refusal(await tryStart({ 'nats.servers': tlsUrl }))).toMatch(
      new RegExp(`^TLS with NATS at ${tlsUrl} failed \\(.*\\); check nats.tlsCaFile, nats.tlsCertFile, nats.tlsKeyFile and the server's tls settings$`),
    );
    expect(refusal(await tryStart({ 'nats.servers': tlsUrl, 'nats.tlsCaFile': join(dir, 'missing.crt') }))).toBe(
      `cannot read the NATS TLS CA file ${join(dir, 'missing.crt')} (ENOENT)`,
    );
  });
});
