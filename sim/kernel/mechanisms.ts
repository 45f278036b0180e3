// Mechanism settings a whole run may be given on top of its story's own model: one per mechanism the
// parity suite drives (docs/lab.md, "Parity with the kernel"), so any scenario can ask "what if" about it.
// Each is optional; absent, the story's model stands untouched. The scenario runner fills them from the
// inputs (sim/scenarios/inputs/mechanisms.ts) and the world carries them; the kernel, the load tool and
// our gateway read them where the mechanism lives, so no story file has to.
export interface Mechanisms {
  /** net.ipv4.tcp_syn_retries on every Linux host (the clients' SYN retransmissions). */
  readonly synRetries?: number;
  /** net.ipv4.tcp_syn_linear_timeouts on every Linux host (0: the classic doubling schedule). */
  readonly synLinearTimeouts?: number;
  /** The backlog every server passes to listen(), apart from somaxconn (which still caps it). */
  readonly listenBacklog?: number;
  /** Every listening process's event loop runs one synchronous task of `ms` at `atMs` (accept pauses). */
  readonly busy?: { readonly atMs: number; readonly ms: number };
  /** The load tool binds its source address before connect() (true) or lets connect() pick (false). */
  readonly bindSource?: boolean;
  /** How the load tool names a FIN before the response: a Go client 'eof', a Node client ECONNRESET. */
  readonly clientKind?: 'go' | 'node';
  /** Our gateway's load brake: refuse handshakes while the sampled loop delay exceeds this (ms). */
  readonly loadBrakeDelayMsMax?: number;
  /** Our gateway's resources.fdReserve. */
  readonly fdReserve?: number;
  /** Our gateway's admission limits per client address. */
  readonly admission?: {
    readonly handshakesPerSecond?: number;
    readonly handshakeBurst?: number;
    readonly perIpMax?: number;
  };
}

/** The kernel's share: the SYN sysctls a Linux host gets on top of its spec. */
export function synSysctlsOf(m: Mechanisms): { synRetries?: number; synLinearTimeouts?: number } {
  return {
    ...(m.synRetries === undefined ? {} : { synRetries: m.synRetries }),
    ...(m.synLinearTimeouts === undefined ? {} : { synLinearTimeouts: m.synLinearTimeouts }),
  };
}
