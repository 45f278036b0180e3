// The Broker port in a cluster worker (`serve --workers N` with the embedded broker): the broker itself
// lives in the primary process (broker-ipc-host.ts) and this adapter reaches it over the worker's IPC
// channel. Every worker reads the same stream from the same broker, so offsets, `prev` and the epoch are
// identical in every worker — a client that reconnects to another worker resumes exactly.
//
// The epoch is asked once, before the gateway starts (openIpcBroker): the port's epoch() is synchronous.
// Events arrive in batches, in offset order; each batch is acknowledged so the host can bound what it
// has in flight to a slow worker. Requests (publish, history) are bounded in number and in time: past
// `pendingMax` waiting, or `requestTimeoutMs` without an answer, the answer is a refusal, never a hang.
import type { Broker, BrokerSink, HistoryRequest, HistoryResult, PublishResult } from '../core/ports.js';
import { isBrokerMessage, type IpcEndpoint, type ToHost, type ToWorker } from './broker-ipc-messages.js';

export interface IpcBrokerOptions {
  /** Bound on the hello (the epoch) at start-up. */
  readonly helloTimeoutMs: number;
  /** Bound on each publish and history request. */
  readonly requestTimeoutMs: number;
  /** Requests waiting for an answer at once; more are refused at once. */
  readonly pendingMax: number;
}

export const ipcBrokerDefaults: IpcBrokerOptions = { helloTimeoutMs: 10_000, requestTimeoutMs: 5_000, pendingMax: 10_000 };

/** The primary did not answer the hello: the worker cannot serve without its broker. */
export class IpcBrokerStartError extends Error {
  override readonly name = 'IpcBrokerStartError';
}

type Pending = { readonly timer: NodeJS.Timeout; readonly answer: (message: ToWorker | null) => void };

/** Asks the primary for the epoch and returns the broker ready to start. */
export function openIpcBroker(endpoint: IpcEndpoint, options: IpcBrokerOptions = ipcBrokerDefaults): Promise<IpcBroker> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new IpcBrokerStartError(`the primary process did not answer with the broker's epoch within ${options.helloTimeoutMs} ms`));
    }, options.helloTimeoutMs);
    endpoint.onMessage((message) => {
      if (done || !isBrokerMessage(message) || message.op !== 'hello') return;
      done = true;
      clearTimeout(timer);
      resolve(new IpcBroker(endpoint, (message as Extract<ToWorker, { op: 'hello' }>).epoch, options));
    });
    if (!endpoint.send({ odin: 'broker', op: 'hello' } satisfies ToHost)) {
      done = true;
      clearTimeout(timer);
      reject(new IpcBrokerStartError('no IPC channel to the primary process (is this a cluster worker?)'));
    }
  });
}

export class IpcBroker implements Broker {
  private sink: BrokerSink | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The newest offset handed to the sink: the guard against a batch seen twice. */
  private lastOffset = 0;
  private gone = false;

  constructor(
    private readonly endpoint: IpcEndpoint,
    private readonly epochId: string,
    private readonly options: IpcBrokerOptions,
  ) {
    endpoint.onMessage((message) => {
      if (isBrokerMessage(message)) this.received(message as ToWorker);
    });
    endpoint.onDisconnect(() => this.lost());
  }

  epoch(): string {
    return this.epochId;
  }

  start(sink: BrokerSink): void {
    this.sink = sink;
    // Every start reads the stream from its oldest retained event again (the port's contract).
    this.lastOffset = 0;
    sink.onStatus('connecting');
    if (this.gone) sink.onStatus('down', 'the primary process is gone');
    else this.endpoint.send({ odin: 'broker', op: 'start' } satisfies ToHost);
  }

  stop(): void {
    this.sink = null;
    this.endpoint.send({ odin: 'broker', op: 'stop' } satisfies ToHost);
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    this.request(
      (id) => ({ odin: 'broker', op: 'publish', id, channel, data }),
      (answer) => {
        if (answer === null) done({ ok: false, reason: 'the broker in the primary process did not answer' });
        else done((answer as Extract<ToWorker, { op: 'publish' }>).result);
      },
    );
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    this.request(
      (id) => ({ odin: 'broker', op: 'history', id, request }),
      (answer) => {
        if (answer === null) done({ ok: false, reason: 'unavailable' });
        else done((answer as Extract<ToWorker, { op: 'history' }>).result);
      },
    );
  }

  /** Requests waiting for an answer (for tests and stats). */
  get pendingCount(): number {
    return this.pending.size;
  }

  private request(message: (id: number) => ToHost, answer: (message: ToWorker | null) => void): void {
    if (this.gone || this.pending.size >= this.options.pendingMax) return answer(null);
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.pending.delete(id);
      answer(null);
    }, this.options.requestTimeoutMs);
    this.pending.set(id, { timer, answer });
    if (!this.endpoint.send(message(id))) this.settle(id, null);
  }

  private settle(id: number, message: ToWorker | null): void {
    const waiting = this.pending.get(id);
    if (waiting === undefined) return; // answered after its deadline: already refused
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    waiting.answer(message);
  }

  private received(message: ToWorker): void {
    switch (message.op) {
      case 'events': {
        const sink = this.sink;
        if (sink !== null) {
          for (const event of message.events) {
            if (event.offset <= this.lastOffset) continue;
            this.lastOffset = event.offset;
            sink.onEvent(event);
          }
        }
        this.endpoint.send({ odin: 'broker', op: 'ack', seq: message.seq } satisfies ToHost);
        return;
      }
      case 'status':
        this.sink?.onStatus(message.status, message.detail);
        return;
      case 'history':
      case 'publish':
        this.settle(message.id, message);
        return;
      case 'hello':
        return;
    }
  }

  private lost(): void {
    if (this.gone) return;
    this.gone = true;
    for (const id of [...this.pending.keys()]) this.settle(id, null);
    this.sink?.onStatus('down', 'the primary process (which holds the broker) is gone');
  }
}
