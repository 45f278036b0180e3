// The doctor's port check names who holds a taken port: a running odin (its /health says so), another HTTP
// server, or something that does not speak HTTP. Real listeners on loopback, no doubles.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkListen, probeHostOf } from '../../src/server/doctor-port.js';
import { VERSION } from '../../src/server/version.js';
import type { RunningServer } from '../../src/server/server.js';
import { serve } from '../e2e/support.js';

let odin: RunningServer | undefined;
let other: HttpServer | NetServer | undefined;

afterEach(async () => {
  await odin?.close();
  odin = undefined;
  other?.close();
  other = undefined;
});

async function listening<T extends HttpServer | NetServer>(server: T): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('the doctor on a taken port', () => {
  it('says the port is free when it is', async () => {
    const probe = createNetServer();
    const port = await listening(probe);
    await new Promise((resolve) => probe.close(resolve));
    expect(await checkListen('127.0.0.1', port)).toEqual({ name: 'listen', status: 'ok', detail: `127.0.0.1:${port} is free` });
  });

  it('names a running odin, its version and its broker', async () => {
    odin = await serve();
    const check = await checkListen('127.0.0.1', odin.port);
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1:${odin.port} is taken by a running odin \\(version ${VERSION.replace(/\./g, '\\.')}, up \\d+ s, broker memory live\\); stop it \\(SIGTERM drains it\\) or pick another --port$`,
      ),
    );
  });

  it('tells another HTTP server from odin', async () => {
    other = createHttpServer((_req, res) => res.writeHead(404).end('not here'));
    const port = await listening(other);
    expect((await checkListen('127.0.0.1', port)).detail).toBe(
      `127.0.0.1:${port} is taken by another HTTP server (its /health answered 404); stop it or pick another --port`,
    );
  });

  it('says so when the holder does not speak HTTP', async () => {
    other = createNetServer((socket) => socket.destroy());
    const port = await listening(other);
    expect((await checkListen('127.0.0.1', port)).detail).toBe(
      `127.0.0.1:${port} is taken (EADDRINUSE) by a process that does not answer HTTP; pick another --port`,
    );
  });

  it('probes a wildcard address on loopback', () => {
    expect([probeHostOf('0.0.0.0'), probeHostOf('::'), probeHostOf('::1'), probeHostOf('10.1.2.3')]).toEqual(['127.0.0.1', '[::1]', '[::1]', '10.1.2.3']);
  });
});
