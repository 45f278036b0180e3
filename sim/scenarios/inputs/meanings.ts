// One line per input key: what it means, and for keys with a shape or a range their rule (zod). Shared by
// every scenario (a key means the same thing wherever it appears); sim/scenarios/define.ts builds each
// scenario's input schema from these and the story's values; `--inputs` prints the meaning next to the value. Sources and the
// reasons for each value are in inputs/README.md; test/sim/cli-contract.test.ts checks that every key of
// every registered scenario has a meaning here.
import { z } from 'zod';

export const meanings: Readonly<Record<string, string>> = {
  // ---- contract keys (docs/lab.md, "The CLI contract") ----
  'gateway.nofile': "gateway process's open-files soft limit (RLIMIT_NOFILE, `ulimit -n`)",
  'gateway.nofileHard': "gateway process's open-files hard limit (a runtime that raises soft → hard gets this)",
  'robots.nofile': "load robots' open-files soft limit (each client socket is a descriptor)",
  'robots.nofileHard': "load robots' open-files hard limit",
  'host.somaxconn': 'server host net.core.somaxconn / kern.ipc.somaxconn: cap on any listen backlog',
  'host.synBacklog': 'server host net.ipv4.tcp_max_syn_backlog (matters only without syncookies)',
  'host.syncookies': 'server host net.ipv4.tcp_syncookies: 0 off, 1 on SYN-queue overflow, 2 always',
  'container.memoryMiB': 'container memory limit in MiB (cgroup memory.max); 0 = no container limit',
  'story.perConnectionKiB': "memory the story's gateway costs per connection, KiB",
  'story.overheadMiB': "fixed memory of the story's gateway (runtime, heap baseline), MiB",
  'loadgen.portRange': 'load generator ephemeral port range "lo-hi" (net.ipv4.ip_local_port_range)',
  'loadgen.sourceAddresses': 'source IP addresses on the load generator (each multiplies the port space)',
  'loadgen.twReuse': 'load generator net.ipv4.tcp_tw_reuse: 0 off, 1 on, 2 loopback only',
  'load.connections': 'connections (robot users) the load opens in total',
  'load.rampPerSecond': 'new connections per second during the ramp',
  // ---- host and container ----
  'host.cores': 'CPU cores of the server host',
  'host.memoryGiB': 'memory of the server host, GiB',
  'host.gatewayFdsReserved': 'descriptors the gateway holds besides client sockets (stdio, logs, outbound clients)',
  'host.abortOnOverflow': 'net.ipv4.tcp_abort_on_overflow: RST instead of ignoring an ACK on a full accept queue',
  'host.conntrackMax': 'nf_conntrack_max on the server host; 0 = no conntrack',
  'container.vcpu': 'vCPUs of the container',
  'server.ports': 'listening ports on the server (each multiplies the 4-tuple space)',
  'net.rttMs': 'network round-trip time between load generator and server, ms',
  // ---- gateway process ----
  'gateway.fdsReserved': 'descriptors the gateway holds besides client sockets (stdio, logs, outbound clients)',
  'gateway.runtime': "the gateway's runtime and version (decides accept-on-EMFILE and nofile raising)",
  'gateway.acceptCpuMs': 'CPU per accept() on the gateway, ms',
  'gateway.handshakeCpuMs': 'CPU per WebSocket upgrade on the gateway, ms',
  'gateway.inboundCpuMs': 'CPU per inbound message on the gateway, ms',
  'gateway.outboundCpuMs': 'CPU per outbound message write on the gateway, ms',
  'gateway.writeCpuMs': 'CPU per socket write on the gateway, ms',
  'robots.fdsReserved': 'descriptors the robot process holds besides client sockets (stdio)',
  // ---- load ----
  'load.rampMs': 'time over which the robots start, ms',
  'load.aboveCap': 'connections above the derived cap to attempt (−1: use load.connections)',
  'load.attemptsMax': 'connect attempts per robot before it gives up',
  'load.handshakeTimeoutMs': "robot's timeout for connect + upgrade, ms",
  'load.holdMs': 'how long the load holds its connections after the ramp, ms',
  'load.rampPerSecondEnd': 'new connections per second at the end of the ramp (linear from load.rampPerSecond)',
  'load.retryDelayMs': 'delay before a robot retries a failed attempt, ms',
  'load.retryDelayMaxMs': 'cap on the (doubling) retry delay, ms',
  'load.upgradeTimeoutMinMs': 'shortest time a client gives an upgrade before giving up, ms',
  'load.upgradeTimeoutMaxMs': 'longest time a client gives an upgrade before giving up, ms',
  'load.sourceAddresses': 'source IP addresses the load connects from',
  'load.channels': 'channels the clients subscribe to',
  'loadgen.closesPerSecond': 'connections the load generator closes (and reopens) per second',
  'loadgen.cores': 'CPU cores of the load generator',
  'loadgen.finTimeoutMs': 'load generator net.ipv4.tcp_fin_timeout, ms',
  'loadgen.handshakeTimeoutMs': "load generator's timeout for connect + upgrade, ms",
  'loadgen.memoryGiB': 'memory of the load generator, GiB',
  'loadgen.timeWaitMs': 'TIME_WAIT duration on the load generator, ms',
  // ---- clients and feed ----
  'clients.slowFraction': 'fraction of clients that read slower than the feed',
  'clients.slowReadPerSecond': 'messages per second a slow client reads',
  'feed.channels': 'feed channels as name:priority:messagesPerSecond[:conflate], comma-separated',
  'feed.messageBytes': 'bytes per feed message',
  'feed.startMs': 'when the feed starts, ms',
  'feed.durationMs': 'how long the feed publishes, ms',
  'feed.drainMs': 'time after the feed for buffers to drain before the run ends, ms',
  'feed.publishPerSecond': 'broker publishes per second across all channels',
  'feed.retentionAgeMs': 'how long the broker keeps history for resumes, ms',
  // ---- the story's gateway ----
  'story.gcCostRatio': "GC cost ratio of the story's runtime (stretch = 1 + ratio·max(1/growth, p/(1−p)))",
  'story.gcGrowth': "GC heap growth factor of the story's runtime (GOGC/100)",
  'story.gcStretchMax': 'cap on the GC stretch of handshake latency',
  'story.handshakeCpuMs': "CPU per WebSocket upgrade in the story's gateway, ms",
  'story.messageBytes': "bytes per message in the story's accounting",
  'story.onFull': "what the story's gateway does with a full send buffer (close | throttle)",
  'story.outboundCpuMs': "CPU per outbound write in the story's gateway, ms",
  'story.planFailuresToThrottle': 'consecutive full-buffer failures before the plan throttles a client',
  'story.planLevelsPct': "the plan's throttle levels, % of messages kept, comma-separated",
  'story.planRecoverMs': 'time without failures before the plan restores a throttled client, ms',
  'story.replayBufferMessages': "replay buffer slots per connection in the story's accounting",
  'story.sendBufferMessages': "send buffer (channel) slots per connection in the story's gateway",
  'story.sendChannelSlots': "send channel slots per connection in the story's accounting",
  'story.slotWaitMs': 'how long a handshake waits for a free slot before HTTP 503, ms',
  'story.stateKiB': "per-connection state in the story's accounting, KiB",
  'story.writeWaitMs': "story's write deadline: a write blocked longer closes the connection, ms",
  'story.inboundCpuMs': "CPU per inbound message in the story's gateway, ms",
  'story.betCpuMs': "CPU to handle one bet in the story's gateway, ms",
  'story.gameServiceMs': 'round trip to the game service per bet, ms',
  'load.betSpreadMs': 'robots spread their bets uniformly over this many ms (0: all at once)',
  'load.bettingAtMs': 'when the "start betting" broadcast goes out, ms',
  'run.endAfterBettingMs': 'how long the run continues after the "start betting" broadcast, ms',
  'story.attempts': "browser client's reconnect attempts in the story (no jitter)",
  'story.baseMs': "browser client's first reconnect delay in the story (doubling), ms",
  'story.connectionsMax': "the story's fix: total connection cap",
  'story.relayBets': "1: the story's server relays every bet to every player (0: the bettor only)",
  'story.perUserMax': "the story's fix: connections per user cap",
  // ---- ours ----
  'ours.baselineMiB': 'RSS of our gateway with no connections, MiB',
  'ours.perConnectionKiB': "our gateway's measured memory per connection, KiB",
  'ours.memoryBudgetRatio': 'share of the memory limit our admission may plan for',
  'ours.handshakeCpuMs': 'CPU per upgrade in our gateway, ms',
  'ours.writeCpuMs': 'CPU per socket write in our gateway, ms',
  'ours.handshakesPerSecondPerIp': "our admission's handshake rate per client IP",
  'ours.handshakeBurstPerIp': "our admission's handshake burst per client IP",
  'ours.connectionsPerIpMax': "our admission's connection cap per client IP",
  // ---- mechanisms every scenario takes, unset by default (inputs/mechanisms.ts) ----
  'host.synRetries': "net.ipv4.tcp_syn_retries on every Linux host: SYN retransmissions before connect() fails (unset: the story's)",
  'host.synLinearTimeouts': 'net.ipv4.tcp_syn_linear_timeouts on every Linux host: SYNs 1 s apart this many times first; 0 = classic doubling',
  'gateway.listenBacklog': "backlog every server passes to listen(), apart from somaxconn (which still caps it); unset: the server's own",
  'gateway.busyAtMs': 'when the busy spell (gateway.busyMs) starts on every listening process, ms',
  'gateway.busyMs': "every listening process's event loop runs one synchronous task this long at gateway.busyAtMs: it neither accepts nor reads (0: none)",
  'loadgen.bindSource':
    'the load tool binds its source address before connect() (true) or lets connect() pick (false); unset: binds with more than one address',
  'load.clientKind': "the load tool's client library, for how it names a FIN before the response: go (eof) or node (ECONNRESET)",
  'ours.loadBrakeDelayMs': 'our load brake: refuse handshakes while the loop delay sampled every second exceeds this, ms (unset: no samples)',
  'ours.fdReserve': "our resources.fdReserve: descriptors kept back from the capacity formula (unset: the server's default)",
  // ---- scenario timing and report ----
  'report.windowsS': 'report failure windows starting at these seconds, comma-separated',
  'browser.socketsPerTab': 'WebSockets one browser tab opens',
  'run.endMs': 'virtual time at which the run ends, ms',
  'run.endAfterMs': 'how long the run continues after the last broadcast, ms',
  'fault.outageAtMs': 'when the broker becomes unreachable, ms',
  'fault.outageMs': 'how long the broker is unreachable, ms',
  'fault.publishersReach': 'publishers can still reach the broker during the outage',
  'fault.drainAtMs': 'when instance A starts draining, ms',
  'fault.restartDelayMs': 'how long instance A stays down before restarting, ms',
  'fault.restartAtMs': 'when the hub restarts, ms',
  'fault.downMs': 'how long the hub is down, ms',
  'feed.broadcasts': 'broadcasts sent during the run',
  'feed.broadcastEveryMs': 'interval between broadcasts, ms',
};

