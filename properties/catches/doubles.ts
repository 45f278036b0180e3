// Deliberately broken doubles of the core: each one is a plausible bug, planted by replacing one component
// of the gateway (src/core/gateway.ts, GatewayParts) or wrapping one of its ports — the seams a Variant
// offers (properties/model/system.ts). The catches/*.test.ts suites run the very same properties against
// them and pass only when fast-check finds a counterexample.
import type { MemoryBroker } from '../../src/adapters/broker-memory.js';
import { AdmissionControl, type Admission, type PeerInfo } from '../../src/core/admission.js';
import { Drain, type DrainOutcome } from '../../src/core/drain.js';
import { FanOut } from '../../src/core/fan-out.js';
import type { Subscription } from '../../src/core/gateway.js';
import { History, type EventRecord, type RingAnswer } from '../../src/core/history.js';
import type { ChannelClass } from '../../src/core/options.js';
import type { Broker, BrokerSink, Connection, Frame, HistoryRequest, HistoryResult } from '../../src/core/ports.js';
import { CloseCodes } from '../../src/core/protocol.js';
import { Publisher, type PublishOutcome } from '../../src/core/publisher.js';
import { Resume } from '../../src/core/resume.js';
import { SlowClientPolicy, type EventAction } from '../../src/core/slow-client-policy.js';
import { TokenBucket } from '../../src/core/token-bucket.js';
import { Writer } from '../../src/core/writer.js';
import type { ChannelEvent, TrackLimits } from '../../src/client/positions.js';
import { realTrack, type Track } from '../laws/positions.js';
import type { Variant } from '../model/system.js';

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

export const offByOneRing: Variant = { name: 'off-by-one ring eviction', parts: { history: OffByOneHistory } };
export const reversedRing: Variant = { name: 'ring replay newest first', parts: { history: ReversedHistory } };

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
class DropsFirstLive extends FanOut {
  private readonly started = new WeakSet<Subscription>();

  override deliver(sub: Subscription, record: EventRecord, cls: ChannelClass): void {
    if (!this.started.has(sub) && record.offset > sub.deliveredThrough) {
      this.started.add(sub);
      return;
    }
    super.deliver(sub, record, cls);
  }
}
export const dropFirstLive: Variant = { name: 'drops the first live event after subscribe', parts: { fanOut: DropsFirstLive } };

/** Forgets the live events held back while a replay loaded: the seam loses them. */
class ForgetsHeld extends Resume {
  protected override release(sub: Subscription, replay: readonly EventRecord[], through: number, replayed: Set<number>): void {
    sub.held = null;
    super.release(sub, replay, through, replayed);
  }
}
export const forgetsHeld: Variant = { name: 'forgets events held during the replay', parts: { resume: ForgetsHeld } };

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
class HeadOfLineWriter extends Writer {
  override flush(): void {
    this.flushScheduled = false;
    const sessions = this.dirty.splice(0);
    for (const session of sessions) {
      session.dirty = false;
      if (session.state !== 'open') continue;
      if (session.conn.bufferedBytes() >= this.ctx.options.outbound.socketHighWaterBytes) {
        // Wait for this one; the rest stay dirty (and unwritten) until it drains.
        for (const rest of sessions.slice(sessions.indexOf(session) + 1))
          if (rest.state === 'open') {
            rest.dirty = true;
            this.dirty.push(rest);
          }
        return;
      }
      this.writeAll(session);
    }
  }
}
export const headOfLineBlocking: Variant = { name: 'head-of-line blocking on a stalled socket', parts: { writer: HeadOfLineWriter } };

/** No slow-client policy: every event is queued, however far behind the reader is. */
class NoSlowClientPolicy extends SlowClientPolicy {
  override conflates(): boolean {
    return false;
  }
  override onEvent(): EventAction {
    return 'push';
  }
  override throttleLevel(): number {
    return 0;
  }
}
export const unboundedQueue: Variant = { name: 'unbounded outbound queue', parts: { policy: NoSlowClientPolicy } };

/** Drain closes with 1000 and no reconnect hint: clients cannot tell a drain from a goodbye. */
class DrainWithoutHint extends Drain {
  override start(done: (outcome: DrainOutcome) => void): void {
    this.admission.draining = true;
    this.done = done;
    for (const session of [...this.ctx.sessions.values()]) this.writer.close(session, 1000, 'bye');
    this.finishIfEmpty();
  }
}
export const drainWithoutHint: Variant = { name: 'drain without a reconnect hint', parts: { drain: DrainWithoutHint } };

/** Drain skips sessions whose socket is backed up: they are never told to go. */
class DrainSkipsStalled extends Drain {
  protected override closeEveryone(): void {
    const moving = [...this.ctx.sessions.values()].filter((s) => s.conn.bufferedBytes() === 0);
    this.writer.closeAllWithHint(CloseCodes.goingAway, 'going away: draining', moving);
  }
}
export const drainSkipsStalled: Variant = { name: 'drain forgets stalled clients', parts: { drain: DrainSkipsStalled } };

/** Acknowledges publishes that arrive during the drain, but never hands them to the broker. */
class AcksWhileDraining extends Publisher {
  private next = 0;

  override publish(channel: string, data: string, done: (outcome: PublishOutcome) => void): void {
    if (!this.admission.draining) return super.publish(channel, data, (o) => (o.ok && (this.next = o.offset + 1), done(o)));
    done({ ok: true, epoch: this.ctx.broker.epoch(), offset: this.next++ });
  }
}
export const acksWhileDraining: Variant = { name: 'acknowledges publishes during drain and drops them', parts: { publisher: AcksWhileDraining } };

/** Admission that forgets to give slots back: capacity leaks away with every closed connection. */
class ForgetsRelease extends AdmissionControl {
  override release(): void {}
}
export const admissionForgetsRelease: Variant = { name: 'admission forgets to release', parts: { admission: ForgetsRelease } };

/** Capacity checked with `>` instead of `>=`: one connection more than capacity gets in. */
class CapacityOffByOne extends AdmissionControl {
  override admit(peer: PeerInfo, nowMs: number): Admission {
    this.held--;
    const answer = super.admit(peer, nowMs);
    this.held++;
    return answer;
  }
}
export const admissionOffByOne: Variant = { name: 'capacity off by one', parts: { admission: CapacityOffByOne } };

/** The per-user cap is never applied (the user is dropped on the way in). */
class IgnoresUser extends AdmissionControl {
  override admit(peer: PeerInfo, nowMs: number): Admission {
    return super.admit({ ip: peer.ip, userId: null }, nowMs);
  }
}
export const admissionIgnoresUser: Variant = { name: 'per-user cap ignored', parts: { admission: IgnoresUser } };

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
