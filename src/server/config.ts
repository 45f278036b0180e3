// The whole configuration: one zod schema, four layers. Precedence, lowest first:
//   defaults  <  config file (--config PATH or WS_CONFIG, JSON)  <  environment  <  command-line flags.
// Environment names: WS_PORT and WS_HOST for the two everyone sets, and WS_<SECTION>_<KEY> for every
// setting, the camelCase path in UPPER_SNAKE (admission.perUserMax → WS_ADMISSION_PER_USER_MAX).
// A bad value stops start-up with one line per problem naming where it came from, the value and what is
// allowed: `config error: WS_PORT="abc": expected an integer 0..65535`. docs/operations.md lists every key
// (`odin serve --print-config` prints the effective values).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { defaultGatewayOptions as d, type ChannelClass, type GatewayOptions } from '../core/options.js';
import { channelNameProblem } from '../core/protocol.js';
import { defaultRetention } from '../adapters/broker-memory.js';
import { bool, fromText, int, json, type Leaf, nullableInt, num, oneOf, secretText, text } from './config-leaves.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const channelClass: z.ZodType<ChannelClass> = z.strictObject({
  pattern: z.string().refine((p) => channelNameProblem(p, true) === null),
  priority: z.enum(['critical', 'high', 'normal', 'low']),
  conflate: z.boolean().default(false),
});

const throttleLevels = z
  .tuple([z.number(), z.number(), z.number()])
  .refine(([a, b, c]) => a > 0 && a < b && b < c && c <= 1) as unknown as z.ZodType<readonly [number, number, number]>;

