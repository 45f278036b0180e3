// A simulated machine: its OS flavour, the sysctls the model reads, its addresses, RAM and cores, and the
// per-host tables (ephemeral ports, conntrack, listening sockets). Processes live in process.ts.
//
// Defaults and the source of each are listed in docs/kernel.md ("Per-OS defaults"); values that are our
// best reading of a source rather than a documented default (most of Windows) are marked there as such.
import type { Prng } from '../engine/prng.js';
import type { Scheduler } from '../engine/scheduler.js';
import { Conntrack } from './conntrack.js';
import type { Listener } from './tcp.js';
import { EphemeralPorts } from './ports.js';

export type OsFlavour = 'linux' | 'macos' | 'windows';

export interface Sysctls {
  /** Listen backlog cap: Linux net.core.somaxconn, macOS kern.ipc.somaxconn. */
  somaxconn: number;
  /** Linux net.ipv4.tcp_max_syn_backlog: only consulted with syncookies off (tcp_conn_request). */
  tcpMaxSynBacklog: number;
  /** Linux net.ipv4.tcp_syncookies: 0 off, 1 on SYN-queue overflow only, 2 always. */
  tcpSyncookies: 0 | 1 | 2;
  /** Linux net.ipv4.tcp_abort_on_overflow: RST instead of ignoring a final ACK on a full accept queue. */
  tcpAbortOnOverflow: boolean;
  /** Linux net.ipv4.tcp_synack_retries. */
  tcpSynackRetries: number;
  /** 'linux': SYN queue + accept queue. 'bsd': one queue counting incomplete + complete (XNU). */
  listenModel: 'linux' | 'bsd';
  /** Ephemeral port range, inclusive (Linux net.ipv4.ip_local_port_range). */
  portLo: number;
  portHi: number;
  /** Linux net.ipv4.tcp_tw_reuse: 0 off, 1 on, 2 loopback only. */
  tcpTwReuse: 0 | 1 | 2;
  /** How long a TIME_WAIT entry must be before tw_reuse may take its port ("after ~1 s"). */
  twReuseAfterMs: number;
  /** TIME_WAIT duration for the active closer. */
  timeWaitMs: number;
  /** Orphaned FIN_WAIT2 lifetime (Linux net.ipv4.tcp_fin_timeout). Not TIME_WAIT: see docs/lab.md. */
  finTimeoutMs: number;
  /** nf_conntrack_max; 0 = conntrack not loaded on this host. */
  conntrackMax: number;
  /** First SYN retransmission timeout, and the multiplier of each later one. */
  synRtoInitialMs: number;
  synBackoff: readonly number[];
  /** SYN retransmissions before giving up (Linux net.ipv4.tcp_syn_retries). */
  synRetries: number;
  /**
   * Linux net.ipv4.tcp_syn_linear_timeouts (6.5+, default 4): this many retransmissions at the initial RTO
   * before the backoff starts, on top of synRetries. 0 = the classic schedule (older kernels, macOS, Windows).
   */
  synLinearTimeouts: number;
  /**
   * Linux CONFIG_HZ: TCP's retransmission timers run on the timer wheel, which rounds a timer up to its
   * level's granularity (kernel/time/timer.c calc_index: 8^level jiffies), so SYNs whose timers were
   * armed within one such slot go out together (a 1 s RTO at HZ 250: 32 ms slots). 0: exact timers.
   */
  timerHz: number;
  /** A connect timer that ends the attempt whatever retransmissions remain (macOS), or null. */
  connectTimerMs: number | null;
  /** Default socket buffer sizes (Linux tcp_rmem[1], tcp_wmem[1]). */
  rmemBytes: number;
  wmemBytes: number;
  /** Default soft RLIMIT_NOFILE of a process started from a login shell / service manager. */
  nofileSoft: number;
}

const linuxDoubling = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Linux conntrack default: max = buckets = RAM/16384, clamped to 1024..262144 (nf_conntrack-sysctl.rst). */
export function linuxConntrackMax(memoryBytes: number): number {
  return Math.min(262_144, Math.max(1_024, Math.floor(memoryBytes / 16_384)));
}