/** Rules beyond "a finite number" / "a string" for keys whose values have a shape or a range. */
const count = z.number().int().nonnegative();
const positive = z.number().int().positive();
const mode012 = z.number().int().min(0).max(2);
const rules: Readonly<Record<string, z.ZodType<number | string | boolean>>> = {
  'gateway.nofile': positive,
  'gateway.nofileHard': positive,
  'robots.nofile': positive,
  'robots.nofileHard': positive,
  'host.somaxconn': positive,
  'host.synBacklog': positive,
  'host.syncookies': mode012,
  'loadgen.twReuse': mode012,
  'loadgen.portRange': z.string().regex(/^\s*\d{1,5}\s*-\s*\d{1,5}\s*$/, 'expects "lo-hi", e.g. "32768-60999"'),
  'loadgen.sourceAddresses': z.number().int().min(1).max(250),
  'load.connections': count,
  'load.rampPerSecond': z.number().positive(),
  'host.cores': positive,
  'container.memoryMiB': z.number().nonnegative(),
  'gateway.fdsReserved': count,
  'robots.fdsReserved': count,
  'story.sendBufferMessages': positive,
  'story.relayBets': z.number().int().min(0).max(1),
  'host.synRetries': z.number().int().min(1).max(127),
  'host.synLinearTimeouts': z.number().int().min(0).max(10),
  'gateway.listenBacklog': count,
  'gateway.busyAtMs': z.number().nonnegative(),
  'gateway.busyMs': z.number().nonnegative(),
  'load.clientKind': z.enum(['go', 'node']),
  'ours.loadBrakeDelayMs': z.number().nonnegative(),
  'ours.fdReserve': count,
  'ours.handshakesPerSecondPerIp': z.number().positive(),
  'ours.handshakeBurstPerIp': z.number().positive(),
  'ours.connectionsPerIpMax': positive,
};

/** The input's rule, or undefined for the default rule of its type. */
export function inputRule(key: string): z.ZodType<number | string | boolean> | undefined {
  return rules[key];
}

/** The meaning of `key`, or undefined when nobody wrote one (a test fails then). */
export function meaningOf(key: string): string | undefined {
  return meanings[key];
}