/** Every setting. Gateway sections take their defaults from the core, so there is one source of truth. */
export const configSpec = {
  server: {
    host: text('0.0.0.0', z.string().min(1).max(255), 'a host name or IP address', 'Interface to listen on.'),
    port: int(8080, 0, 65_535, 'TCP port for HTTP and WebSocket; 0 picks a free port.'),
    path: text('/ws', z.string().regex(/^\/[^?#\s]*$/), 'a path starting with "/"', 'WebSocket endpoint path; other paths answer 404.'),
    trustProxy: bool(false, 'Take the client address from X-Forwarded-For (only behind a proxy you run).'),
    publishBodyBytesMax: int(1 * MiB, 1 * KiB, 64 * MiB, 'Largest POST /publish body; larger bodies get 413.'),
    writeMode: oneOf('preframed', ['preframed', 'send'] as const, 'preframed: frame each event once and write raw bytes; send: ws.send per frame.'),
    loadSampleMs: int(1_000, 100, 60_000, 'How often event-loop delay and utilisation feed the load brake.'),
  },
  log: {
    level: oneOf('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'Log level.'),
  },
  publish: {
    apiKey: secretText(16, 1_024, 'When set, POST /publish needs "Authorization: Bearer KEY" or "X-API-Key: KEY".'),
  },
  gateway: {
    heartbeatMs: int(d.heartbeatMs, 100, 3_600_000, 'Ping interval.'),
    heartbeatTimeoutMs: int(d.heartbeatTimeoutMs, 100, 3_600_000, 'Close a connection whose pong is this late.'),
    channelsPerRequestMax: int(d.channelsPerRequestMax, 1, 10_000, 'Channels in one subscribe/unsubscribe.'),
    subscriptionsMax: int(d.subscriptionsMax, 1, 1_000_000, 'Subscriptions per connection.'),
    replayEventsMax: int(d.replayEventsMax, 1, 1_000_000, 'Events one replay or resume may return.'),
    messageBytesMax: int(d.messageBytesMax, 256, 64 * MiB, 'Largest client frame; larger ones are closed 1009.'),
    drainTimeoutMs: int(d.drainTimeoutMs, 0, 600_000, 'Bound on a graceful drain (SIGTERM).'),
    drainRetryJitterMs: int(d.drainRetryJitterMs, 0, 600_000, 'Spread of the reconnect hint sent on drain.'),
    channelClasses: json(
      d.channelClasses,
      z.array(channelClass).max(1_000),
      'a JSON array of {"pattern": channel pattern, "priority": critical|high|normal|low, "conflate": boolean}',
      'Degradation classes for slow clients; first matching pattern wins.',
    ),
  },
  history: {
    eventsMax: int(d.history.eventsMax, 0, 1_000_000, 'Events kept per channel.'),
    bytesMax: int(d.history.bytesMax, 0, 1 * GiB, 'Bytes kept per channel.'),
    ageMs: int(d.history.ageMs, 0, 86_400_000, 'Age after which events leave the ring.'),
  },
  outbound: {
    queueBytesMax: int(d.outbound.queueBytesMax, 16 * KiB, 1 * GiB, 'Bytes one session may hold queued plus buffered.'),
    // The floor is the TCP socket's high-water mark (16 KiB on Node 20): below it the socket never emits
    // 'drain', so a session paused under it would wait for a write that never comes.
    socketHighWaterBytes: int(d.outbound.socketHighWaterBytes, 16 * KiB, 1 * GiB, 'Stop writing to a socket with this much unsent.'),
    throttleLevels: json(d.outbound.throttleLevels, throttleLevels, 'a JSON array of three increasing fractions in (0, 1], e.g. [0.5,0.75,0.9]', 'Queue fill at which throttle levels 1..3 start.'),
    slowCloseAfterMs: int(d.outbound.slowCloseAfterMs, 100, 600_000, 'Close 1008 when critical events cannot be queued for this long.'),
  },
  admission: {
    connectionsMax: int(d.admission.connectionsMax, 0, 10_000_000, 'Configured ceiling on connections (memory and descriptors may bind lower).'),
    perUserMax: int(d.admission.perUserMax, 1, 1_000_000, 'Connections per user.'),
    perIpMax: int(d.admission.perIpMax, 1, 10_000_000, 'Connections per client address.'),
    handshakeBurst: int(d.admission.handshakeBurst, 1, 1_000_000, 'Handshake token bucket size per address.'),
    handshakesPerSecond: num(d.admission.handshakesPerSecond, 0, 1_000_000, 'Handshake refill rate per address.', true),
    retryAfterS: int(d.admission.retryAfterS, 1, 3_600, 'Retry-After sent with 503 refusals.'),
  },
  inbound: {
    messageBurst: int(d.inbound.messageBurst, 1, 1_000_000, 'Client message token bucket size.'),
    messagesPerSecond: num(d.inbound.messagesPerSecond, 0, 1_000_000, 'Client message refill rate.', true),
    violationsMax: int(d.inbound.violationsMax, 0, 1_000_000, 'Rate-limit violations before a 1008 close.'),
  },
  loadBrake: {
    eventLoopDelayMsMax: num(d.loadBrake.eventLoopDelayMsMax, 0, 60_000, 'Refuse handshakes while event-loop delay p99 exceeds this.', true),
    utilizationMax: num(d.loadBrake.utilizationMax, 0, 1, 'Refuse handshakes while event-loop utilisation exceeds this.', true),
  },
  broker: {
    // The embedded broker's stream retention: how far back a resume beyond the per-channel rings can reach.
    eventsMax: int(defaultRetention.eventsMax, 1, 100_000_000, 'Events the embedded broker retains over all channels.'),
    bytesMax: int(defaultRetention.bytesMax, 1 * KiB, 64 * GiB, 'Bytes the embedded broker retains.'),
    ageMs: int(defaultRetention.ageMs, 1_000, 7 * 86_400_000, 'Age after which the embedded broker forgets an event.'),
  },
  resources: {
    memoryBytes: nullableInt(null, 1 * MiB, 2 ** 50, 'Memory limit; auto reads the cgroup limit, else the machine memory.'),
    memoryBudgetRatio: num(0.8, 0, 1, 'Share of the memory limit connections may use (the rest is headroom for GC and spikes).', true),
    fdLimit: nullableInt(null, 16, 2 ** 31, 'Descriptor limit; auto reads RLIMIT_NOFILE from /proc/self/limits.'),
    fdReserve: int(128, 0, 1_000_000, 'Descriptors kept for listeners, the broker and logs.'),
    baselineBytes: nullableInt(null, 0, 2 ** 50, 'Memory with no connections; auto measures the RSS at start-up.'),
    perConnectionBytes: int(64 * KiB, 1 * KiB, 1 * GiB, 'Memory one connection costs (calibrate with npm run bench).'),
  },
} as const satisfies Record<string, Record<string, Leaf<any>>>;

type Spec = typeof configSpec;
export type Config = { readonly [S in keyof Spec]: { readonly [K in keyof Spec[S]]: Spec[S][K] extends Leaf<infer T> ? T : never } };
export type SectionName = keyof Spec;

// ---- the schema ------------------------------------------------------------------------------------

function sectionSchema(section: Record<string, Leaf>) {
  return z.strictObject(Object.fromEntries(Object.entries(section).map(([key, leaf]) => [key, leaf.schema])));
}

/** The one schema for the whole config, with the checks that span settings. */
export const configSchema = z
  .strictObject(Object.fromEntries(Object.entries(configSpec).map(([name, section]) => [name, sectionSchema(section)])))
  .superRefine((value, ctx) => {
    const c = value as unknown as Config;
    if (c.outbound.socketHighWaterBytes > c.outbound.queueBytesMax) {
      ctx.addIssue({
        code: 'custom',
        path: ['outbound', 'socketHighWaterBytes'],
        message: `at most outbound.queueBytesMax (${c.outbound.queueBytesMax})`,
      });
    }
  });

// ---- names ------------------------------------------------------------------------------------------

const snake = (camel: string): string => camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** `admission.perUserMax` → `WS_ADMISSION_PER_USER_MAX`. */
export function envNameOf(section: string, key: string): string {
  return `WS_${snake(section)}_${snake(key)}`;
}

/** Short names everyone reaches for; each also has its long WS_<SECTION>_<KEY> form. */
export const envAliases: Readonly<Record<string, string>> = { WS_PORT: 'server.port', WS_HOST: 'server.host' };
/** The config file path may come from the environment as well. */
export const CONFIG_FILE_ENV = 'WS_CONFIG';

export function leafAt(path: string): Leaf | undefined {
  const [section, key, ...rest] = path.split('.');
  if (section === undefined || key === undefined || rest.length > 0 || !Object.hasOwn(configSpec, section)) return undefined;
  const leaves = configSpec[section as SectionName] as Record<string, Leaf>;
  return Object.hasOwn(leaves, key) ? leaves[key] : undefined;
}

export function allPaths(): string[] {
  return Object.entries(configSpec).flatMap(([section, leaves]) => Object.keys(leaves).map((key) => `${section}.${key}`));
}

// ---- layers -----------------------------------------------------------------------------------------

/** A value as given, and where it came from: the label an error message starts with. */
interface Given {
  readonly value: unknown;
  /** e.g. `WS_PORT`, `--port`, `/etc/odin.json: server.port`. */
  readonly where: string;
  /** Text as the user typed it (env, flags); JSON values are shown as JSON. */
  readonly raw?: string;
}

export interface FlagValue {
  /** A config path, e.g. `server.port`. */
  readonly path: string;
  readonly raw: string;
  /** How the user spelled it: `--port`, `--set admission.perUserMax`. */
  readonly flag: string;
}

export interface ConfigSources {
  /** Config file path (flag); falls back to WS_CONFIG in `env`. */
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly flags?: readonly FlagValue[];
  /** Injectable for tests. */
  readonly readFile?: (path: string) => string;
}

export interface LoadedConfig {
  readonly config: Config;
  /** Not fatal, but worth a log line: e.g. an unknown WS_* variable (a typo keeps its default). */
  readonly warnings: readonly string[];
  /** Where each non-default setting came from, for --print-config and start-up logs. */
  readonly origins: Readonly<Record<string, string>>;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.map((p) => `config error: ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

function show(leaf: Leaf | undefined, given: Given): string {
  if (leaf?.secret === true) return '<redacted>';
  const shown = given.raw !== undefined ? JSON.stringify(given.raw) : JSON.stringify(given.value) ?? String(given.value);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

function fileLayer(path: string, readFile: (path: string) => string, into: Map<string, Given>, problems: string[]): void {
  let textContent: string;
  try {
    textContent = readFile(path);
  } catch (error) {
    problems.push(`${path}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(textContent);
  } catch (error) {
    problems.push(`${path}: not valid JSON (${(error as Error).message})`);
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`${path}: expected a JSON object with sections ${Object.keys(configSpec).join(', ')}`);
    return;
  }
  for (const [section, body] of Object.entries(parsed)) {
    if (section === '$schema') continue;
    if (!Object.hasOwn(configSpec, section)) {
      problems.push(`${path}: unknown section "${section}"; expected one of ${Object.keys(configSpec).join(', ')}`);
      continue;
    }
    const keys = Object.keys(configSpec[section as SectionName]);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      problems.push(`${path}: ${section}: expected an object with keys ${keys.join(', ')}`);
      continue;
    }
    for (const [key, value] of Object.entries(body)) {
      if (!keys.includes(key)) {
        problems.push(`${path}: unknown key "${section}.${key}"; ${section} has ${keys.join(', ')}`);
        continue;
      }
      into.set(`${section}.${key}`, { value, where: `${path}: ${section}.${key}` });
    }
  }
}

function envLayer(env: Readonly<Record<string, string | undefined>>, into: Map<string, Given>, warnings: string[]): void {
  const byName = new Map<string, string>();
  for (const path of allPaths()) {
    const [section, key] = path.split('.') as [string, string];
    byName.set(envNameOf(section, key), path);
  }
  // Aliases first, so the long form wins when both are set (it is the more specific spelling).
  const names = Object.keys(env).filter((name) => name.startsWith('WS_')).sort((a, b) => Number(a in envAliases ? 0 : 1) - Number(b in envAliases ? 0 : 1));
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined || name === CONFIG_FILE_ENV) continue;
    const path = envAliases[name] ?? byName.get(name);
    if (path === undefined) {
      warnings.push(`ignoring unknown environment variable ${name} (settings are WS_<SECTION>_<KEY>, e.g. WS_ADMISSION_PER_USER_MAX)`);
      continue;
    }
    into.set(path, { value: fromText(leafAt(path)!, raw), where: name, raw });
  }
}

