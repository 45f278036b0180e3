// The broker's sink: every event of the stream goes into its channel's history ring and out to every
// matching subscription, encoded once (I5: one frame, shared by reference by every recipient). A
// subscription still waiting for its replay holds the event instead (the seam, src/core/resume.ts).
// Also the broker's status (readiness) and its epoch: a new epoch is a new timeline, and the sessions
// built on the old one are restarted.
import { ChannelClasses } from './channel-classes.js';
import { encodeEvent } from './codec.js';
import type { CoreContext } from './context.js';
import type { EventRecord, History } from './history.js';
import { M } from './metrics.js';
import type { ChannelClass } from './options.js';
import type { Outbox } from './outbox.js';
import type { BrokerEvent, BrokerSink, BrokerStatus } from './ports.js';
import { CloseCodes } from './protocol.js';
import type { Subscription } from './session.js';
import type { Subscriptions } from './subscriptions.js';
import type { Writer } from './writer.js';

export class FanOut implements BrokerSink {
  status: BrokerStatus = 'connecting';
  /** The timeline the gateway's history and every session's positions belong to. */
  epoch: string;
  readonly classes: ChannelClasses;

  constructor(
    protected readonly ctx: CoreContext,
    protected readonly history: History,
    protected readonly subscriptions: Subscriptions,
    protected readonly outbox: Outbox,
    protected readonly writer: Writer,
  ) {
    this.epoch = ctx.broker.epoch();
    this.classes = new ChannelClasses(ctx.options.channelClasses);
  }

  onEvent(event: BrokerEvent): void {
    this.checkEpoch();
    const record = this.history.append(event, encodeEvent(event), this.ctx.clock.nowMs());
    this.ctx.counters.published++;
    const cls = this.classes.of(event.channel);
    const heldMax = this.ctx.options.replayEventsMax;
    this.subscriptions.forEachMatch(event.channel, (sub) => {
      if (sub.held !== null) {
        if (!sub.held.firstByChannel.has(record.channel)) sub.held.firstByChannel.set(record.channel, record.offset);
        if (sub.held.records.length < heldMax) sub.held.records.push(record);
        else sub.held.overflowed = true;
        return;
      }
      this.deliver(sub, record, cls);
    });
  }

  onStatus(status: BrokerStatus, detail?: string): void {
    if (status === 'live') this.checkEpoch();
    if (status !== this.status) this.ctx.telemetry.log(status === 'down' ? 'warn' : 'info', `broker ${status}`, detail === undefined ? {} : { detail });
    this.status = status;
    this.ctx.telemetry.gauge(M.brokerUp, status === 'live' ? 1 : 0);
  }

  /**
   * Queues one live event for one subscription, at most once per session: a replay already covered it
   * (deliveredThrough), or an overlapping subscription of the same session (`p.x` and `p.>`) did.
   */
  deliver(sub: Subscription, record: EventRecord, cls: ChannelClass): void {
    const session = sub.session;
    if (record.offset <= sub.deliveredThrough || session.state !== 'open') return;
    if (session.lastLiveOffset === record.offset) return;
    session.lastLiveOffset = record.offset;
    this.outbox.event(session, record, cls);
  }

  /**
   * A new epoch means a new timeline: old offsets mean nothing in it, so live subscriptions cannot simply
   * continue. Example: the stream [1, 2, 3] is lost and the new one is [1, 2, 3, 4]; a client at 3 would
   * take the new 4 for the next event and silently miss the new 1–3. Every session is closed with 1012 and
   * a jittered hint; the clients resubscribe with `since` and get recovered:false (epoch_changed).
   */
  private checkEpoch(): void {
    const epoch = this.ctx.broker.epoch();
    if (epoch === this.epoch) return;
    this.ctx.telemetry.log('warn', 'broker history timeline changed; dropping history and restarting sessions', { from: this.epoch, to: epoch });
    this.epoch = epoch;
    this.history.reset();
    this.writer.closeAllWithHint(CloseCodes.serviceRestart, 'event stream restarted (new epoch): resubscribe');
  }
}
