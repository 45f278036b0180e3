// What one request may replay (docs/protocol.md, "Subscribing and resuming" and "Replay"): at most
// replayEventsMax events over all its channels, and no more frame bytes than a session's outbound queue
// holds (queueBytesMax), charged in the order the request names its channels. A channel past the budget is
// answered too_many — nothing replayed, live from the current position — never with part of its replay. So
// one message costs bounded work and memory, whatever the history holds.
import { encodeEvent } from './codec.js';
import type { EventRecord } from './history.js';
import type { BrokerEvent } from './ports.js';
import type { ChannelState } from './protocol.js';

export interface ReplayBudget {
  events: number;
  bytes: number;
}

/** Outcome of resolving one channel of a subscribe request. */
export interface Resolution {
  readonly state: ChannelState;
  readonly replay: readonly (EventRecord | BrokerEvent)[];
  /** Highest offset the replay covers; live events at or below it are not sent again. */
  readonly through: number;
  /** Where a resume's answer came from (ring, broker, check), for the resume metric; null: no resume. */
  readonly source: string | null;
}

/**
 * The replay as records with their frames, charged to the budget; null (and nothing charged) when it does
 * not fit. Events from the broker are encoded here, so encoding is bounded by the budget too.
 */
export function chargeReplay(replay: readonly (EventRecord | BrokerEvent)[], budget: ReplayBudget): EventRecord[] | null {
  if (replay.length > budget.events) return null;
  const records = new Array<EventRecord>(replay.length);
  let bytes = 0;
  for (let i = 0; i < replay.length; i++) {
    const event = replay[i]!;
    const record =
      'frame' in event ? event : { channel: event.channel, offset: event.offset, prev: event.prev, frame: encodeEvent(event), atMs: 0, evicted: false };
    bytes += record.frame.bytes.byteLength;
    if (bytes > budget.bytes) return null;
    records[i] = record;
  }
  budget.events -= records.length;
  budget.bytes -= bytes;
  return records;
}

/** A resume whose replay does not fit the request's budget: nothing replayed, live from the position. */
export function tooMany(resolution: Resolution): Resolution {
  const { epoch, offset } = resolution.state;
  return { state: { epoch, offset, recovered: false, reason: 'too_many' }, replay: [], through: offset, source: resolution.source };
}
