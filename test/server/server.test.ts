// Composition: capacity inputs from config and the machine, the start-up capacity log line, a clean
// start-up failure when the port is taken, and what the drain says it did.
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { capacityInputOf, ListenError, memoryPlanOf, startServer } from '../../src/server/server.js';
import { connect, start, type Started } from './server-fixture.js';

/**
 * A WebSocket client that completes the handshake and then reads nothing and answers nothing — in
 * particular not the server's close frame, so only the drain deadline can end it.
 */
function deafClient(server: Started): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(server.port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () =>
      socket.write(
        [
          'GET /ws HTTP/1.1',
          `Host: 127.0.0.1:${server.port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      ),
    );
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('latin1');
      if (!seen.includes('"welcome"')) return;
      socket.off('data', onData);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

const detected = {
  memory: { bytes: 1024 * 1024 * 1024, source: 'fake' },
  fd: { soft: 1_024, hard: 4_096, source: 'fake' },
};

describe('capacityInputOf', () => {
  it('uses the machine unless the config overrides it', () => {
    const { config } = loadConfig();
    expect(capacityInputOf(config, detected, 100)).toEqual({
      configuredMax: config.admission.connectionsMax,
      memoryBudgetBytes: Math.floor(1024 * 1024 * 1024 * 0.8),
      baselineBytes: 100,
      // The two history stores (rings, embedded broker) get a sixteenth of the budget each.
      retainedBytes: 2 * Math.floor((1024 * 1024 * 1024 * 0.8) / 16),
      perConnectionBytes: config.resources.perConnectionBytes,
      fdLimit: 1_024,
      fdReserve: config.resources.fdReserve,
    });
    const overridden = loadConfig({
      env: { WS_RESOURCES_MEMORY_BYTES: '2097152', WS_RESOURCES_MEMORY_BUDGET_RATIO: '0.5', WS_RESOURCES_FD_LIMIT: '64', WS_RESOURCES_BASELINE_BYTES: '7' },
    }).config;
    expect(capacityInputOf(overridden, detected, 100)).toMatchObject({ memoryBudgetBytes: 1048576, fdLimit: 64, baselineBytes: 7 });
  });

  it('has no memory term without a limit', () => {
    const { config } = loadConfig();
    expect(capacityInputOf(config, { ...detected, memory: { bytes: null, source: 'none' } }, 0).memoryBudgetBytes).toBeNull();
  });
});

describe('memoryPlanOf', () => {
  const MiB = 1024 * 1024;
  it('gives each history store a sixteenth of the budget (4..256 MiB), 64 MiB without a limit, unless configured', () => {
    const { config } = loadConfig();
    const at = (bytes: number | null) => memoryPlanOf(config, { ...detected, memory: { bytes, source: 'fake' } });
    expect(at(512 * MiB)).toEqual({
      budgetBytes: Math.floor(512 * MiB * 0.8),
      historyBytesMax: Math.floor((512 * MiB * 0.8) / 16),
      brokerBytesMax: Math.floor((512 * MiB * 0.8) / 16),
    });
    expect(at(8 * 1024 * MiB)).toMatchObject({ historyBytesMax: 256 * MiB, brokerBytesMax: 256 * MiB });
    expect(at(32 * MiB)).toMatchObject({ historyBytesMax: 4 * MiB, brokerBytesMax: 4 * MiB });
    expect(at(null)).toEqual({ budgetBytes: null, historyBytesMax: 64 * MiB, brokerBytesMax: 64 * MiB });
    const set = loadConfig({ env: { WS_HISTORY_TOTAL_BYTES_MAX: String(10 * MiB), WS_BROKER_BYTES_MAX: String(20 * MiB) } }).config;
    expect(memoryPlanOf(set, detected)).toMatchObject({ historyBytesMax: 10 * MiB, brokerBytesMax: 20 * MiB });
    // A broker elsewhere (NATS) keeps its history in its own memory, not ours.
    expect(memoryPlanOf(config, detected, false).brokerBytesMax).toBe(0);
  });
});

describe('startServer', () => {
  it('logs the capacity and the term that binds it', async () => {
    const server = await start({ 'resources.fdLimit': '1000', 'resources.fdReserve': '100', 'resources.memoryBytes': 'auto' });
    try {
      expect(server.capacity).toMatchObject({ connectionsMax: 900, boundBy: 'descriptors' });
      expect(server.logs.map((l) => l.msg)).toContain('max connections 900 (bound by descriptors)');
      expect((await (await fetch(`${server.url}/stats`)).json()) as unknown).toMatchObject({ connections: { capacity: 900, boundBy: 'descriptors' } });
    } finally {
      await server.close();
    }
    const byMemory = await start({
      'resources.memoryBytes': String(64 * 1024 * 1024),
      'resources.baselineBytes': '0',
      'resources.perConnectionBytes': String(1024 * 1024),
      'resources.memoryBudgetRatio': '1',
    });
    try {
      // 64 MiB budget less 4 MiB for each history store (their floor), 1 MiB per connection.
      expect(byMemory.logs.map((l) => l.msg)).toContain('max connections 56 (bound by memory)');
    } finally {
      await byMemory.close();
    }
  });

  it('fails with a ListenError when the port is taken', async () => {
    const first = await start();
    try {
      const { config } = loadConfig({
        flags: [
          { path: 'server.host', raw: '127.0.0.1', flag: '--host' },
          { path: 'server.port', raw: String(first.port), flag: '--port' },
          { path: 'log.level', raw: 'silent', flag: '--log-level' },
        ],
      });
      await expect(startServer(config)).rejects.toThrow(ListenError);
      await expect(startServer(config)).rejects.toThrow(`cannot listen on 127.0.0.1:${first.port} (EADDRINUSE)`);
    } finally {
      await first.close();
    }
  });

  it('closes idempotently', async () => {
    const server = await start();
    const a = server.close();
    const b = server.close();
    expect(a).toBe(b);
    await a;
  });

  it('logs how many connections closed and how many were terminated when the drain times out', async () => {
    const server = await start({ 'gateway.drainTimeoutMs': '300' });
    const polite = await connect(server.wsUrl);
    if (!('ws' in polite)) throw new Error('refused');
    const deaf = await deafClient(server);
    try {
      await server.close();
      const stopped = server.logs.filter((l) => /stopped/.test(String(l.msg)));
      expect(stopped.map((l) => [l.level, l.msg])).toEqual([[40, 'drain timed out after 300 ms; stopped (connections closed: 1, terminated: 1)']]);
    } finally {
      deaf.destroy();
    }
  });

  it('logs a clean drain with the number of connections it closed', async () => {
    const server = await start();
    const client = await connect(server.wsUrl);
    if (!('ws' in client)) throw new Error('refused');
    await server.close();
    expect(server.logs.filter((l) => /stopped/.test(String(l.msg))).map((l) => l.msg)).toEqual(['drained; stopped (connections closed: 1, terminated: 0)']);
  });
});
