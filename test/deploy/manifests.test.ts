// The deployment files agree with each other and with the gateway: Kubernetes gives the drain the time
// it needs and probes the right endpoints, the PDB and HPA select the Deployment, compose wires three
// NATS nodes into one cluster and every gateway to all of them, HAProxy checks /ready on every gateway,
// Prometheus scrapes them all, and HAProxy accepts its configuration (`haproxy -c`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { metrics } from '../../src/core/metrics.js';
import { loadConfig } from '../../src/server/config.js';
import { repoRoot, run } from './podman.js';

const file = (path: string): string => readFileSync(join(repoRoot, 'deploy', path), 'utf8');
const defaultDrainMs = loadConfig({}).config.gateway.drainTimeoutMs;

// The parts of the manifests these checks read (YAML is parsed as is; a missing field fails the test).
type Labels = Record<string, string>;
interface Container {
  readonly env: ReadonlyArray<{ readonly name: string; readonly value?: string }>;
  readonly ports: ReadonlyArray<{ readonly containerPort: number }>;
  readonly lifecycle: { readonly preStop: { readonly exec: { readonly command: string[] } } };
  readonly readinessProbe: { readonly httpGet: { readonly path: string } };
  readonly livenessProbe: { readonly httpGet: { readonly path: string } };
}
interface Deployment {
  readonly kind: 'Deployment';
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly selector: { readonly matchLabels: Labels };
    readonly template: {
      readonly metadata: { readonly labels: Labels };
      readonly spec: { readonly terminationGracePeriodSeconds: number; readonly securityContext: object; readonly containers: Container[] };
    };
  };
}
interface Pdb {
  readonly kind: 'PodDisruptionBudget';
  readonly spec: { readonly selector: { readonly matchLabels: Labels } };
}
interface Hpa {
  readonly kind: 'HorizontalPodAutoscaler';
  readonly spec: { readonly scaleTargetRef: object; readonly metrics: ReadonlyArray<{ readonly pods: { readonly metric: { readonly name: string } } }> };
}
interface ComposeService {
  readonly command: string[];
  readonly build: { readonly dockerfile: string };
  readonly environment: Record<string, string>;
  readonly stop_grace_period: string;
  readonly volumes: string[];
}
interface Prometheus {
  readonly scrape_configs: ReadonlyArray<{ readonly job_name: string; readonly static_configs: ReadonlyArray<{ readonly targets: string[] }> }>;
}

const k8s = ['gateway.yaml', 'pdb.yaml', 'hpa.yaml'].flatMap((f) => parseAllDocuments(file(`k8s/${f}`)).map((d) => d.toJS() as { kind: string }));
function byKind<T extends { kind: string }>(kind: T['kind']): T {
  const found = k8s.find((d) => d.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} in deploy/k8s`);
  return found as T;
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  const deployment = byKind<Deployment>('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;
  const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));

  it('gives the drain its time: grace period > preStop + the drain timeout the pod is given', () => {
    const drainMs = Number(env.WS_GATEWAY_DRAIN_TIMEOUT_MS ?? defaultDrainMs);
    const preStopMs = Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(container.lifecycle.preStop.exec.command.join(' '))?.[1]);
    expect(preStopMs).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopMs + drainMs);
  });

  it('probes readiness on /ready and liveness on /health, and runs as the image user, not root', () => {
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.ports[0]!.containerPort).toBe(Number(env.WS_PORT));
  });

  it('the PDB and the HPA select the Deployment; the HPA scales on a metric the gateway exports', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(labels).toMatchObject(byKind<Pdb>('PodDisruptionBudget').spec.selector.matchLabels);
    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    const hpa = byKind<Hpa>('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(metrics.map((m) => m.name)).toContain(hpa.spec.metrics[0]!.pods.metric.name);
  });
});

describe('compose (deploy/compose.yaml)', () => {
  const services = (parse(file('compose.yaml'), { merge: true }) as { services: Record<string, ComposeService> }).services;
  const service = (name: string): ComposeService => {
    const found = services[name];
    if (found === undefined) throw new Error(`no service ${name} in deploy/compose.yaml`);
    return found;
  };
  const nats = Object.keys(services).filter((s) => s.startsWith('nats-'));
  const gateways = Object.keys(services).filter((s) => s.startsWith('gateway-'));

  it('three NATS nodes with JetStream, each routed to the other two in one cluster', () => {
    expect(nats).toHaveLength(3);
    for (const name of nats) {
      const args = service(name).command.join(' ');
      expect(args).toContain('-js');
      expect(args).toContain('--cluster_name odin');
      const routes = /--routes (\S+)/.exec(args)?.[1]?.split(',') ?? [];
      expect(routes.sort()).toEqual(nats.filter((n) => n !== name).map((n) => `nats://${n}:6222`));
    }
  });

  it('two or more gateways from deploy/Dockerfile on all three nodes, stream R3, stopped after their drain', () => {
    expect(gateways.length).toBeGreaterThanOrEqual(2);
    for (const name of gateways) {
      const g = service(name);
      expect(g.build.dockerfile).toBe('deploy/Dockerfile');
      expect((g.environment.WS_NATS_SERVERS ?? '').split(',').sort()).toEqual(nats.map((n) => `nats://${n}:4222`));
      expect(g.environment.WS_NATS_REPLICAS).toBe('3');
      expect(Number(/^(\d+)s$/.exec(g.stop_grace_period)?.[1]) * 1000).toBeGreaterThan(defaultDrainMs);
    }
  });

  it("every gateway's environment is a configuration the gateway accepts beyond loopback: JWT auth, a publish key", () => {
    // Compose's ${VAR:?message} substitutions, filled as an operator would.
    const filled = (value: string): string => value.replace(/\$\{[A-Z_]+:\?[^}]*\}/g, 'x'.repeat(48));
    for (const name of gateways) {
      const env = Object.fromEntries(Object.entries(service(name).environment).map(([k, v]) => [k, filled(String(v))]));
      const loaded = loadConfig({ env }); // throws for a refused setting (beyond loopback without auth, say)
      expect(loaded.warnings).toEqual([]); // an unknown WS_* name (a typo) would be a warning; a refused setting throws
      expect(loaded.config.server.host).toBe('0.0.0.0');
      expect(loaded.config.auth.mode).toBe('jwt');
      expect(loaded.config.publish.apiKey).not.toBeNull();
    }
  });

  it('HAProxy checks /ready on every gateway; Prometheus scrapes every gateway; Grafana gets the dashboard', async () => {
    const haproxy = file('haproxy/haproxy.cfg');
    expect(haproxy).toMatch(/option httpchk GET \/ready/);
    expect([...haproxy.matchAll(/^\s+server \S+ (\S+):8080/gm)].map((m) => m[1]).sort()).toEqual(gateways);
    expect(service('haproxy').volumes[0]).toMatch(/^\.\/haproxy\/haproxy\.cfg:/);
    const check = await run('haproxy', ['-c', '-f', join(repoRoot, 'deploy/haproxy/haproxy.cfg')]);
    expect(check.code, check.stderr).toBe(0);

    const prometheus = parse(file('prometheus/prometheus.yml')) as Prometheus;
    const odin = prometheus.scrape_configs.find((j) => j.job_name === 'odin');
    expect(odin?.static_configs[0]?.targets.sort()).toEqual(gateways.map((g) => `${g}:8080`));
    expect(service('grafana').volumes).toContain('./grafana/dashboards:/var/lib/grafana/dashboards:ro');
    expect(file('grafana/provisioning/dashboards/odin.yaml')).toContain('path: /var/lib/grafana/dashboards');
  });
});
