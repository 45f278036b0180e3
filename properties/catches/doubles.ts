// Deliberately broken doubles of the core: each one is a plausible bug, planted through the seams a
// Variant offers (properties/model/system.ts). The catches/*.test.ts suites run the very same properties
// against them and pass only when fast-check finds a counterexample.
import type { MemoryBroker } from '../../src/adapters/broker-memory.js';
import { Gateway, type DrainOutcome, type GatewayPorts, type Session, type Subscription } from '../../src/core/gateway.js';
import { History, type EventRecord, type RingAnswer } from '../../src/core/history.js';
import type { ChannelClass, GatewayOptions } from '../../src/core/options.js';
import type { Broker, BrokerSink, Connection, Frame, HistoryRequest, HistoryResult } from '../../src/core/ports.js';
import { TokenBucket } from '../../src/core/token-bucket.js';
import type { ChannelEvent, TrackLimits } from '../../src/client/positions.js';
import { realTrack, type Track } from '../laws/positions.js';
import type { Variant } from '../model/system.js';

/** The gateway's private parts a double may replace (instance properties shadow the prototype's). */
interface Internals {
  history: History;
  deliver(sub: Subscription, record: EventRecord, cls: ChannelClass): void;
  enqueueEvent(session: Session, record: EventRecord, cls: ChannelClass): void;
  flush(): void;
  release(sub: Subscription, replay: unknown, through: number, replayed: Set<number>): void;
  dirty: Session[];
  flushScheduled: boolean;
  writeAll(session: Session): void;
}

function patchGateway(ports: GatewayPorts, options: GatewayOptions, patch: (g: Internals, orig: Internals) => void): Gateway {
  const gateway = new Gateway(ports, options);
  const inner = gateway as unknown as Internals;
  const orig: Internals = {
    history: inner.history,
    deliver: inner.deliver.bind(gateway),
    enqueueEvent: inner.enqueueEvent.bind(gateway),
    flush: inner.flush.bind(gateway),
    release: inner.release.bind(gateway),
    dirty: inner.dirty,
    flushScheduled: false,
    writeAll: inner.writeAll.bind(gateway),
  };
  patch(inner, orig);
  return gateway;
}

/** Off-by-one ring eviction: the ring claims to cover `after` one offset before it really does. */
class OffByOneHistory extends History {
  override read(channel: string, after: number, to?: number): RingAnswer {
    const answer = super.read(channel, after, to);
    return answer.covered ? answer : super.read(channel, after + 1, to);
  }
}

/** A ring that hands its records back newest first. */
class ReversedHistory extends History {
  override read(channel: string, after: number, to?: number): RingAnswer {
    const answer = super.read(channel, after, to);
    return answer.covered ? { covered: true, records: [...answer.records].reverse() } : answer;
  }
}

function withHistory(name: string, make: (options: GatewayOptions) => History): Variant {
  return {
    name,
    makeGateway: (ports, options) =>
      patchGateway(ports, options, (g) => {
        g.history = make(options);
      }),
  };
}

export const offByOneRing = withHistory('off-by-one ring eviction', (o) => new OffByOneHistory(o.history));
export const reversedRing = withHistory('ring replay newest first', (o) => new ReversedHistory(o.history));

/** Wraps a broker; the MemoryBroker behind it stays the truth for the model. */
class BrokerWrapper implements Broker {
  constructor(protected readonly inner: MemoryBroker) {}
  epoch(): string {
    return this.inner.epoch();
  }
  start(sink: BrokerSink): void {
    this.inner.start(sink);
  }
  stop(): void {
    this.inner.stop();
  }
  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    this.inner.readHistory(request, done);
  }
  publish(channel: string, data: string, done: Parameters<Broker['publish']>[2]): void {
    this.inner.publish(channel, data, done);
  }
}

/** Duplicates the last replayed event at the replay/live seam. */
export const seamDuplicate: Variant = {
  name: 'duplicate at the seam',
  wrapBroker: (inner) =>
    new (class extends BrokerWrapper {
      override readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
        this.inner.readHistory(request, (result) => {
          const last = result.ok ? result.events.at(-1) : undefined;
          done(result.ok && last !== undefined ? { ok: true, events: [...result.events, last] } : result);
        });
      }
    })(inner),
};

