// Composition: capacity inputs from config and the machine, the start-up capacity log line, and a clean
// start-up failure when the port is taken.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { capacityInputOf, ListenError, memoryPlanOf, startServer } from '../../src/server/server.js';
import { start } from './server-fixture.js';

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
    expect(at(512 * MiB)).toEqual({ budgetBytes: Math.floor(512 * MiB * 0.8), historyBytesMax: Math.floor((512 * MiB * 0.8) / 16), brokerBytesMax: Math.floor((512 * MiB * 0.8) / 16) });
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
    const byMemory = await start({ 'resources.memoryBytes': String(64 * 1024 * 1024), 'resources.baselineBytes': '0', 'resources.perConnectionBytes': String(1024 * 1024), 'resources.memoryBudgetRatio': '1' });
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
      const { config } = loadConfig({ flags: [{ path: 'server.host', raw: '127.0.0.1', flag: '--host' }, { path: 'server.port', raw: String(first.port), flag: '--port' }, { path: 'log.level', raw: 'silent', flag: '--log-level' }] });
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
});
