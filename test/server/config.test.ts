// Config precedence (defaults < file < environment < flags) and the error message for every kind of bad
// value: each names where the value came from, the value, and what is allowed.
import { describe, expect, it } from 'vitest';
import { defaultGatewayOptions } from '../../src/core/options.js';
import { allPaths, ConfigError, envNameOf, loadConfig, redactedConfig, toGatewayOptions, type ConfigSources } from '../../src/server/config.js';

function files(content: Record<string, unknown> | string): Pick<ConfigSources, 'file' | 'readFile'> {
  return { file: '/etc/odin.json', readFile: () => (typeof content === 'string' ? content : JSON.stringify(content)) };
}

function problemsOf(sources: ConfigSources): string[] {
  try {
    loadConfig(sources);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('precedence', () => {
  it('uses the core defaults when nothing is given', () => {
    const { config } = loadConfig();
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, path: '/ws' });
    expect(toGatewayOptions(config, defaultGatewayOptions.history.totalBytesMax)).toEqual(defaultGatewayOptions);
    expect(config.publish.apiKey).toBeNull();
  });

  it('layers defaults < file < environment < flags', () => {
    const { config, origins } = loadConfig({
      ...files({ server: { port: 1000, host: '127.0.0.1' }, admission: { perUserMax: 7, perIpMax: 70 }, history: { eventsMax: 5 } }),
      env: { WS_PORT: '2000', WS_ADMISSION_PER_USER_MAX: '8', WS_HISTORY_EVENTS_MAX: '6' },
      flags: [
        { path: 'server.port', raw: '3000', flag: '--port' },
        { path: 'history.eventsMax', raw: '9', flag: '--set history.eventsMax' },
      ],
    });
    expect(config.server.port).toBe(3000);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.admission).toMatchObject({ perUserMax: 8, perIpMax: 70 });
    expect(config.history.eventsMax).toBe(9);
    expect(config.admission.connectionsMax).toBe(defaultGatewayOptions.admission.connectionsMax);
    expect(origins).toMatchObject({
      'server.port': '--port',
      'server.host': '/etc/odin.json: server.host',
      'admission.perUserMax': 'WS_ADMISSION_PER_USER_MAX',
    });
  });

  it('lets the long environment name win over its alias', () => {
    expect(loadConfig({ env: { WS_PORT: '1', WS_SERVER_PORT: '2' } }).config.server.port).toBe(2);
    expect(loadConfig({ env: { WS_SERVER_PORT: '2', WS_PORT: '1' } }).config.server.port).toBe(2);
  });

  it('reads the file named by WS_CONFIG', () => {
    const { config } = loadConfig({ env: { WS_CONFIG: '/x.json' }, readFile: () => '{"server":{"port":4444}}' });
    expect(config.server.port).toBe(4444);
  });

  it('parses text for every kind of setting', () => {
    const { config } = loadConfig({
      env: {
        WS_SERVER_TRUST_PROXY: 'yes',
        WS_ADMISSION_HANDSHAKES_PER_SECOND: '2.5',
        WS_HISTORY_BYTES_MAX: '4_194_304',
        WS_RESOURCES_MEMORY_BYTES: '536870912',
        WS_RESOURCES_FD_LIMIT: 'auto',
        WS_OUTBOUND_THROTTLE_LEVELS: '[0.4, 0.6, 0.8]',
        WS_GATEWAY_CHANNEL_CLASSES: '[{"pattern":"odin.global.>","priority":"critical"},{"pattern":"odin.token.*.book","priority":"low","conflate":true}]',
        WS_LOG_LEVEL: 'debug',
        WS_PUBLISH_API_KEY: 'k'.repeat(32),
      },
    });
    expect(config.server.trustProxy).toBe(true);
    expect(config.admission.handshakesPerSecond).toBe(2.5);
    expect(config.history.bytesMax).toBe(4 * 1024 * 1024);
    expect(config.resources).toMatchObject({ memoryBytes: 536870912, fdLimit: null });
    expect(config.outbound.throttleLevels).toEqual([0.4, 0.6, 0.8]);
    expect(config.gateway.channelClasses).toEqual([
      { pattern: 'odin.global.>', priority: 'critical', conflate: false },
      { pattern: 'odin.token.*.book', priority: 'low', conflate: true },
    ]);
    expect(config.log.level).toBe('debug');
    expect(redactedConfig(config).publish!.apiKey).toBe('<redacted>');
  });

  it('warns about unknown WS_ variables instead of ignoring them silently, suggesting the likely name', () => {
    expect(loadConfig({ env: { WS_ADMISION_PER_USER_MAX: '3', HOME: '/root' } }).warnings).toEqual([
      'ignoring unknown environment variable WS_ADMISION_PER_USER_MAX (did you mean WS_ADMISSION_PER_USER_MAX?)',
    ]);
    expect(loadConfig({ env: { WS_SOMETHING_ELSE_ENTIRELY: '1' } }).warnings).toEqual([
      'ignoring unknown environment variable WS_SOMETHING_ELSE_ENTIRELY (settings are WS_<SECTION>_<KEY>, e.g. WS_ADMISSION_PER_USER_MAX)',
    ]);
  });

  it('has an environment name for every setting', () => {
    const names = allPaths().map((path) => envNameOf(...(path.split('.') as [string, string])));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('WS_LOAD_BRAKE_EVENT_LOOP_DELAY_MS_MAX');
    expect(names).toContain('WS_OUTBOUND_SOCKET_HIGH_WATER_BYTES');
  });
});

