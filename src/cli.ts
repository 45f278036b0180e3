// The one `odin` CLI (bin/odin.mjs runs its compiled form, dist/cli.js; `npm run sim`/`bench` run this
// file through tsx). `serve` is implemented here; `sim`, `doctor`, `bench`, `publish` and `load` delegate
// to their own modules so each can grow without touching this file.
import { Command, Option } from 'commander';
import { delegate } from './cli-delegate.js';
import { WORKER_SHARE_ENV } from './server/cluster/messages.js';
import { ConfigError, loadConfig, redactedConfig, type FlagValue } from './server/config.js';
import { VERSION } from './server/version.js';

/** Exit code for a configuration mistake (BSD sysexits EX_CONFIG), distinct from crashes (1). */
const EXIT_CONFIG = 78;
/** Past the drain deadline (and the server's own 2 s listener grace), exit regardless. */
const HARD_EXIT_GRACE_MS = 5_000;

interface ServeFlags {
  config?: string;
  port?: string;
  host?: string;
  path?: string;
  logLevel?: string;
  maxConnections?: string;
  writeMode?: string;
  nats?: string;
  workers?: string;
  set: string[];
  printConfig?: boolean;
}

/** Named flags map onto config paths; `--set section.key=value` reaches every other setting. */
const NAMED_FLAGS: ReadonlyArray<[keyof ServeFlags, string, string]> = [
  ['port', 'server.port', '--port'],
  ['host', 'server.host', '--host'],
  ['path', 'server.path', '--path'],
  ['logLevel', 'log.level', '--log-level'],
  ['maxConnections', 'admission.connectionsMax', '--max-connections'],
  ['writeMode', 'server.writeMode', '--write-mode'],
  ['nats', 'nats.servers', '--nats'],
  ['workers', 'server.workers', '--workers'],
];

function flagValues(flags: ServeFlags): FlagValue[] {
  const values: FlagValue[] = [];
  for (const [name, path, flag] of NAMED_FLAGS) {
    const raw = flags[name];
    if (typeof raw === 'string') values.push({ path, raw, flag });
  }
  for (const assignment of flags.set) {
    const eq = assignment.indexOf('=');
    const path = eq < 0 ? assignment : assignment.slice(0, eq);
    values.push({ path, raw: eq < 0 ? '' : assignment.slice(eq + 1), flag: `--set ${path}` });
  }
  return values;
}

async function serve(flags: ServeFlags): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig({ ...(flags.config !== undefined ? { file: flags.config } : {}), env: process.env, flags: flagValues(flags) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  // A cluster worker runs this same command line again (node:cluster); its share comes from the primary.
  const { default: cluster } = await import('node:cluster');
  const share = cluster.isWorker ? (await import('./server/cluster/share.js')).parseShare(process.env[WORKER_SHARE_ENV]) : null;
  if (share !== null) {
    await (await import('./server/cluster/worker.js')).runWorker(loaded.config, share);
    return;
  }
  for (const warning of loaded.warnings) process.stderr.write(`config warning: ${warning}\n`);
  if (flags.printConfig === true) {
    process.stdout.write(`${JSON.stringify(redactedConfig(loaded.config), null, 2)}\n`);
    return;
  }
  if (loaded.config.server.workers > 1) {
    await (await import('./server/cluster/primary.js')).runPrimary(loaded.config);
    return;
  }
  // Loaded lazily so `--help`, `--print-config` and config errors stay fast.
  const { BrokerStartError, ListenError, startServer } = await import('./server/server.js');
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer(loaded.config);
  } catch (error) {
    if (!(error instanceof ListenError) && !(error instanceof BrokerStartError)) throw error;
    process.stderr.write(`odin serve: ${error.message}\n`);
    process.exit(error instanceof BrokerStartError ? error.exitCode : 1);
  }
  let signals = 0;
  const shutdown = (signal: string): void => {
    signals++;
    if (signals > 1) {
      running.telemetry.log('warn', `${signal} again: exiting without waiting for the drain`);
      running.telemetry.flush();
      process.exit(1);
    }
    running.telemetry.log('info', `${signal}: graceful shutdown`);
    // close() is bounded already; this is the belt to its braces, so a stuck socket cannot hang a deploy.
    setTimeout(() => {
      running.telemetry.log('warn', 'shutdown deadline passed: exiting');
      running.telemetry.flush();
      process.exit(0);
    }, loaded.config.gateway.drainTimeoutMs + HARD_EXIT_GRACE_MS).unref();
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

export function buildProgram(): Command {
  const program = new Command('odin')
    .description('WebSocket fan-out gateway with offsets, replay and explicit slow-client handling')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the gateway (HTTP + WebSocket on one port)')
    .option('-c, --config <path>', 'JSON config file (also WS_CONFIG)')
    .option('-p, --port <port>', 'TCP port (WS_PORT)')
    .option('-H, --host <host>', 'interface to listen on (WS_HOST)')
    .option('--path <path>', 'WebSocket endpoint path (WS_SERVER_PATH)')
    .addOption(new Option('--log-level <level>', 'log level (WS_LOG_LEVEL)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--max-connections <n>', 'configured connection ceiling (WS_ADMISSION_CONNECTIONS_MAX)')
    .addOption(new Option('--write-mode <mode>', 'outbound write path (WS_SERVER_WRITE_MODE)').choices(['preframed', 'send']))
    .option('--nats <urls>', 'NATS servers, comma-separated: JetStream becomes the broker of record (WS_NATS_SERVERS)')
    .option('--workers <n>', 'processes that serve the port, one per core (WS_SERVER_WORKERS)')
    .option('-s, --set <section.key=value>', 'any setting, repeatable (e.g. --set admission.perUserMax=10)', (v: string, all: string[]) => [...all, v], [])
    .option('--print-config', 'print the effective configuration (secrets redacted) and exit')
    .action((flags: ServeFlags) => serve(flags));

  // The laboratory and the benchmarks are TypeScript in a source checkout, not part of the package.
  const fromCheckout = (script: string): string => `it runs from the TypeScript sources of a checkout: npm run ${script} -- …`;
  for (const [name, specifier, description, hint] of [
    ['sim', '../sim/cli.js', 'run a deterministic simulation scenario (source checkout)', fromCheckout('sim')],
    ['doctor', './server/doctor.js', 'check this machine and configuration for running the gateway', undefined],
    ['bench', '../benchmarks/run.js', 'run the benchmarks (source checkout)', fromCheckout('bench')],
    ['publish', './server/publish-cli.js', 'publish one event (CHANNEL JSON) over HTTP or straight to NATS', undefined],
    ['load', './load/cli.js', 'drive real WebSocket load at a gateway on loopback (connections, publishing, latency)', undefined],
  ] as const) {
    program
      .command(name)
      .description(description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]')
      .action(async (args: string[]) => {
        process.exitCode = await delegate(name, specifier, args, hint);
      });
  }
  return program;
}

await buildProgram().parseAsync(process.argv);
