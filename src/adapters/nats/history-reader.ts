// History beyond the gateway's rings, read from the stream itself: the events on a subject with sequence
// in (after, to], exact or refused, never partial (docs/protocol.md, resume).
//
//   after > last sequence                      → beyond_head (a position from another timeline)
//   after + 1 < first retained sequence        → history_expired (the stream no longer holds after + 1)
//   more than maxEvents matching               → too_many
//   NATS unreachable, slow, or too many reads  → unavailable
//
// The read is a subject-filtered ephemeral pull consumer from after + 1, asked once for at most
// maxEvents + 1 messages without waiting (the server answers what it holds, then "no more") — or one per
// stream subject when the pattern straddles them (NATS 2.9 refuses such a filter; subjects.ts). Retention
// may expire the start of the range while the read runs, so the first retained sequence is checked again
// afterwards; a read that may have lost its start is refused as expired rather than answered short.
// A replayed event's `prev` is what the read itself proves: the previous event of the same subject within
// the read, and null for the first one (its predecessor lies at or before `after`, outside the read).
//
// Bounded: at most `concurrentMax` reads run at once and `queuedMax` wait; beyond that the answer is
// unavailable at once (a crowd of clients resuming after a gateway restart must not become a crowd of
// consumers on the NATS servers). Each read has a deadline.
import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { createInbox, nanos, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { BrokerEvent, HistoryRequest, HistoryResult } from '../../core/ports.js';
import { deliveryInfo } from './delivery-info.js';
import { payloadAsJson } from './payload.js';
import { filtersFor } from './subjects.js';

export interface HistoryReaderOptions {
  readonly stream: string;
  readonly timeoutMs: number;
  readonly concurrentMax: number;
  readonly queuedMax: number;
}

type Done = (result: HistoryResult) => void;

const UNAVAILABLE: HistoryResult = { ok: false, reason: 'unavailable' };
const TOO_MANY = Symbol('too many');

interface Stored {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
}

export class HistoryReader {
  private running = 0;
  private readonly queue: { request: HistoryRequest; done: Done }[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly options: HistoryReaderOptions,
    /** The stream's subjects now (they change with the epoch): a filter must fit them. */
    private readonly streamSubjects: () => readonly string[],
    /** Called with the reason when a read fails for a reason other than the answer itself. */
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  read(request: HistoryRequest, done: Done): void {
    if (this.running >= this.options.concurrentMax) {
      if (this.queue.length >= this.options.queuedMax) return done(UNAVAILABLE);
      this.queue.push({ request, done });
      return;
    }
    this.run(request, done);
  }

  private run(request: HistoryRequest, done: Done): void {
    this.running++;
    let answered = false;
    const answer = (result: HistoryResult): void => {
      if (answered) return;
      answered = true;
      clearTimeout(deadline);
      this.running--;
      done(result);
      const next = this.queue.shift();
      if (next !== undefined) this.run(next.request, next.done);
    };
    const deadline = setTimeout(() => {
      this.onError(`history read of ${request.subject} after ${request.afterOffset} took over ${this.options.timeoutMs} ms`);
      answer(UNAVAILABLE);
    }, this.options.timeoutMs);
    this.readOnce(request).then(answer, (error: Error) => {
      this.onError(`history read of ${request.subject} failed: ${error.message}`);
      answer(UNAVAILABLE);
    });
  }

  private async readOnce(request: HistoryRequest): Promise<HistoryResult> {
    const after = request.afterOffset;
    const state = (await this.jsm.streams.info(this.options.stream)).state;
    if (after > state.last_seq) return { ok: false, reason: 'beyond_head' };
    if (after + 1 < state.first_seq && after < state.last_seq) return { ok: false, reason: 'history_expired' };
    const to = Math.min(request.toOffset ?? state.last_seq, state.last_seq);
    const filters = filtersFor(request.subject, this.streamSubjects());
    if (to <= after || filters.length === 0) return { ok: true, events: [] };
    const parts = await Promise.all(filters.map((filter) => this.fetch(filter, after, to, request.maxEvents)));
    const complete = parts.filter((part): part is Stored[] => part !== TOO_MANY);
    const stored = complete.flat().sort((a, b) => a.seq - b.seq);
    if (complete.length < parts.length || stored.length > request.maxEvents) return { ok: false, reason: 'too_many' };
    // The range's start may have expired while we read: then the answer may be short. Refuse it.
    const firstSeq = (await this.jsm.streams.info(this.options.stream)).state.first_seq;
    if (after + 1 < firstSeq) return { ok: false, reason: 'history_expired' };
    const lastBySubject = new Map<string, number>();
    const events: BrokerEvent[] = stored.map((m) => {
      const event = { channel: m.subject, offset: m.seq, prev: lastBySubject.get(m.subject) ?? null, data: payloadAsJson(m.data) };
      lastBySubject.set(m.subject, m.seq);
      return event;
    });
    return { ok: true, events };
  }

  /** Messages matching `filter` in (after, to]: at most maxEvents + 1 are fetched, more is TOO_MANY. */
  private async fetch(filter: string, after: number, to: number, maxEvents: number): Promise<Stored[] | typeof TOO_MANY> {
    const consumer = await this.jsm.consumers.add(this.options.stream, {
      filter_subject: filter,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(Math.max(5_000, 2 * this.options.timeoutMs)),
    });
    const stored: Stored[] = [];
    try {
      if (consumer.num_pending === 0) return stored;
      const batch = Math.min(maxEvents + 1, consumer.num_pending);
      const outcome = await this.pull(consumer.name, batch, (msg, seq) => {
        if (seq > to) return 'done';
        if (stored.length === maxEvents) return 'too_many';
        stored.push({ subject: msg.subject, seq, data: msg.data });
        return stored.length === batch ? 'done' : 'more';
      });
      return outcome === 'too_many' ? TOO_MANY : stored;
    } finally {
      this.jsm.consumers.delete(this.options.stream, consumer.name).catch(() => undefined);
    }
  }

  /** One no-wait pull of up to `batch` messages; `take` decides after each one whether to go on. */
  private pull(consumer: string, batch: number, take: (msg: Msg, seq: number) => 'more' | 'done' | 'too_many'): Promise<'done' | 'too_many'> {
    return new Promise((resolve, reject) => {
      const inbox = createInbox();
      const timer = setTimeout(() => finish(sub, new Error(`no answer to the pull within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      const finish = (sub: Subscription, outcome: 'done' | 'too_many' | Error): void => {
        clearTimeout(timer);
        sub.unsubscribe();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const sub = this.nc.subscribe(inbox, {
        callback: (error, msg) => {
          if (error !== null) return finish(sub, error);
          const headers = msg.headers;
          if (headers !== undefined && headers.code > 0 && msg.data.length === 0) {
            // 404 No Messages / 408 Request Timeout end a no-wait pull: the server has nothing more.
            if (headers.code === 404 || headers.code === 408) return finish(sub, 'done');
            return finish(sub, new Error(`${headers.code} ${headers.description}`));
          }
          const info = deliveryInfo(msg.reply);
          if (info === null) return finish(sub, new Error(`unexpected message on ${msg.subject} without delivery information`));
          const next = take(msg, info.streamSeq);
          if (next !== 'more') finish(sub, next);
        },
      });
      this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.options.stream}.${consumer}`, JSON.stringify({ batch, no_wait: true }), { reply: inbox });
    });
  }
}
