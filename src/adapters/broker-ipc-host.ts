// The primary's side of the IPC broker (`serve --workers N` with the embedded broker): one broker, read
// once, its events sent to every worker that started reading. A worker that starts late (or a replacement
// for one that crashed) first gets every retained event, then the live ones — exactly once each, in
// offset order, as the Broker port promises.
//
// Events are sent in batches, one per turn of the event loop (and at most batchEventsMax per message), so a
// high publish rate costs one IPC message per worker per turn rather than one per event. Each batch is
// acknowledged; a worker with more than unackedEventsMax events unacknowledged cannot keep up, and the
// host stops feeding it and reports it (onLagging) rather than buffer without bound: the primary then
// replaces that worker, and its clients reconnect and resume elsewhere.
import type { Broker, BrokerEvent, BrokerSink, BrokerStatus } from '../core/ports.js';
import { isBrokerMessage, type IpcEndpoint, type ToHost, type ToWorker } from './broker-ipc-messages.js';

/** A broker the host can replay from: the embedded memory broker (forEachRetained). */
export interface ReplayableBroker extends Broker {
  forEachRetained(afterOffset: number, visit: (event: BrokerEvent) => void): void;
}

export interface BrokerHostOptions {
  readonly batchEventsMax: number;
  readonly unackedEventsMax: number;
  /** A worker fell too far behind; it gets nothing more from the host. */
  readonly onLagging: (peer: IpcEndpoint, unackedEvents: number) => void;
}

export const brokerHostDefaults = { batchEventsMax: 1_000, unackedEventsMax: 200_000 } as const;

interface Reader {
  readonly endpoint: IpcEndpoint;
  /** Sequence numbers of batches sent and not yet acknowledged, with their sizes (oldest first). */
  readonly inFlight: Array<{ seq: number; events: number }>;
  unacked: number;
  lagging: boolean;
}

/** The event without the broker's own bookkeeping (a stored event carries its arrival time). */
const wire = (e: BrokerEvent): BrokerEvent => ({ channel: e.channel, offset: e.offset, prev: e.prev, data: e.data });

export class BrokerHost {
  private readonly readers = new Map<IpcEndpoint, Reader>();
  private batch: BrokerEvent[] = [];
  private flushScheduled = false;
  private seq = 0;
  private status: { status: BrokerStatus; detail?: string } = { status: 'connecting' };

  constructor(
    private readonly broker: ReplayableBroker,
    private readonly options: BrokerHostOptions,
  ) {}

  /** Starts reading the broker; call once, before workers attach. */
  start(): void {
    const sink: BrokerSink = {
      onEvent: (event) => {
        this.batch.push(wire(event));
        if (this.batch.length >= this.options.batchEventsMax) this.flush();
        else if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => this.flush());
        }
      },
      onStatus: (status, detail) => {
        this.flush();
        this.status = detail === undefined ? { status } : { status, detail };
        for (const reader of this.readers.values()) this.send(reader, { odin: 'broker', op: 'status', ...this.status });
      },
    };
    this.broker.start(sink);
  }

  stop(): void {
    this.broker.stop();
    this.readers.clear();
  }

  /** Serves one worker's requests from now on. */
  attach(endpoint: IpcEndpoint): void {
    endpoint.onMessage((message) => {
      if (isBrokerMessage(message)) this.received(endpoint, message as ToHost);
    });
    endpoint.onDisconnect(() => this.readers.delete(endpoint));
  }

  /** Workers reading now. */
  get readerCount(): number {
    return this.readers.size;
  }

  private received(endpoint: IpcEndpoint, message: ToHost): void {
    switch (message.op) {
      case 'hello':
        endpoint.send({ odin: 'broker', op: 'hello', epoch: this.broker.epoch() } satisfies ToWorker);
        return;
      case 'start':
        this.startReader(endpoint);
        return;
      case 'stop':
        this.readers.delete(endpoint);
        return;
      case 'ack': {
        const reader = this.readers.get(endpoint);
        if (reader === undefined) return;
        while (reader.inFlight.length > 0 && reader.inFlight[0]!.seq <= message.seq) reader.unacked -= reader.inFlight.shift()!.events;
        return;
      }
      case 'publish':
        this.broker.publish(message.channel, message.data, (result) =>
          endpoint.send({ odin: 'broker', op: 'publish', id: message.id, result } satisfies ToWorker),
        );
        return;
      case 'history':
        this.broker.readHistory(message.request, (result) =>
          endpoint.send({
            odin: 'broker',
            op: 'history',
            id: message.id,
            result: result.ok ? { ok: true, events: result.events.map(wire) } : result,
          } satisfies ToWorker),
        );
        return;
    }
  }

  /**
   * A worker starts reading: everything retained, then live. The pending batch goes to the readers that
   * already have the rest first; the new reader's replay includes those events (they are in the log), and
   * it joins the readers only after, so it sees each event once.
   */
  private startReader(endpoint: IpcEndpoint): void {
    this.flush();
    this.readers.delete(endpoint);
    const reader: Reader = { endpoint, inFlight: [], unacked: 0, lagging: false };
    let chunk: BrokerEvent[] = [];
    this.broker.forEachRetained(0, (event) => {
      chunk.push(wire(event));
      if (chunk.length >= this.options.batchEventsMax) {
        this.sendEvents(reader, chunk);
        chunk = [];
      }
    });
    if (chunk.length > 0) this.sendEvents(reader, chunk);
    this.send(reader, { odin: 'broker', op: 'status', ...this.status });
    this.readers.set(endpoint, reader);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const events = this.batch;
    this.batch = [];
    for (const reader of this.readers.values()) this.sendEvents(reader, events);
  }

  private sendEvents(reader: Reader, events: readonly BrokerEvent[]): void {
    if (reader.lagging) return;
    if (reader.unacked + events.length > this.options.unackedEventsMax) {
      reader.lagging = true;
      this.readers.delete(reader.endpoint);
      this.options.onLagging(reader.endpoint, reader.unacked);
      return;
    }
    const seq = ++this.seq;
    reader.inFlight.push({ seq, events: events.length });
    reader.unacked += events.length;
    this.send(reader, { odin: 'broker', op: 'events', seq, events });
  }

  private send(reader: Reader, message: ToWorker): void {
    reader.endpoint.send(message);
  }
}