/** Loses the first event of every channel on its way from the broker (the classic "lost first event"). */
export const loseFirstEvent: Variant = {
  name: 'lost first event',
  wrapBroker: (inner) =>
    new (class extends BrokerWrapper {
      override start(sink: BrokerSink): void {
        this.inner.start({ onStatus: (s, d) => sink.onStatus(s, d), onEvent: (e) => e.prev !== 0 && sink.onEvent(e) });
      }
    })(inner),
};

/** Drops the first live event each subscription would deliver after its subscribe reply. */
export const dropFirstLive: Variant = {
  name: 'drops the first live event after subscribe',
  makeGateway: (ports, options) =>
    patchGateway(ports, options, (g, orig) => {
      const started = new WeakSet<Subscription>();
      g.deliver = (sub, record, cls) => {
        if (!started.has(sub) && record.offset > sub.deliveredThrough) {
          started.add(sub);
          return;
        }
        orig.deliver(sub, record, cls);
      };
    }),
};

/** Forgets the live events held back while a replay loaded: the seam loses them. */
export const forgetsHeld: Variant = {
  name: 'forgets events held during the replay',
  makeGateway: (ports, options) =>
    patchGateway(ports, options, (g, orig) => {
      g.release = (sub, replay, through, replayed) => {
        sub.held = null;
        orig.release(sub, replay, through, replayed);
      };
    }),
};

/** Encodes event frames per subscriber (re-serialised for every other connection): not encode-once. */
export const perClientEncoding: Variant = {
  name: 'per-subscriber encoding',
  wrapConnection: (conn: Connection, index: number): Connection => {
    if (index % 2 === 0) return conn;
    const utf8 = new TextDecoder();
    const reencode = (f: Frame): Frame => {
      const text = utf8.decode(f.bytes);
      if (!text.startsWith('{"type":"event"')) return f;
      const { type, ch, offset, prev, data } = JSON.parse(text) as Record<string, unknown>;
      return { bytes: new TextEncoder().encode(JSON.stringify({ type, offset, ch, prev, data })) };
    };
    return {
      write: (frames) => conn.write(frames.map(reencode)),
      bufferedBytes: () => conn.bufferedBytes(),
      ping: () => conn.ping(),
      close: (code, reason) => conn.close(code, reason),
      terminate: () => conn.terminate(),
    };
  },
};

/** The fan-out loop waits on a backed-up socket: sessions behind it in the flush list are not written. */
export const headOfLineBlocking: Variant = {
  name: 'head-of-line blocking on a stalled socket',
  makeGateway: (ports, options) =>
    patchGateway(ports, options, (g) => {
      g.flush = () => {
        g.flushScheduled = false;
        const sessions = g.dirty.splice(0);
        for (const session of sessions) {
          session.dirty = false;
          if (session.state !== 'open') continue;
          if (session.conn.bufferedBytes() >= options.outbound.socketHighWaterBytes) {
            // Wait for this one; the rest stay dirty (and unwritten) until it drains.
            for (const rest of sessions.slice(sessions.indexOf(session) + 1)) if (rest.state === 'open') (rest.dirty = true), g.dirty.push(rest);
            return;
          }
          g.writeAll(session);
        }
      };
    }),
};

/** No slow-client policy: every event is queued, however far behind the reader is. */
export const unboundedQueue: Variant = {
  name: 'unbounded outbound queue',
  makeGateway: (ports, options) =>
    patchGateway(ports, options, (g) => {
      g.enqueueEvent = (session, record, cls) => {
        session.queue.pushEvent(record, cls.priority);
        (g as unknown as { markDirty(s: Session): void }).markDirty(session);
      };
    }),
};

interface DrainInternals {
  sessions: Map<string, Session>;
  close(session: Session, code: number, reason: string, flush?: boolean): void;
  admission: { draining: boolean };
  drainDone: ((outcome: DrainOutcome) => void) | null;
  finishDrain(): void;
}

/** Drain closes with 1000 and no reconnect hint: clients cannot tell a drain from a goodbye. */
export const drainWithoutHint: Variant = {
  name: 'drain without a reconnect hint',
  makeGateway: (ports, options) => {
    const gateway = new Gateway(ports, options);
    const g = gateway as unknown as DrainInternals;
    gateway.drain = (done) => {
      g.admission.draining = true;
      g.drainDone = done;
      for (const session of [...g.sessions.values()]) g.close(session, 1000, 'bye');
      g.finishDrain();
    };
    return gateway;
  },
};