export function defaultSysctls(os: OsFlavour, _memoryBytes: number): Sysctls {
  switch (os) {
    case 'linux':
      return {
        somaxconn: 4_096, // ip-sysctl.rst: 4096 since 5.4 (128 before)
        tcpMaxSynBacklog: 1_024, // ip-sysctl.rst, "1024 for systems with more than 128 MB"
        tcpSyncookies: 1, // ip-sysctl.rst default 1
        tcpAbortOnOverflow: false, // ip-sysctl.rst default 0
        tcpSynackRetries: 5, // ip-sysctl.rst default 5 (≈63 s)
        listenModel: 'linux',
        portLo: 32_768, // ip_local_port_range default 32768 60999
        portHi: 60_999,
        tcpTwReuse: 2, // current default: loopback only
        twReuseAfterMs: 1_000, // tcp_twsk_unique: timestamp older than 1 s
        timeWaitMs: 60_000, // TCP_TIMEWAIT_LEN, fixed
        finTimeoutMs: 60_000, // ip-sysctl.rst tcp_fin_timeout default 60 s
        conntrackMax: 0, // conntrack loads with netfilter rules; scenarios that use it set linuxConntrackMax()
        synRtoInitialMs: 1_000, // TCP_TIMEOUT_INIT
        synBackoff: linuxDoubling,
        synRetries: 6, // tcp_syn_retries default 6
        synLinearTimeouts: 4, // 6.5+: SYNs at 0,1,2,3,4,5,7,11,19,35,67 s, ETIMEDOUT ≈131 s (measured here)
        timerHz: 250, // CONFIG_HZ of this machine (and Debian's, Ubuntu generic's); Fedora/RHEL use 1000
        connectTimerMs: null,
        rmemBytes: 131_072, // tcp_rmem default
        wmemBytes: 16_384, // tcp_wmem default
        nofileSoft: 1_024, // systemd default soft limit (Node raises it: see runtime.ts)
      };
    case 'macos':
      return {
        somaxconn: 128, // kern.ipc.somaxconn
        tcpMaxSynBacklog: 128, // unused by the bsd model
        tcpSyncookies: 0, // XNU has no syncookies
        tcpAbortOnOverflow: false,
        tcpSynackRetries: 5, // unused by the bsd model (no ACK-on-full case: the queue already counts it)
        listenModel: 'bsd',
        portLo: 49_152, // net.inet.ip.portrange.first/last
        portHi: 65_535,
        tcpTwReuse: 0,
        twReuseAfterMs: 1_000,
        timeWaitMs: 30_000, // 2 × MSL, net.inet.tcp.msl 15 s
        finTimeoutMs: 60_000, // assumption: approximates XNU's FIN_WAIT_2 idle timer
        conntrackMax: 0,
        synRtoInitialMs: 1_000, // XNU TCPTV_RTOBASE
        synBackoff: [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64, 64, 64], // XNU tcp_syn_backoff[]
        synRetries: 12, // TCP_MAXRXTSHIFT; the 75 s connect timer ends the attempt first
        synLinearTimeouts: 0, // the backoff table above already starts flat
        timerHz: 0,
        connectTimerMs: 75_000, // TCPTV_KEEP_INIT
        rmemBytes: 131_072, // net.inet.tcp.recvspace
        wmemBytes: 131_072, // net.inet.tcp.sendspace
        nofileSoft: 256, // launchd / shell default soft limit
      };
    case 'windows':
      return {
        somaxconn: 200, // Winsock listen() SOMAXCONN "reasonable maximum" on server SKUs
        tcpMaxSynBacklog: 200,
        tcpSyncookies: 0,
        tcpAbortOnOverflow: false,
        tcpSynackRetries: 2,
        listenModel: 'linux', // not from a source: Windows queue internals are not modelled (docs/kernel.md)
        portLo: 49_152, // Vista+ dynamic port range
        portHi: 65_535,
        tcpTwReuse: 0,
        twReuseAfterMs: 1_000,
        timeWaitMs: 120_000, // TcpTimedWaitDelay default (KB 929851 range 120–240 s)
        finTimeoutMs: 120_000,
        conntrackMax: 0,
        synRtoInitialMs: 3_000, // TcpInitialRtt 3 s
        synBackoff: linuxDoubling,
        synRetries: 2, // TcpMaxConnectRetransmissions 2 → fails ≈21 s
        synLinearTimeouts: 0,
        timerHz: 0,
        connectTimerMs: null,
        rmemBytes: 65_536, // default receive window 64 KB
        wmemBytes: 65_536,
        nofileSoft: 16_777_216, // Windows has no per-process descriptor rlimit; handles are bounded by memory
      };
  }
}

export interface HostSpec {
  readonly name: string;
  readonly os: OsFlavour;
  /** First address is the default source address; more addresses multiply the ephemeral port space. */
  readonly addresses: readonly string[];
  readonly memoryBytes: number;
  readonly cores: number;
  readonly sysctls?: Partial<Sysctls>;
}

/** Cumulative times (from the first SYN) of each SYN retransmission, and when connect() gives up. */
export interface SynPlan {
  readonly retransmitAtMs: readonly number[];
  readonly giveUpAtMs: number;
}

/**
 * Linux 6.5+ (tcp_syn_linear_timeouts 4, tcp_syn_retries 6): the first 4 retransmissions keep the 1 s RTO
 * and come on top of the 6 (tcp_retransmit_timer, tcp_write_timeout): SYNs at 1, 2, 3, 4, 5, 7, 11, 19,
 * 35, 67 s, then one more RTO → ETIMEDOUT at 131 s (measured here with 3 retries: 19.5 s). With
 * tcp_syn_linear_timeouts 0: 1, 3, 7, 15, 31, 63 s → 127 s. macOS: the backoff table gives 1, 2, 3, 4, 5,
 * 7, 11, 19, 35, 67 s but the 75 s connect timer ends the attempt first.
 */
