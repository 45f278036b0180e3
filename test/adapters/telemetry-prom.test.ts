// The Prometheus/pino adapter: catalog metrics registered up front, unknown names created on demand,
// misuse never thrown, secrets redacted from logs.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { promName, PromTelemetry, type MetricSpec } from '../../src/adapters/telemetry-prom.js';

const catalog: MetricSpec[] = [
  { name: 'odin_test_connections', help: 'Open connections.', type: 'gauge', labelNames: [] },
  { name: 'odin_test_handshakes_total', help: 'Handshakes.', type: 'counter', labelNames: ['outcome'] },
  { name: 'odin_test_latency_seconds', help: 'Latency.', type: 'histogram', labelNames: [], buckets: [0.1, 1] },
];

function telemetry(): { t: PromTelemetry; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { t: new PromTelemetry({ catalog, logLevel: 'debug', destination, processMetrics: false }), lines };
}

describe('PromTelemetry metrics', () => {
  it('registers the catalog up front and records values', async () => {
    const { t } = telemetry();
    expect(await t.exposition()).toContain('# HELP odin_test_handshakes_total Handshakes.');
    t.gauge('odin_test_connections', 3);
    t.count('odin_test_handshakes_total', { outcome: 'accepted' });
    t.count('odin_test_handshakes_total', { outcome: 'accepted' }, 2);
    t.observe('odin_test_latency_seconds', 0.5);
    const text = await t.exposition();
    expect(text).toContain('odin_test_connections 3');
    expect(text).toContain('odin_test_handshakes_total{outcome="accepted"} 3');
    expect(text).toContain('odin_test_latency_seconds_bucket{le="1"} 1');
  });

  it('creates unknown names on demand instead of throwing', async () => {
    const { t } = telemetry();
    t.count('odin.not.in.catalog', { kind: 'x' });
    t.gauge('odin_new_gauge', 5);
    t.observe('odin_new_histogram', 0.2);
    const text = await t.exposition();
    expect(text).toContain('odin_not_in_catalog{kind="x"} 1');
    expect(text).toContain('odin_new_gauge 5');
    expect(text).toContain('odin_new_histogram_count 1');
  });

  it('ignores misuse (wrong type, wrong labels) and logs it once', () => {
    const { t, lines } = telemetry();
    expect(() => {
      t.observe('odin_test_handshakes_total', 1);
      t.observe('odin_test_handshakes_total', 1);
      t.count('odin_test_handshakes_total', { other: 'label' });
      t.gauge('odin_test_latency_seconds', 1);
    }).not.toThrow();
    expect(lines.filter((l) => l.msg === 'metric misuse ignored').map((l) => l.metric)).toEqual(['odin_test_handshakes_total', 'odin_test_latency_seconds']);
  });

  it('includes the process metrics by default', async () => {
    const t = new PromTelemetry({ catalog, logLevel: 'silent' });
    expect(await t.exposition()).toContain('process_cpu_user_seconds_total');
  });

  it('makes catalog names valid Prometheus names', () => {
    expect(promName('odin.a-b')).toBe('odin_a_b');
    expect(promName('9lives')).toBe('_9lives');
  });
});

describe('PromTelemetry logs', () => {
  it('writes structured lines and redacts secrets', () => {
    const { t, lines } = telemetry();
    t.log('info', 'hello', {
      authorization: 'Bearer s3cret',
      apiKey: 's3cret',
      token: 's3cret',
      headers: { authorization: 'Bearer s3cret', 'x-api-key': 's3cret' },
      config: { publish: { apiKey: 's3cret' } },
      safe: 'visible',
    });
    t.log('debug', 'plain');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'hello', safe: 'visible' });
    expect(JSON.stringify(lines)).not.toContain('s3cret');
    expect(lines[1]).toMatchObject({ level: 20, msg: 'plain' });
  });
});