/** Drain skips sessions whose socket is backed up: they are never told to go. */
export const drainSkipsStalled: Variant = {
  name: 'drain forgets stalled clients',
  makeGateway: (ports, options) => {
    const gateway = new Gateway(ports, options);
    const g = gateway as unknown as DrainInternals;
    const drain = gateway.drain.bind(gateway);
    gateway.drain = (done) => {
      const stalled = [...g.sessions.values()].filter((s) => s.conn.bufferedBytes() > 0);
      for (const s of stalled) g.sessions.delete(s.id);
      drain(done);
      for (const s of stalled) g.sessions.set(s.id, s);
    };
    return gateway;
  },
};

/** Acknowledges publishes that arrive during the drain, but never hands them to the broker. */
export const acksWhileDraining: Variant = {
  name: 'acknowledges publishes during drain and drops them',
  makeGateway: (ports, options) => {
    const gateway = new Gateway(ports, options);
    const publish = gateway.publish.bind(gateway);
    let next = 0;
    gateway.publish = (channel, data, done) => {
      if (!gateway.admission.draining) return publish(channel, data, (o) => (o.ok && (next = o.offset + 1), done(o)));
      done({ ok: true, epoch: ports.broker.epoch(), offset: next++ });
    };
    return gateway;
  },
};

function withAdmission(name: string, patch: (a: Gateway['admission']) => void): Variant {
  return {
    name,
    makeGateway: (ports, options, capacity) => {
      const gateway = new Gateway(ports, options, capacity);
      patch(gateway.admission);
      return gateway;
    },
  };
}

/** Admission that forgets to give slots back: capacity leaks away with every closed connection. */
export const admissionForgetsRelease = withAdmission('admission forgets to release', (a) => {
  a.release = () => {};
});

/** Capacity checked with `>` instead of `>=`: one connection more than capacity gets in. */
export const admissionOffByOne = withAdmission('capacity off by one', (a) => {
  const admit = a.admit.bind(a);
  a.admit = (peer, nowMs) => {
    a.held--;
    const answer = admit(peer, nowMs);
    a.held++;
    return answer;
  };
});

/** The per-user cap is never applied (the user is dropped on the way in). */
export const admissionIgnoresUser = withAdmission('per-user cap ignored', (a) => {
  const admit = a.admit.bind(a);
  a.admit = (peer, nowMs) => admit({ ip: peer.ip, userId: null }, nowMs);
});

/** A token bucket that refills twice as fast as configured. */
export const bucketTooFast = (burst: number, perSecond: number, nowMs: number): TokenBucket => new TokenBucket(burst, perSecond * 2, nowMs);

/** A token bucket that starts empty: stingier than the contract (the first burst is refused). */
export const bucketStartsEmpty = (burst: number, perSecond: number, nowMs: number): TokenBucket => {
  const bucket = new TokenBucket(burst, perSecond, nowMs);
  while (bucket.take(nowMs));
  return bucket;
};

/** Randomness that ignores the seed (Math.random leaking into the core): runs are not reproducible. */
export const unseededRandom: Variant = {
  name: 'randomness ignores the seed',
  random: () => ({ next: () => Math.random() }),
};

/** A client track that ignores `prev`: holes in the stream go unnoticed. */
export const trackIgnoresPrev = (last: number, limits: TrackLimits): Track => {
  const track = realTrack(last, limits);
  return {
    get offset() {
      return track.offset;
    },
    get repairing() {
      return track.repairing;
    },
    onEvent: (e, out) => track.onEvent({ ...e, prev: null }, out),
    onGapNotice: (...args) => track.onGapNotice(...args),
    onReplayDone: (...args) => track.onReplayDone(...args),
  };
};

/** A client track that passes a duplicate through when it comes right after the original. */
export const trackKeepsDuplicates = (last: number, limits: TrackLimits): Track => {
  const track = realTrack(last, limits);
  let previous: ChannelEvent | null = null;
  return {
    get offset() {
      return track.offset;
    },
    get repairing() {
      return track.repairing;
    },
    onEvent: (e, out) => {
      if (previous?.offset === e.offset && !track.repairing) out.push({ kind: 'deliver', event: e });
      else track.onEvent(e, out);
      previous = e;
    },
    onGapNotice: (...args) => track.onGapNotice(...args),
    onReplayDone: (...args) => track.onReplayDone(...args),
  };
};
