// One parity experiment, described once and run twice: for real inside a private network namespace
// (real.ts) and in the lab (lab.ts). Both worlds get the same sysctls, limits, servers and clients, and
// report the same thing: per round, what each client saw and how long its connect() took.

/** Sysctls set inside the namespace and given to the lab host. Every experiment sets all of them. */
export interface ParitySysctls {
  readonly somaxconn: number;
  readonly synBacklog: number;
  readonly syncookies: 0 | 1 | 2;
  readonly synRetries: number;
  readonly synLinearTimeouts: number;
  readonly portLo: number;
  readonly portHi: number;
  readonly twReuse: 0 | 1 | 2;
}

export const BASE_SYSCTLS: ParitySysctls = {
  somaxconn: 4096,
  synBacklog: 2048,
  syncookies: 1,
  synRetries: 2,
  synLinearTimeouts: 4,
  portLo: 32768,
  portHi: 60999,
  twReuse: 2,
};

/** A plain Node `ws` server (real/server.mjs) or our gateway (`node bin/odin.mjs serve`). */
export type ServerSpec =
  | {
      readonly kind: 'plain';
      readonly ports: readonly number[];
      readonly backlog: number;
      /** The event loop runs a synchronous task this long, `busyAfterMs` after listening. */
      readonly busyMs?: number;
      readonly busyAfterMs?: number;
      /** prlimit --nofile (soft = hard); absent: the namespace's default. */
      readonly nofile?: number;
    }
  | {
      readonly kind: 'gateway';
      readonly port: number;
      readonly nofile: number;
      /** As for the plain server; for real through a preloaded script (real/busy-preload.mjs). */
      readonly busyMs?: number;
      readonly busyAfterMs?: number;
      /** --set section.key=value, as numbers (resources.*, admission.perIpMax, loadBrake.*, server.loadSampleMs). */
      readonly sets: Readonly<Record<string, number>>;
      /**
       * A memory limit the gateway detects: for real a memory cgroup made for the run where root can make
       * one (real.ts `memoryCgroup`), else `resources.memoryBytes`; in the lab the process's memory limit.
       */
      readonly memoryBytes?: number;
    };

export interface ClientSpec {
  /** Destination address: 127.0.0.1, or a non-loopback address of the same host (`dummyAddr`). */
  readonly host: string;
  readonly ports: readonly number[];
  /** Source addresses (bound before connect, as Node's localAddress does); empty: connect() picks. */
  readonly srcAddrs: readonly string[];
  readonly count: number;
  readonly spacingMs: number;
  /** How long a round waits for outcomes after its last connection started. */
  readonly settleMs: number;
  readonly rounds?: number;
  /** Between rounds: every connection of the last round closed (client first) this long ago. */
  readonly pauseMs?: number;
  readonly nofile?: number;
  readonly path?: string;
}

export interface Experiment {
  readonly sysctls: ParitySysctls;
  /** A non-loopback address of the host (a dummy interface in the namespace). */
  readonly dummyAddr?: string;
  readonly server: ServerSpec;
  readonly clients: ClientSpec;
}

export interface RoundResult {
  /** Clients by what they saw: open, http-NNN, eof, ECONNRESET, EADDRNOTAVAIL, EADDRINUSE, EMFILE, pending… */
  readonly outcomes: Readonly<Record<string, number>>;
  /** connect() latencies of the clients that connected, ascending, ms. */
  readonly connectMs: readonly number[];
}

/** What our gateway said of its capacity at start (its log line "max connections N (bound by …)"). */
export interface CapacityNote {
  readonly line: string;
  /** Where the real gateway found its memory limit ("cgroup v1", "config resources.memoryBytes", …). */
  readonly memorySource?: string;
}

export interface ExperimentResult {
  readonly rounds: readonly RoundResult[];
  /** Our gateway's capacity, when the server is ours. */
  readonly capacity?: CapacityNote;
}
