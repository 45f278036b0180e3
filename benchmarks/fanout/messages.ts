// The IPC messages between the fan-out orchestrator (benchmarks/fanout.bench.ts) and its two children.
// Times are process.hrtime.bigint() values sent as strings: on Linux that is CLOCK_MONOTONIC, shared by
// every process on the machine, so a publish start in the server and the last receipt in the client
// can be subtracted directly.

export type ServerVariant = 'odin' | 'naive';

export type ToServer =
  | { readonly cmd: 'publish'; readonly round: number; readonly events: number; readonly batch: number; readonly padBytes: number }
  | { readonly cmd: 'measure'; readonly round: number }
  /** Reports memory after a full GC (the child runs with --expose-gc). */
  | { readonly cmd: 'memory'; readonly tag: string }
  | { readonly cmd: 'stop' };

export type FromServer =
  | { readonly type: 'listening'; readonly url: string; readonly variant: ServerVariant }
  | { readonly type: 'published'; readonly round: number; readonly t0Ns: string; readonly publishNs: string }
  | { readonly type: 'measured'; readonly round: number; readonly cpuUserUs: number; readonly cpuSystemUs: number; readonly elapsedNs: string }
  | { readonly type: 'memory'; readonly tag: string; readonly rssBytes: number; readonly heapUsedBytes: number; readonly externalBytes: number }
  | { readonly type: 'failed'; readonly message: string };

export type ToClients =
  | { readonly cmd: 'connect'; readonly set: ServerVariant; readonly url: string; readonly clients: number; readonly channel: string; readonly verify: boolean }
  | { readonly cmd: 'arm'; readonly set: ServerVariant; readonly round: number; readonly expect: number }
  | { readonly cmd: 'status'; readonly set: ServerVariant }
  | { readonly cmd: 'stop' };

export type FromClients =
  | { readonly type: 'connected'; readonly set: ServerVariant; readonly clients: number; readonly ms: number }
  | { readonly type: 'armed'; readonly set: ServerVariant; readonly round: number }
  | {
      readonly type: 'done';
      readonly set: ServerVariant;
      readonly round: number;
      readonly lastNs: string;
      readonly events: number;
      readonly bytes: number;
      readonly otherMessages: number;
      readonly errors: readonly string[];
    }
  | { readonly type: 'status'; readonly set: ServerVariant; readonly text: string }
  | { readonly type: 'failed'; readonly message: string };

/** Every event frame of both servers starts with these bytes; control frames do not. */
export const EVENT_PREFIX = '{"type":"event"';

/** The one channel every benchmark client subscribes to. */
export const CHANNEL = 'odin.token.BENCH.trade';