function flagLayer(flags: readonly FlagValue[], into: Map<string, Given>, problems: string[]): void {
  for (const flag of flags) {
    const leaf = leafAt(flag.path);
    if (leaf === undefined) {
      problems.push(`${flag.flag}: unknown setting "${flag.path}"; settings are section.key, e.g. admission.perUserMax (see --print-config)`);
      continue;
    }
    into.set(flag.path, { value: fromText(leaf, flag.raw), where: flag.flag, raw: flag.raw });
  }
}

/** Merges the layers, validates once, and either returns the config or throws a ConfigError. */
export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const env = sources.env ?? {};
  const given = new Map<string, Given>();
  const problems: string[] = [];
  const warnings: string[] = [];
  const file = sources.file ?? env[CONFIG_FILE_ENV];
  if (file !== undefined && file !== '') fileLayer(file, sources.readFile ?? ((p) => readFileSync(p, 'utf8')), given, problems);
  envLayer(env, given, warnings);
  flagLayer(sources.flags ?? [], given, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const assembled: Record<string, Record<string, unknown>> = {};
  for (const [section, leaves] of Object.entries(configSpec)) {
    assembled[section] = {};
    for (const [key, leaf] of Object.entries(leaves as Record<string, Leaf>)) {
      const path = `${section}.${key}`;
      assembled[section][key] = given.has(path) ? given.get(path)!.value : leaf.default;
    }
  }
  const result = configSchema.safeParse(assembled);
  if (!result.success) {
    const seen = new Set<string>();
    for (const issue of result.error.issues) {
      const path = issue.path.slice(0, 2).join('.');
      if (seen.has(path)) continue; // one line per setting, however many rules it broke
      seen.add(path);
      const leaf = leafAt(path);
      const origin = given.get(path) ?? { value: leaf?.default, where: `${path} (default)` };
      const allowed = issue.code === 'custom' && issue.message !== 'Invalid input' ? issue.message : (leaf?.allowed ?? issue.message);
      problems.push(`${origin.where}=${show(leaf, origin)}: expected ${allowed}`);
    }
    throw new ConfigError(problems);
  }
  const origins: Record<string, string> = {};
  for (const [path, g] of given) origins[path] = g.where;
  return { config: result.data as unknown as Config, warnings, origins };
}

/** The config with secrets replaced, for --print-config and the start-up log. */
export function redactedConfig(config: Config): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, values] of Object.entries(config)) {
    out[section] = {};
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
      out[section][key] = leafAt(`${section}.${key}`)?.secret === true && value !== null ? '<redacted>' : value;
    }
  }
  return out;
}

/** The core's options from the validated config. Written out in full so tsc flags any drift. */
export function toGatewayOptions(config: Config): GatewayOptions {
  const g = config.gateway;
  return {
    heartbeatMs: g.heartbeatMs,
    heartbeatTimeoutMs: g.heartbeatTimeoutMs,
    channelsPerRequestMax: g.channelsPerRequestMax,
    subscriptionsMax: g.subscriptionsMax,
    replayEventsMax: g.replayEventsMax,
    messageBytesMax: g.messageBytesMax,
    history: { ...config.history },
    outbound: { ...config.outbound },
    admission: { ...config.admission },
    inbound: { ...config.inbound },
    loadBrake: { ...config.loadBrake },
    channelClasses: g.channelClasses,
    drainTimeoutMs: g.drainTimeoutMs,
    drainRetryJitterMs: g.drainRetryJitterMs,
  };
}
