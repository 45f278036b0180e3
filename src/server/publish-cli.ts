// `odin publish CHANNEL JSON`: one event, for backends and demos. Over HTTP to any gateway instance
// (POST /publish), or straight into the JetStream stream with --nats (what any NATS client can do: the
// gateway does not need to see a publish to fan it out). Prints the assigned {"epoch","offset"}.
// NATS credentials and the stream name come from the same config file and WS_NATS_* environment as
// `odin serve`, so a backend host configured for the gateway can publish without repeating them.
import { parseArgs } from 'node:util';
import { channelNameProblem } from '../core/protocol.js';
import { ConfigError, loadConfig, type FlagValue } from './config.js';

const USAGE = `usage: odin publish CHANNEL JSON [--url http://host:8080] [--api-key KEY]
       odin publish CHANNEL JSON --nats nats://host:4222[,…] [--stream NAME] [--config FILE]
  CHANNEL  a concrete channel, e.g. odin.token.ABC.trade
  JSON     the event's data, one JSON value, e.g. '{"price":42.5}'
  --url      a gateway's base URL (default http://127.0.0.1:$WS_PORT or :8080)
  --api-key  the gateway's publish key (default $WS_PUBLISH_API_KEY)
  --nats     publish straight to JetStream at these servers instead (auth from WS_NATS_* / --config)
  --stream   the stream (default nats.stream: ODIN_TOKENS)`;

const EXIT_USAGE = 2;

function fail(message: string, code = 1): number {
  process.stderr.write(`odin publish: ${message}\n`);
  return code;
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        nats: { type: 'string' },
        stream: { type: 'string' },
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`, EXIT_USAGE);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 2) return fail(`expected CHANNEL and JSON, got ${positionals.length} argument(s)\n${USAGE}`, EXIT_USAGE);
  const [channel, text] = positionals as [string, string];
  const problem = channelNameProblem(channel, false);
  if (problem !== null) return fail(`channel "${channel.slice(0, 64)}" ${problem}`, EXIT_USAGE);
  let data: string;
  try {
    data = JSON.stringify(JSON.parse(text));
  } catch (error) {
    return fail(`JSON is not valid JSON (${(error as Error).message}); quote it for the shell, e.g. '{"price":42.5}'`, EXIT_USAGE);
  }
  if (values.nats !== undefined && values.url !== undefined) return fail('give --url or --nats, not both', EXIT_USAGE);

  const flags: FlagValue[] = [];
  if (values.nats !== undefined) flags.push({ path: 'nats.servers', raw: values.nats, flag: '--nats' });
  if (values.stream !== undefined) flags.push({ path: 'nats.stream', raw: values.stream, flag: '--stream' });
  if (values['api-key'] !== undefined) flags.push({ path: 'publish.apiKey', raw: values['api-key'], flag: '--api-key' });
  let config;
  try {
    config = loadConfig({ ...(values.config !== undefined ? { file: values.config } : {}), env: process.env, flags }).config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(error.message, 78);
  }
  const answer =
    values.nats !== undefined
      ? await (await import('./publish-nats.js')).publishToNats(config, channel, data)
      : await publishOverHttp(values.url ?? `http://127.0.0.1:${config.server.port}`, config.publish.apiKey, channel, data);
  if (!answer.ok) return fail(answer.message);
  process.stdout.write(`${JSON.stringify({ epoch: answer.epoch, offset: answer.offset })}\n`);
  return 0;
}

export type PublishAnswer = { readonly ok: true; readonly epoch: string; readonly offset: number } | { readonly ok: false; readonly message: string };

async function publishOverHttp(base: string, apiKey: string | null, channel: string, data: string): Promise<PublishAnswer> {
  let url: URL;
  try {
    url = new URL('/publish', base);
  } catch {
    return { ok: false, message: `--url ${base} is not a URL (e.g. http://127.0.0.1:8080)` };
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey !== null ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: `{"channel":${JSON.stringify(channel)},"data":${data}}`,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const cause = (error as Error & { cause?: NodeJS.ErrnoException }).cause;
    return { ok: false, message: `cannot reach ${url.origin} (${cause?.code ?? cause?.message ?? (error as Error).message}); is the gateway running there?` };
  }
  const body = (await response.json().catch(() => null)) as { epoch?: string; offset?: number; error?: string; message?: string } | null;
  if (response.ok && typeof body?.epoch === 'string' && typeof body.offset === 'number') return { ok: true, epoch: body.epoch, offset: body.offset };
  return { ok: false, message: `${url.origin} answered ${response.status}${body?.error ? ` ${body.error}` : ''}: ${body?.message ?? 'no explanation'}` };
}