describe('bad values name the key, the value and what is allowed', () => {
  it.each([
    [{ WS_PORT: 'abc' }, 'config error: WS_PORT="abc": expected an integer 0..65535'],
    [{ WS_PORT: '70000' }, 'config error: WS_PORT="70000": expected an integer 0..65535'],
    [{ WS_PORT: '80.5' }, 'config error: WS_PORT="80.5": expected an integer 0..65535'],
    [{ WS_PORT: '' }, 'config error: WS_PORT="": expected an integer 0..65535'],
    [{ WS_PORT: '0x50' }, 'config error: WS_PORT="0x50": expected an integer 0..65535'],
    [{ WS_ADMISSION_PER_USER_MAX: '-1' }, 'config error: WS_ADMISSION_PER_USER_MAX="-1": expected an integer 1..1_000_000'],
    [
      { WS_ADMISSION_HANDSHAKES_PER_SECOND: '0' },
      'config error: WS_ADMISSION_HANDSHAKES_PER_SECOND="0": expected a number greater than 0 and at most 1_000_000',
    ],
    [{ WS_LOAD_BRAKE_UTILIZATION_MAX: '1.5' }, 'config error: WS_LOAD_BRAKE_UTILIZATION_MAX="1.5": expected a number greater than 0 and at most 1'],
    [{ WS_SERVER_TRUST_PROXY: 'maybe' }, 'config error: WS_SERVER_TRUST_PROXY="maybe": expected true or false'],
    [{ WS_LOG_LEVEL: 'loud' }, 'config error: WS_LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent'],
    [{ WS_SERVER_WRITE_MODE: 'fast' }, 'config error: WS_SERVER_WRITE_MODE="fast": expected one of preframed, send'],
    [{ WS_SERVER_PATH: 'ws' }, 'config error: WS_SERVER_PATH="ws": expected a path starting with "/"'],
    [{ WS_RESOURCES_FD_LIMIT: 'lots' }, 'config error: WS_RESOURCES_FD_LIMIT="lots": expected an integer 16..2_147_483_648, or "auto"'],
    [
      { WS_OUTBOUND_THROTTLE_LEVELS: '[0.9,0.5,1]' },
      'config error: WS_OUTBOUND_THROTTLE_LEVELS="[0.9,0.5,1]": expected a JSON array of three increasing fractions in (0, 1], e.g. [0.5,0.75,0.9]',
    ],
    [
      { WS_OUTBOUND_THROTTLE_LEVELS: '0.5' },
      'config error: WS_OUTBOUND_THROTTLE_LEVELS="0.5": expected a JSON array of three increasing fractions in (0, 1], e.g. [0.5,0.75,0.9]',
    ],
    [
      { WS_GATEWAY_CHANNEL_CLASSES: '[{"pattern":"a..b","priority":"high"}]' },
      'config error: WS_GATEWAY_CHANNEL_CLASSES="[{\\"pattern\\":\\"a..b\\",\\"priority\\":\\"high\\"}]": expected a JSON array of {"pattern": channel pattern, "priority": critical|high|normal|low, "conflate": boolean, "writeDelayMs"?: 0..1000}',
    ],
    [{ WS_OUTBOUND_SOCKET_HIGH_WATER_BYTES: '1000' }, 'config error: WS_OUTBOUND_SOCKET_HIGH_WATER_BYTES="1000": expected an integer 16384..1_073_741_824'],
    [
      { WS_OUTBOUND_SOCKET_HIGH_WATER_BYTES: '2000000' },
      'config error: WS_OUTBOUND_SOCKET_HIGH_WATER_BYTES="2000000": expected at most outbound.queueBytesMax (1048576)',
    ],
  ])('%j', (env, message) => {
    expect(problemsOf({ env })).toEqual([message]);
  });

  it('never echoes a secret', () => {
    expect(problemsOf({ env: { WS_PUBLISH_API_KEY: 'hunter2' } })).toEqual([
      'config error: WS_PUBLISH_API_KEY=<redacted>: expected a string of 16 to 1024 characters',
    ]);
  });

  it('reports every problem at once, one line per setting', () => {
    expect(problemsOf({ env: { WS_PORT: 'abc', WS_LOG_LEVEL: 'loud' } })).toHaveLength(2);
  });

  it('names the file and the key for values from the config file', () => {
    expect(problemsOf(files({ server: { port: '8080' } }))).toEqual(['config error: /etc/odin.json: server.port="8080": expected an integer 0..65535']);
    expect(problemsOf(files({ admission: { perUserMax: null } }))).toEqual([
      'config error: /etc/odin.json: admission.perUserMax=null: expected an integer 1..1_000_000',
    ]);
  });

  it('rejects unknown sections and keys in the file, listing what exists', () => {
    const [section] = problemsOf(files({ sever: {} }));
    expect(section).toMatch(/^config error: \/etc\/odin\.json: unknown section "sever" \(did you mean server\?\); expected one of server, log, /);
    const [key] = problemsOf(files({ server: { prot: 1 } }));
    expect(key).toMatch(/^config error: \/etc\/odin\.json: unknown key "server\.prot" \(did you mean port\?\); server has host, port, path/);
  });

  it('rejects an unreadable or malformed file', () => {
    expect(
      problemsOf({
        file: '/nope.json',
        readFile: () => {
          throw Object.assign(new Error('x'), { code: 'ENOENT' });
        },
      }),
    ).toEqual(['config error: /nope.json: cannot read the config file (ENOENT)']);
    expect(problemsOf(files('{"server":'))[0]).toMatch(/^config error: \/etc\/odin\.json: not valid JSON/);
    expect(problemsOf(files('[1]'))[0]).toMatch(/^config error: \/etc\/odin\.json: expected a JSON object/);
  });

  it('names the flag for values from the command line', () => {
    expect(problemsOf({ flags: [{ path: 'server.port', raw: 'x', flag: '--port' }] })).toEqual(['config error: --port="x": expected an integer 0..65535']);
    expect(problemsOf({ flags: [{ path: 'server.nope', raw: '1', flag: '--set server.nope' }] })[0]).toMatch(
      /^config error: --set server\.nope: unknown setting "server\.nope"; settings are section\.key/,
    );
    expect(problemsOf({ flags: [{ path: 'admission.perUserMaks', raw: '1', flag: '--set admission.perUserMaks' }] })).toEqual([
      'config error: --set admission.perUserMaks: unknown setting "admission.perUserMaks" (did you mean admission.perUserMax?)',
    ]);
  });
});
