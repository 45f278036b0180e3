// The HTTP surface: health, readiness, stats, metrics and publishing. WebSocket upgrades are handled
// separately (upgrade.ts) because they arrive on the server's 'upgrade' event, not as requests.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Gateway } from '../core/gateway.js';
import { authorized, handlePublish, PublishLimiter, type PublishDeps } from './publish.js';
import { sendError, sendJson } from './respond.js';
import { VERSION } from './version.js';

export type HttpGateway = Pick<Gateway, 'ready' | 'draining' | 'stats' | 'publish'>;

/** Which broker feeds the gateway and how it is doing: why /ready says no. */
export interface BrokerInfo {
  readonly kind: string;
  readonly status: string;
  readonly detail: string | null;
}

export interface HttpDeps {
  readonly gateway: HttpGateway;
  readonly metrics: { exposition(): Promise<string>; readonly contentType: string };
  readonly apiKey: string | null;
  readonly publishBodyBytesMax: number;
  /** Monotonic ms, for uptime. */
  readonly nowMs: () => number;
  readonly startedAtMs: number;
  readonly wsPath: string;
  readonly describeBroker?: () => BrokerInfo;
  readonly onError?: (error: Error) => void;
  /** /stats over a whole cluster (a worker asks the primary), instead of this gateway's own. */
  readonly clusterStats?: () => Promise<unknown>;
  /** Tokens per second and burst of each publish key's bucket (publish.ratePerSecond, publish.burst). */
  readonly publishRate?: { readonly perSecond: number; readonly burst: number };
  /**
   * Which routes this listener serves: 'all' (one port), 'public' (clients: no /stats or /metrics), or
   * 'internal' (server.internalPort: health, stats and metrics, with user ids).
   */
  readonly surface?: Surface;
}

export type Surface = 'all' | 'public' | 'internal';

const PUBLIC_ONLY = new Set(['/publish']);
const INTERNAL_ONLY = new Set(['/stats', '/metrics']);

function served(surface: Surface, path: string): boolean {
  if (surface === 'public') return !INTERNAL_ONLY.has(path);
  if (surface === 'internal') return !PUBLIC_ONLY.has(path);
  return true;
}

/**
 * Per-user connection counts name users: shown on the internal port, or to a caller holding the publish
 * key; anonymous callers of the public port see the totals only (docs/security.md).
 */
function withoutUserIds(stats: unknown): unknown {
  if (typeof stats !== 'object' || stats === null || !('connections' in stats)) return stats;
  const connections = stats.connections;
  if (typeof connections !== 'object' || connections === null) return stats;
  const { topUsers: _hidden, ...rest } = connections as Record<string, unknown>;
  return { ...stats, connections: rest };
}

type Route = (req: IncomingMessage, res: ServerResponse, deps: HttpDeps) => void;

const routes: Readonly<Record<string, { readonly methods: readonly string[]; readonly handle: Route }>> = {
  '/health': {
    methods: ['GET', 'HEAD'],
    // Liveness only: the process answers (always 200). Broker trouble is shown here but turns only /ready
    // false, so an orchestrator does not restart a gateway that is merely waiting for its broker.
    // `service` lets `odin doctor` tell a running odin from another program holding the port.
    handle: (_req, res, deps) =>
      sendJson(res, 200, {
        status: 'ok',
        service: 'odin',
        version: VERSION,
        uptimeS: Math.floor((deps.nowMs() - deps.startedAtMs) / 1000),
        ...(deps.describeBroker ? { broker: deps.describeBroker() } : {}),
      }),
  },
  '/ready': {
    methods: ['GET', 'HEAD'],
    // Not ready while the broker is not live or the gateway drains (the gateway's one drain flag): a load
    // balancer stops sending new clients the moment shutdown starts.
    handle: (_req, res, deps) => {
      const ready = deps.gateway.ready();
      sendJson(res, ready ? 200 : 503, { ready, draining: deps.gateway.draining, ...(deps.describeBroker ? { broker: deps.describeBroker() } : {}) });
    },
  },
  '/stats': {
    methods: ['GET', 'HEAD'],
    handle: (req, res, deps) => {
      const showUsers = deps.surface === 'internal' || (deps.apiKey !== null && authorized(req, deps.apiKey));
      const shown = (stats: unknown): unknown => (showUsers ? stats : withoutUserIds(stats));
      if (deps.clusterStats !== undefined) {
        deps.clusterStats().then(
          (stats) => sendJson(res, 200, shown(stats)),
          (error: Error) => {
            deps.onError?.(error);
            sendError(res, 503, 'unavailable', `cluster stats unavailable: ${error.message}`);
          },
        );
        return;
      }
      const stats = deps.gateway.stats();
      sendJson(res, 200, shown(deps.describeBroker ? { ...stats, broker: { ...stats.broker, ...deps.describeBroker() } } : stats));
    },
  },
  '/metrics': {
    methods: ['GET', 'HEAD'],
    handle: (_req, res, deps) => {
      deps.metrics.exposition().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': deps.metrics.contentType, 'Cache-Control': 'no-store' });
          res.end(res.req.method === 'HEAD' ? undefined : text);
        },
        (error: Error) => {
          deps.onError?.(error);
          sendError(res, 500, 'internal', 'metrics collection failed');
        },
      );
    },
  },
  '/publish': {
    methods: ['POST'],
    handle: (req, res, deps) => handlePublish(req, res, publishDeps(deps)),
  },
};

/** publish.ratePerSecond and publish.burst's defaults, for handlers built without a config. */
const PUBLISH_RATE_DEFAULT = { perSecond: 1_000, burst: 2_000 };

/** One set of publish buckets per listener's deps: the handler is built once per server. */
const publishState = new WeakMap<HttpDeps, PublishDeps>();
function publishDeps(deps: HttpDeps): PublishDeps {
  let state = publishState.get(deps);
  if (state === undefined) {
    state = {
      gateway: deps.gateway,
      apiKey: deps.apiKey,
      bodyBytesMax: deps.publishBodyBytesMax,
      limiter: new PublishLimiter(
        deps.publishRate?.perSecond ?? PUBLISH_RATE_DEFAULT.perSecond,
        deps.publishRate?.burst ?? PUBLISH_RATE_DEFAULT.burst,
        deps.nowMs,
      ),
    };
    publishState.set(deps, state);
  }
  return state;
}

export function createHttpHandler(deps: HttpDeps): RequestListener {
  const surface = deps.surface ?? 'all';
  return (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const route = Object.hasOwn(routes, path) && served(surface, path) ? routes[path] : undefined;
      if (route === undefined) {
        const hint = path === deps.wsPath ? ' (WebSocket endpoint: send an Upgrade request)' : '';
        sendError(res, hint ? 426 : 404, hint ? 'upgrade_required' : 'not_found', `no route for ${path}${hint}`, hint ? { Upgrade: 'websocket' } : {});
        req.resume();
        return;
      }
      if (!route.methods.includes(req.method ?? '')) {
        sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on ${path}; use ${route.methods.join(' or ')}`, {
          Allow: route.methods.join(', '),
        });
        req.resume();
        return;
      }
      route.handle(req, res, deps);
    } catch (error) {
      deps.onError?.(error as Error);
      if (!res.headersSent) sendError(res, 500, 'internal', 'internal error');
      else res.destroy();
    }
  };
}
