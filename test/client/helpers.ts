// Test doubles for the client's ports: a scripted random source and an in-memory socket factory whose
// sockets the test drives as the server. Time is the lab's clock (sim/adapters/clock-sim.ts), the one test
// clock, so the client's timers follow the same rules here as inside the lab.
import type { Random } from '../../src/core/ports.js';
import { SimClock } from '../../sim/adapters/clock-sim.js';
import type { ClientSocket, CloseInfo, SocketFactory, SocketHandlers } from '../../src/client/ports.js';
import { OdinClient } from '../../src/client/client.js';
import type { ClientOptions, OdinError, ClientState } from '../../src/client/types.js';

/** Returns the scripted values in turn, then `fallback` forever. */
export class ScriptedRandom implements Random {
  private i = 0;
  constructor(
    private readonly values: readonly number[] = [],
    private readonly fallback = 0.5,
  ) {}
  next(): number {
    return this.i < this.values.length ? this.values[this.i++]! : this.fallback;
  }
}

export class FakeSocket implements ClientSocket {
  /** Client → server messages, parsed. */
  readonly sent: Record<string, unknown>[] = [];
  closedByClient: { code: number; reason: string } | null = null;
  private ended = false;

  constructor(
    readonly url: string,
    readonly protocols: readonly string[],
    private readonly handlers: SocketHandlers,
  ) {}

  send(text: string): void {
    if (this.ended || this.closedByClient !== null) throw new Error('send after close');
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }

  close(code: number, reason: string): void {
    this.closedByClient = { code, reason };
  }

  // ---- the test's side (the server) ----

  receive(message: object): void {
    this.receiveText(JSON.stringify(message));
  }

  receiveText(text: string): void {
    if (this.ended) throw new Error('receive after close');
    this.handlers.onMessage(text);
  }

  /** Sends a welcome (the socket is open once anything arrives). */
  accept(heartbeatMs = 25_000, channelsPerRequestMax = 100): void {
    this.receive({ type: 'welcome', session: 's', heartbeatMs, limits: { channelsPerRequestMax } });
  }

  end(info: CloseInfo): void {
    if (this.ended) throw new Error('onClose twice');
    this.ended = true;
    this.handlers.onClose(info);
  }

  ofType(type: string): Record<string, unknown>[] {
    return this.sent.filter((m) => m.type === type);
  }

  lastOfType(type: string): Record<string, unknown> {
    const all = this.ofType(type);
    const last = all[all.length - 1];
    if (last === undefined) throw new Error(`no ${type} sent; sent: ${JSON.stringify(this.sent)}`);
    return last;
  }
}

export class FakeNetwork {
  readonly sockets: FakeSocket[] = [];
  readonly factory: SocketFactory = (url, protocols, handlers) => {
    const socket = new FakeSocket(url, protocols, handlers);
    this.sockets.push(socket);
    return socket;
  };

  get last(): FakeSocket {
    const socket = this.sockets[this.sockets.length - 1];
    if (socket === undefined) throw new Error('no socket opened');
    return socket;
  }
}

export interface Harness {
  readonly client: OdinClient;
  readonly clock: SimClock;
  readonly net: FakeNetwork;
  readonly errors: OdinError[];
  readonly states: ClientState[];
}

export function harness(options: Partial<ClientOptions> = {}): Harness {
  const clock = new SimClock();
  const net = new FakeNetwork();
  const errors: OdinError[] = [];
  const states: ClientState[] = [];
  const client = new OdinClient({
    url: 'ws://gateway.test/ws',
    socketFactory: net.factory,
    clock,
    random: new ScriptedRandom(),
    onError: (error) => errors.push(error),
    onStateChange: (state) => states.push(state),
    ...options,
  });
  return { client, clock, net, errors, states };
}

export interface Received {
  readonly events: { channel: string; offset: number; data: unknown }[];
  readonly gaps: { channel: string; from: number; to: number; reason: string }[];
  readonly resets: { channel: string; reason: string }[];
}

/** Subscription handlers that record what they are given. */
export function recorder(): Received & {
  handlers: {
    onEvent(data: unknown, meta: { channel: string; offset: number }): void;
    onGap(channel: string, gap: { from: number; to: number; reason: string }): void;
    onReset(channel: string, reason: string): void;
  };
  offsets(channel?: string): number[];
} {
  const events: Received['events'] = [];
  const gaps: Received['gaps'] = [];
  const resets: Received['resets'] = [];
  return {
    events,
    gaps,
    resets,
    handlers: {
      onEvent: (data, meta) => events.push({ channel: meta.channel, offset: meta.offset, data }),
      onGap: (channel, gap) => gaps.push({ channel, ...gap }),
      onReset: (channel, reason) => resets.push({ channel, reason }),
    },
    offsets: (channel?: string) => events.filter((e) => channel === undefined || e.channel === channel).map((e) => e.offset),
  };
}

export function event(ch: string, offset: number, prev: number | null, data: unknown = { n: offset }): object {
  return { type: 'event', ch, offset, prev, data };
}

/** Connects, welcomes, and answers the subscribe request (if any) with `offset` for every name. */
export function connected(h: Harness, epoch = 'E1', offset = 0): FakeSocket {
  h.client.connect();
  const socket = h.net.last;
  socket.accept();
  h.clock.settle();
  if (socket.ofType('subscribe').length > 0) answerSubscribe(socket, epoch, offset);
  return socket;
}

/** Answers the latest subscribe request: fresh names get `offset`, resumed ones recovered:true. */
export function answerSubscribe(socket: FakeSocket, epoch: string, offset: number, overrides: Record<string, object> = {}): void {
  const request = socket.lastOfType('subscribe') as { id: number; channels: string[]; since?: Record<string, { offset: number }> };
  // Channel names are keys: a null prototype keeps `__proto__` and `constructor` plain names.
  const channels: Record<string, object> = Object.create(null);
  for (const name of request.channels) {
    const since = request.since !== undefined && Object.hasOwn(request.since, name) ? request.since[name] : undefined;
    channels[name] =
      (Object.hasOwn(overrides, name) ? overrides[name] : undefined) ??
      (since === undefined ? { epoch, offset } : { epoch, offset, recovered: true, replayed: 0 });
  }
  socket.receive({ type: 'subscribed', id: request.id, channels });
}

/** Advances time until the client opens its next socket, and returns it (unopened). */
export function nextSocket(h: Harness): FakeSocket {
  const before = h.net.sockets.length;
  for (let elapsedMs = 0; elapsedMs < 120_000 && h.net.sockets.length === before; elapsedMs += 10) h.clock.advance(10);
  if (h.net.sockets.length === before) throw new Error('no reconnect within 120 s');
  return h.net.last;
}
