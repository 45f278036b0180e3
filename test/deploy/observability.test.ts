// The dashboard and the alert rules against the real thing: promtool checks the rules, the Prometheus
// config and the alerts' behaviour (alerts.test.yml), and the syntax of every dashboard query; every
// metric a panel or an alert reads is one a running gateway on NATS really exports (its /metrics,
// scraped); and the dashboard covers what operators need (docs/deploy.md, "Dashboard").
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startNats, type NatsServer } from '../support/nats-fixture.js';
import { eventually, httpPublish, namespace, serveOnNats, type Gateway } from '../nats/support.js';
import { repoRoot, run } from './podman.js';
import { exportedNames, metricNames } from './promql.js';

const PROM = join(repoRoot, 'deploy/prometheus');

interface Panel {
  readonly title: string;
  readonly type: string;
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
  readonly panels?: readonly Panel[];
}
const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/dashboards/odin.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ query: { query: string } }> };
};
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const dashboardQueries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const alertExprs = [...readFileSync(join(PROM, 'alerts.yml'), 'utf8').matchAll(/^\s+expr: (\|\n(?:\s{10}.*\n)+|.*)$/gm)].map((m) =>
  m[1]!.replace(/^\|\n/, '').trim(),
);

/** Grafana's variables replaced by what they stand for, so promtool can parse the query. */
const asPromQL = (expr: string): string => expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*');

async function promtool(args: string[]): Promise<string> {
  const result = await run('promtool', args, 60_000);
  if (result.code !== 0)
    throw new Error(
      `promtool ${args.join(' ')} failed (exit ${result.code}; apt-get install prometheus provides it, scripts/setup.sh):\n${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

describe('Prometheus rules and config (promtool)', () => {
  it('check rules, check config, and the alerts fire on the series they should (promtool test rules)', async () => {
    expect(await promtool(['check', 'rules', join(PROM, 'alerts.yml')])).toContain('SUCCESS: 5 rules found');
    expect(await promtool(['check', 'config', join(PROM, 'prometheus.yml')])).toContain('is valid prometheus config file syntax');
    expect(await promtool(['test', 'rules', join(PROM, 'alerts.test.yml')])).toContain('SUCCESS');
  });

  it('every dashboard query is valid PromQL (as recording rules, through promtool)', async () => {
    expect(dashboardQueries.length).toBeGreaterThan(15);
    const dir = mkdtempSync(join(tmpdir(), 'odin-dash-'));
    try {
      const rules = dashboardQueries.map((q, i) => `      - record: odin:dashboard_query_${i}\n        expr: ${JSON.stringify(asPromQL(q.expr))}`).join('\n');
      writeFileSync(join(dir, 'dashboard.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      expect(await promtool(['check', 'rules', join(dir, 'dashboard.yml')])).toContain(`SUCCESS: ${dashboardQueries.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the dashboard and the alerts read metrics a gateway exports', () => {
  let nats: NatsServer | undefined;
  let gateway: Gateway | undefined;
  afterAll(async () => {
    await gateway?.close();
    await nats?.close();
  });

  it('scrapes a gateway on NATS after real traffic: every queried name is exported, latency and lag are measured', async () => {
    nats = await startNats();
    const ns = namespace();
    gateway = await serveOnNats(nats, ns);
    await eventually(async () => (await fetch(`${gateway!.url}/ready`)).status === 200, 'the gateway ready', 15_000);
    const channel = `${ns.prefix}.token.ABC.trade`;
    const ws = new WebSocket(gateway.wsUrl);
    const received: unknown[] = [];
    ws.on('message', (data) => received.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
    ws.send(JSON.stringify({ type: 'subscribe', id: 1, channels: [channel] }));
    await eventually(() => received.some((m) => (m as { type?: string }).type === 'subscribed'), 'subscribed');
    for (let i = 0; i < 5; i++) expect((await httpPublish(gateway, channel, { i })).status).toBe(200);
    await eventually(() => received.filter((m) => (m as { type?: string }).type === 'event').length === 5, 'five events delivered');
    ws.close();

    const exposition = await (await fetch(`${gateway.url}/metrics`)).text();
    const exported = exportedNames(exposition);
    const missing = [
      ...dashboardQueries.flatMap((q) =>
        metricNames(q.expr)
          .filter((n) => !exported.has(n))
          .map((n) => `panel "${q.panel}": ${n}`),
      ),
      ...alertExprs.flatMap((e) =>
        metricNames(e)
          .filter((n) => !exported.has(n))
          .map((n) => `alert expr ${e.split('\n')[0]}: ${n}`),
      ),
      // label_values(METRIC, label): the metric only.
      ...[/label_values\((\w+)/.exec(dashboard.templating.list[0]!.query.query)?.[1] ?? '(none)'].filter((n) => !exported.has(n)).map((n) => `variable: ${n}`),
    ];
    expect(missing).toEqual([]);
    expect(alertExprs).toHaveLength(5);

    // The two NATS measurements carry data, not just a declaration.
    expect(Number(/^odin_broker_event_age_seconds_count (\d+)/m.exec(exposition)?.[1])).toBeGreaterThanOrEqual(5);
    expect(/^odin_broker_pending_events (\S+)/m.exec(exposition)?.[1]).toBe('0');
  }, 60_000);

  it('loads as Grafana provisions it: the data source uid it names is the provisioned one, panel ids unique, every panel placed', () => {
    const provisioned = /uid: (\S+)/.exec(readFileSync(join(repoRoot, 'deploy/grafana/provisioning/datasources/prometheus.yaml'), 'utf8'))?.[1];
    const all = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]) as Array<Panel & { id: number; gridPos?: object; datasource?: { uid: string } }>;
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
    for (const p of all) expect(p.gridPos, p.title).toBeDefined();
    expect(panels.map((p) => (p as { datasource?: { uid: string } }).datasource?.uid).filter((uid) => uid !== provisioned)).toEqual([]);
    expect(dashboard.uid).toBe('odin-gateway');
  });

  it('covers what operators need: capacity with its binding term, handshakes, delivery, latency, queues, throttling, gaps, broker, event loop', () => {
    const read = new Set(dashboardQueries.flatMap((q) => metricNames(q.expr)));
    for (const name of [
      'odin_connections',
      'odin_connections_capacity',
      'odin_handshakes_total',
      'odin_events_delivered_total',
      'odin_broker_event_age_seconds_bucket',
      'odin_outbound_queue_bytes',
      'odin_throttled_sessions',
      'odin_gaps_total',
      'odin_slow_disconnects_total',
      'odin_broker_up',
      'odin_broker_pending_events',
      'odin_event_loop_delay_seconds',
    ])
      expect(read, name).toContain(name);
    expect(dashboardQueries.some((q) => q.expr.includes('bound_by'))).toBe(true);
  });
});

describe('metricNames (the PromQL name extraction the checks above rely on)', () => {
  it('finds metric names and ignores functions, labels, ranges, grouping and numbers', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(odin_x_bucket{instance=~"a|b"}[5m])))')).toEqual(['odin_x_bucket']);
    expect(metricNames('sum by (instance) (a_total) / on (instance) sum by (instance) (b) > 0.85')).toEqual(['a_total', 'b']);
    expect(metricNames('max(process_resident_memory_bytes) / 1e9')).toEqual(['process_resident_memory_bytes']);
    expect(metricNames('odni_typo == 0')).toEqual(['odni_typo']);
  });
});
