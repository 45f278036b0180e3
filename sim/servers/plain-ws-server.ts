// A plain Node WebSocket server as users write it with the `ws` package: the runtime's accept loop
// (libuv's, with its EMFILE trick: sim/kernel/runtime.ts), an upgrade that costs `handshakeCpuMs` on the
// event loop, then every connection held. No admission, no close frame of its own: when the peer ends
// the connection, ws just ends the socket too (ws/lib/websocket.js socketOnEnd). The parity suite's lab
// twin of sim/parity/real/server.mjs.
import type { SimProcess } from '../kernel/process.js';
import { AcceptLoop } from '../kernel/runtime.js';
import type { SocketHandler, TcpSocket } from '../kernel/socket.js';
import { UPGRADE_RESPONSE_BYTES, type WireMessage } from '../net/wire.js';

export interface PlainWsServerSpec {
  readonly ports: readonly number[];
  /** server.listen() backlog as asked for (the kernel clamps to somaxconn); Node's default is 511, and 0 means 511. */
  readonly backlog: number;
  readonly handshakeCpuMs: number;
}

interface Conn {
  readonly sock: TcpSocket;
  upgraded: boolean;
}

const SWITCHING: WireMessage = { k: 'http', status: 101 };

export class PlainWsServer implements SocketHandler {
  readonly loops: AcceptLoop[] = [];
  opened = 0;

  constructor(
    readonly proc: SimProcess,
    readonly spec: PlainWsServerSpec,
  ) {
    for (const port of spec.ports) {
      // Node turns a backlog of 0 into its default: `this._handle.listen(backlog || 511)` (lib/net.js).
      const l = proc.listen('*', port, spec.backlog || 511);
      if (typeof l === 'string') throw new Error(`plain ws server cannot listen on ${port}: ${l}`);
      this.loops.push(new AcceptLoop(l, proc.spec.runtime, (s) => s.attach(this, { sock: s, upgraded: false } satisfies Conn)));
    }
  }

  onConnect(): void {}

  onData(sock: TcpSocket, payload: unknown): void {
    const c = sock.ctx as Conn;
    if ((payload as WireMessage).k === 'upgrade' && !c.upgraded) this.proc.work(this.spec.handshakeCpuMs, upgraded, { srv: this, c });
  }

  finishUpgrade(c: Conn): void {
    if (c.upgraded || c.sock.state === 'CLOSED' || c.sock.appClosed) return;
    c.upgraded = true;
    this.opened++;
    c.sock.write(UPGRADE_RESPONSE_BYTES, SWITCHING);
  }

  onEnd(sock: TcpSocket): void {
    sock.close();
  }

  onError(): void {}

  onDrain(): void {}
}

function upgraded(j: { readonly srv: PlainWsServer; readonly c: Conn }): void {
  j.srv.finishUpgrade(j.c);
}
