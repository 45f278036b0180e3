// History beyond the gateway's rings, read from the stream itself: the events on a subject with sequence
// in (after, to], exact or refused, never partial (docs/protocol.md, resume).
//
//   after > last sequence                      → beyond_head (a position from another timeline)
//   after + 1 < first retained sequence        → history_expired (the stream no longer holds after + 1)
//   more than maxEvents matching               → too_many
//   NATS unreachable, slow, or too many reads  → unavailable
//
// The read is a subject-filtered ephemeral pull consumer from after + 1, asked once for at most
// maxEvents + 1 messages without waiting (the server answers what it holds, then "no more"). Retention
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

export interface HistoryReaderOptions {
  readonly stream: string;
  readonly timeoutMs: number;
  readonly concurrentMax: number;
  readonly queuedMax: number;
}

type Done = (result: HistoryResult) => void;

const UNAVAILABLE: HistoryResult = { ok: false, reason: 'unavailable' };

export class HistoryReader {
  private running = 0;
  private readonly queue: { request: HistoryRequest; done: Done }[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly options: HistoryReaderOptions,
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
    if (to <= after) return { ok: true, events: [] };
    const result = await this.fetch(request.subject, after, to, request.maxEvents);
    if (!result.ok) return result;
    // The range's start may have expired while we read: then the answer may be short. Refuse it.
    const firstSeq = (await this.jsm.streams.info(this.options.stream)).state.first_seq;
    if (after + 1 < firstSeq) return { ok: false, reason: 'history_expired' };
    return result;
  }

  /** Matching events in (after, to], or too_many once more than maxEvents are seen. */
  private async fetch(subject: string, after: number, to: number, maxEvents: number): Promise<HistoryResult> {
    const consumer = await this.jsm.consumers.add(this.options.stream, {
      filter_subject: subject,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(Math.max(5_000, 2 * this.options.timeoutMs)),
    });
    const events: BrokerEvent[] = [];
    const lastBySubject = new Map<string, number>();
    try {
      if (consumer.num_pending === 0) return { ok: true, events };
      const batch = Math.min(maxEvents + 1, consumer.num_pending);
      const outcome = await this.pull(consumer.name, batch, (msg, seq) => {
        if (seq > to) return 'done';
        if (events.length === maxEvents) return 'too_many';
        events.push({ channel: msg.subject, offset: seq, prev: lastBySubject.get(msg.subject) ?? null, data: payloadAsJson(msg.data) });
        lastBySubject.set(msg.subject, seq);
        return events.length === batch ? 'done' : 'more';
      });
      return outcome === 'too_many' ? { ok: false, reason: 'too_many' } : { ok: true, events };
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