export function synPlan(s: Sysctls): SynPlan {
  const at: number[] = [];
  let t = 0;
  const linear = s.synLinearTimeouts;
  const retries = s.synRetries + linear;
  for (let i = 0; i <= retries; i++) {
    const k = Math.max(0, i - linear);
    const factor = i < linear ? 1 : (s.synBackoff[Math.min(k, s.synBackoff.length - 1)] as number);
    t += s.synRtoInitialMs * factor;
    if (i < retries) at.push(t);
  }
  let giveUp = t;
  if (s.connectTimerMs !== null && s.connectTimerMs < giveUp) giveUp = s.connectTimerMs;
  return { retransmitAtMs: at.filter((x) => x < giveUp), giveUpAtMs: giveUp };
}

/** 127.0.0.0/8 (ipv4_is_loopback). */
export function isLoopbackAddr(addr: string): boolean {
  return addr.startsWith('127.');
}

/**
 * When a timer armed at `nowMs` for `delayMs` fires on Linux's timer wheel (kernel/time/timer.c): the
 * expiry in jiffies is rounded up past its level's granularity (level n: 8^n jiffies; a level holds 64
 * slots, LVL_START(n) = 63 << 3(n−1)). With hz 0 the timer is exact.
 */
export function timerWheelFireMs(nowMs: number, delayMs: number, hz: number): number {
  if (hz <= 0) return nowMs + delayMs;
  const jiffyMs = 1000 / hz;
  const nowJ = Math.floor(nowMs / jiffyMs);
  const expJ = nowJ + Math.ceil(delayMs / jiffyMs);
  const delta = expJ - nowJ;
  let lvl = 0;
  while (lvl < 8 && delta >= 63 << (3 * lvl)) lvl++;
  if (lvl === 0) return Math.max(nowMs + delayMs, expJ * jiffyMs);
  const gran = 8 ** lvl;
  return Math.floor((expJ + gran) / gran) * gran * jiffyMs;
}

export class Host {
  readonly name: string;
  readonly os: OsFlavour;
  readonly addresses: readonly string[];
  readonly memoryBytes: number;
  readonly cores: number;
  readonly sysctls: Sysctls;
  readonly synPlan: SynPlan;
  readonly ports: EphemeralPorts;
  readonly conntrack: Conntrack | null;
  /** Listening sockets by "addr:port"; "*:port" is the wildcard address. */
  readonly listeners = new Map<string, Listener>();
  /** Expiry times of server-side TIME_WAIT entries, in order (the duration is fixed per host). */
  private readonly twExpiryMs: number[] = [];
  private twHead = 0;

  constructor(
    spec: HostSpec,
    readonly sched: Scheduler,
    rng: Prng,
  ) {
    if (spec.addresses.length === 0) throw new RangeError(`host ${spec.name}: needs an address`);
    this.name = spec.name;
    this.os = spec.os;
    this.addresses = spec.addresses;
    this.memoryBytes = spec.memoryBytes;
    this.cores = spec.cores;
    this.sysctls = { ...defaultSysctls(spec.os, spec.memoryBytes), ...spec.sysctls };
    this.synPlan = synPlan(this.sysctls);
    const s = this.sysctls;
    this.ports = new EphemeralPorts({ lo: s.portLo, hi: s.portHi, timeWaitMs: s.timeWaitMs, twReuseAfterMs: s.twReuseAfterMs }, rng.fork(`ports:${spec.name}`));
    this.conntrack = s.conntrackMax > 0 ? new Conntrack(sched, s.conntrackMax) : null;
  }

  /**
   * TIME_WAIT entries this host holds as the active closer of accepted (server-side) connections. Expired
   * lazily on read: no scheduler event per entry.
   */
  get serverTimeWait(): number {
    const now = this.sched.nowMs;
    while (this.twHead < this.twExpiryMs.length && (this.twExpiryMs[this.twHead] as number) <= now) this.twHead++;
    if (this.twHead > 4096 && this.twHead * 2 > this.twExpiryMs.length) {
      this.twExpiryMs.splice(0, this.twHead);
      this.twHead = 0;
    }
    return this.twExpiryMs.length - this.twHead;
  }

  enterServerTimeWait(nowMs: number): void {
    this.twExpiryMs.push(nowMs + this.sysctls.timeWaitMs);
  }

  /**
   * tw_reuse applies to this connection. Mode 2 is loopback only: tcp_twsk_unique wants the source or
   * the destination address in 127.0.0.0/8 (or a socket bound to lo), so a host's own non-loopback
   * address does not count although its packets also go through lo (the parity suite's
   * tw-reuse-2-nonlo row, sim/parity/rows.ts).
   */
  twReuseFor(src: string, dst: string): boolean {
    const m = this.sysctls.tcpTwReuse;
    return m === 1 || (m === 2 && (isLoopbackAddr(src) || isLoopbackAddr(dst)));
  }

  listenerFor(addr: string, port: number): Listener | undefined {
    return this.listeners.get(`${addr}:${port}`) ?? this.listeners.get(`*:${port}`);
  }

  ownsAddress(addr: string): boolean {
    return this.addresses.includes(addr);
  }
}
