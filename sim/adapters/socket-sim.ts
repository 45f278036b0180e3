// The simulated twin of the client's socket port (src/client/ports.ts): a WebSocket over a TCP socket of
// the kernel model, so simulated users run the real client (src/client/client.ts). Rules of the port kept
// here: callbacks never run synchronously inside the factory, send() or close(); onClose exactly once;
// a refused upgrade reports its HTTP status and Retry-After.
import type { ClientSocket, CloseInfo, SocketFactory, SocketHandlers } from '../../src/client/ports.js';
import type { Frame } from '../../src/core/ports.js';
import type { Errno } from '../kernel/errors.js';
import type { SimProcess } from '../kernel/process.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import { frameBytes, UPGRADE_REQUEST_BYTES, type WireMessage } from '../net/wire.js';

const decoder = new TextDecoder();
/**
 * Frames are shared by every subscriber (encode once, I5), so their text is decoded once too: a broadcast
 * to N simulated clients would otherwise allocate N copies of the same string.
 */
const texts = new WeakMap<Frame, string>();
/** Below this size decoding again is cheaper than a WeakMap entry (control frames: pongs, replies). */
const CACHE_FROM_BYTES = 256;
function textOf(f: Frame): string {
  if (f.bytes.byteLength < CACHE_FROM_BYTES) return decoder.decode(f.bytes);
  let t = texts.get(f);
  if (t === undefined) {
    t = decoder.decode(f.bytes);
    texts.set(f, t);
  }
  return t;
}

/** What became of each socket the factory opened (the lab's view of the client's failures). */
export interface SocketOutcomeCounts {
  [kind: string]: number;
}

class SimClientSocket implements ClientSocket {
  open = false;
  done = false;
  tcp: TcpSocket | null = null;

  constructor(
    readonly owner: SimSocketFactory,
    readonly handlers: SocketHandlers,
    readonly user: string,
    /** The Upgrade request's target (path and query) and offered subprotocols. */
    readonly target: string,
    readonly protocols: readonly string[],
  ) {}

  send(text: string): void {
    if (!this.open || this.done || this.tcp === null) return;
    this.tcp.write(frameBytes(text.length, true), { k: 'text', text } satisfies WireMessage);
  }

  close(code: number, reason: string): void {
    if (this.done) return;
    if (this.open && this.tcp !== null) this.tcp.write(frameBytes(2 + reason.length, true), { k: 'close', code, reason } satisfies WireMessage);
    this.tcp?.close();
    this.finish({ code, reason }, 'closed-by-client');
  }

  /** Reports the end once, on a later turn (never inside the caller's call). */
  finish(info: CloseInfo, outcome: string): void {
    if (this.done) return;
    this.done = true;
    this.open = false;
    this.owner.count(outcome);
    this.owner.proc.world.sched.after(0, fireClose, { s: this, info });
  }
}

function fireClose(j: { readonly s: SimClientSocket; readonly info: CloseInfo }): void {
  j.s.handlers.onClose(j.info);
}

export class SimSocketFactory implements SocketHandler {
  readonly outcomes: SocketOutcomeCounts = {};
  /** Virtual time each outcome kind was first seen. */
  readonly firstAtMs: SocketOutcomeCounts = {};
  /** The factory to hand to OdinClient. */
  readonly factory: SocketFactory;
  private users = 0;
  private opened = 0;

  constructor(
    readonly proc: SimProcess,
    readonly dstAddr: string,
    readonly dstPort: number,
    private readonly srcAddrs: readonly string[] = [],
  ) {
    this.factory = (url, protocols, handlers) => this.openSocket(url, protocols, handlers);
  }

  count(kind: string): void {
    this.outcomes[kind] = (this.outcomes[kind] ?? 0) + 1;
    if (this.firstAtMs[kind] === undefined) this.firstAtMs[kind] = this.proc.world.sched.nowMs;
  }

  private openSocket(url: string, protocols: readonly string[], handlers: SocketHandlers): ClientSocket {
    const user = /[?&]user=([^&]*)/.exec(url)?.[1] ?? String(this.users++);
    // ws://host[:port]/path?query → /path?query, the request target of the Upgrade.
    const rest = /^wss?:\/\/[^/?#]*([^#]*)/.exec(url)?.[1] ?? '';
    const target = rest.startsWith('/') ? rest : `/${rest}`;
    const s = new SimClientSocket(this, handlers, user, target, [...protocols]);
    const src = this.srcAddrs.length > 0 ? this.srcAddrs[this.opened++ % this.srcAddrs.length] : undefined;
    const tcp = this.proc.connect(this.dstAddr, this.dstPort, this, s, src === undefined ? {} : { srcAddr: src });
    if (typeof tcp === 'string') s.finish({ code: 1006, reason: tcp }, tcp);
    else s.tcp = tcp;
    return s;
  }

  onConnect(tcp: TcpSocket): void {
    const s = tcp.ctx as SimClientSocket;
    if (s.done) return;
    tcp.write(UPGRADE_REQUEST_BYTES, { k: 'upgrade', target: s.target, protocols: s.protocols, user: s.user } satisfies WireMessage);
  }

  onData(tcp: TcpSocket, payload: unknown): void {
    const s = tcp.ctx as SimClientSocket;
    if (s.done) return;
    const msg = payload as WireMessage;
    switch (msg.k) {
      case 'http':
        if (msg.status === 101) {
          s.open = true;
          this.count('upgraded');
          return;
        }
        tcp.close();
        s.finish(
          { code: 1006, reason: `HTTP ${msg.status}`, httpStatus: msg.status, ...(msg.retryAfterMs !== undefined ? { retryAfterMs: msg.retryAfterMs } : {}) },
          `http-${msg.status}`,
        );
        return;
      case 'frames':
        for (const f of msg.frames) {
          if (s.done) return;
          s.handlers.onMessage(textOf(f));
        }
        return;
      case 'ping':
        tcp.write(frameBytes(0, true), { k: 'pong' } satisfies WireMessage);
        return;
      case 'close':
        tcp.write(frameBytes(2, true), { k: 'close', code: msg.code, reason: '' } satisfies WireMessage);
        tcp.close();
        s.finish({ code: msg.code, reason: msg.reason }, `close-${msg.code}`);
        return;
      default:
        return;
    }
  }

  onEnd(tcp: TcpSocket): void {
    const s = tcp.ctx as SimClientSocket;
    tcp.close();
    s.finish({ code: 1006, reason: 'EOF' }, s.open ? 'eof-open' : 'eof-handshake');
  }

  onError(tcp: TcpSocket, code: Errno): void {
    const s = tcp.ctx as SimClientSocket;
    s.finish({ code: 1006, reason: code }, `${code}${s.open ? '-open' : ''}`);
  }

  onDrain(): void {}
}
