// Documented bug switches for the explorer (`--bug NAME`): each wraps the Broker port the real Gateway is
// given, so the bug lives outside src/ and the explorer has to find it through the client's eyes.
//
// Both bugs lose one event *and stitch the prev chain over the hole*, the way a real consumer bug would
// look: the gateway forwards `prev` as it gets it, so the client's fast gap check (prev ≠ last offset)
// cannot see the hole, and only an end-to-end check of what was acknowledged against what the app saw
// (I3) can. A bug that left prev pointing at the missing event would be repaired by the client's own
// replay — the lab shows that too, but it is not a bug the explorer needs to find.
//
// - resume-skip: after the consumer comes back from an outage (status down → live), the first event it
//   delivers is dropped — an off-by-one in "resume from last sequence" (asking for last + 2). Needs a
//   broker cut-off or a same-epoch broker restart in the schedule to show.
// - history-skip-first: every history read answers the range without its first matching event — an
//   off-by-one in a subject-filtered read (from `since + 2`). Shows when the gateway resumes or repairs
//   from broker history: pattern subscriptions after any reconnect, or concrete channels past the ring.
import type { Broker, BrokerEvent, BrokerSink, HistoryRequest, HistoryResult, PublishResult } from '../../src/core/ports.js';

export const BUGS = ['resume-skip', 'history-skip-first'] as const;
export type BugName = (typeof BUGS)[number];

export function isBug(name: string): name is BugName {
  return (BUGS as readonly string[]).includes(name);
}

/** Drops `events[index]` and points the next event of its channel at the dropped one's prev. */
function dropStitched(events: readonly BrokerEvent[], index: number): BrokerEvent[] {
  const dropped = events[index];
  if (dropped === undefined) return [...events];
  const out: BrokerEvent[] = [];
  let stitched = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as BrokerEvent;
    if (i === index) continue;
    if (!stitched && i > index && e.channel === dropped.channel) {
      out.push({ ...e, prev: dropped.prev });
      stitched = true;
    } else out.push(e);
  }
  return out;
}

/** resume-skip: a sink that drops the first event after each down → live and hides the hole. */
class ResumeSkipSink implements BrokerSink {
  private skipNext = false;
  /** Channel → prev to put on its next event (the hole's own prev). */
  private readonly stitch = new Map<string, number | null>();

  constructor(private readonly sink: BrokerSink) {}

  onStatus(status: 'connecting' | 'live' | 'down', detail?: string): void {
    if (status === 'down') this.skipNext = true;
    this.sink.onStatus(status, detail);
  }

  onEvent(e: BrokerEvent): void {
    if (this.skipNext) {
      this.skipNext = false;
      this.stitch.set(e.channel, e.prev);
      return;
    }
    if (this.stitch.has(e.channel)) {
      const prev = this.stitch.get(e.channel) ?? null;
      this.stitch.delete(e.channel);
      this.sink.onEvent({ ...e, prev });
      return;
    }
    this.sink.onEvent(e);
  }
}

class BuggyBroker implements Broker {
  constructor(
    private readonly inner: Broker,
    private readonly bug: BugName,
  ) {}

  epoch(): string {
    return this.inner.epoch();
  }

  start(sink: BrokerSink): void {
    this.inner.start(this.bug === 'resume-skip' ? new ResumeSkipSink(sink) : sink);
  }

  stop(): void {
    this.inner.stop();
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    if (this.bug !== 'history-skip-first') return this.inner.readHistory(request, done);
    this.inner.readHistory(request, (r) => done(r.ok && r.events.length > 0 ? { ok: true, events: dropStitched(r.events, 0) } : r));
  }

  publish(channel: string, data: string, done: (result: PublishResult) => void): void {
    this.inner.publish(channel, data, done);
  }
}

/** The broker the gateway sees: `inner` itself without a bug, else `inner` behind the bug's wrapper. */
export function withBug(inner: Broker, bug: BugName | null): Broker {
  return bug === null ? inner : new BuggyBroker(inner, bug);
}
