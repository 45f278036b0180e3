// The slow-clients story's server: the story gateway (story-gateway.ts: a writer per connection, a send
// buffer of N messages, a writer blocked on a full socket for at most writeWaitMs) broadcasting a feed of
// sized messages, with one of two rules for a full send buffer:
//
// - 'close' — the story: close the client the moment its buffer is full (story-gateway.ts enqueue).
// - 'plan'  — the story's later plan: a message that finds the buffer full is dropped and counts as a
//   failure; after `failuresToThrottle` consecutive failures the client is throttled to the next level of
//   `levelsPct` (e.g. 75, 50, 25 % of messages delivered) with a notice; `recoverMs` without a failure
//   restores full delivery (with a notice). Critical messages (trade confirmations) bypass both the
//   throttle and the buffer bound. Dropped messages are not named to the client: the notice says a share
//   is withheld, not which messages — so what the client misses cannot be replayed.
import type { SimProcess } from '../kernel/process.js';
import { frameBytes, type WireMessage } from '../net/wire.js';
import { StoryGateway, type StoryGatewaySpec } from './story-gateway.js';

type StorySession = Parameters<StoryGateway['enqueue']>[0];

/** A feed message: one object per publish, shared by every session (the story's broadcast). */
export interface FeedMessage {
  readonly k: 'ws';
  readonly kind: 'event' | 'throttle';
  readonly channel: number;
  readonly offset: number;
  readonly critical: boolean;
  readonly publishedMs: number;
  /** Throttle notices: the share of messages delivered from now on. */
  readonly percent: number;
  readonly payloadBytes: number;
}

export interface FullBufferPlan {
  readonly failuresToThrottle: number;
  readonly levelsPct: readonly number[];
  readonly recoverMs: number;
}

export interface StoryFanoutSpec extends StoryGatewaySpec {
  readonly onFull: 'close' | 'plan';
  readonly plan: FullBufferPlan;
}

interface PlanState {
  failures: number;
  level: number;
  lastFailureMs: number;
  /** Delivery credit: each message adds the level's share; a message goes when a whole unit is there. */
  credit: number;
}

interface WaitJob {
  readonly gw: StoryFanoutGateway;
  readonly sess: StorySession;
}
function writeWaitJob(j: WaitJob): void {
  j.gw.writeWaitExpired(j.sess);
}

export class StoryFanoutGateway extends StoryGateway {
  private readonly planState = new Map<StorySession, PlanState>();
  readonly fanout = { dropped: 0, throttleNotices: 0, criticalOverBound: 0, firstDropMs: -1, firstSlowCloseMs: -1, firstWriteWaitCloseMs: -1 };

  constructor(
    proc: SimProcess,
    readonly fanoutSpec: StoryFanoutSpec,
  ) {
    super(proc, fanoutSpec);
  }

  override enqueue(sess: StorySession, msg: WireMessage): void {
    if (this.fanoutSpec.onFull === 'close' || sess.closed) {
      if (!sess.closed && sess.queue.length >= this.spec.sendBufferMessages && this.fanout.firstSlowCloseMs < 0)
        this.fanout.firstSlowCloseMs = this.proc.world.sched.nowMs;
      super.enqueue(sess, msg);
      return;
    }
    const m = msg as unknown as FeedMessage;
    const plan = this.fanoutSpec.plan;
    const now = this.proc.world.sched.nowMs;
    let st = this.planState.get(sess);
    if (st === undefined) {
      st = { failures: 0, level: 0, lastFailureMs: -1, credit: 0 };
      this.planState.set(sess, st);
    }
    if (st.level > 0 && now - st.lastFailureMs >= plan.recoverMs) {
      st.level = 0;
      st.failures = 0;
      this.notice(sess, 100);
    }
    if (m.critical) {
      if (sess.queue.length >= this.spec.sendBufferMessages) this.fanout.criticalOverBound++;
      this.push(sess, msg);
      return;
    }
    if (st.level > 0) {
      st.credit += (plan.levelsPct[st.level - 1] as number) / 100;
      if (st.credit < 1) {
        this.drop1(now);
        return;
      }
      st.credit -= 1;
    }
    if (sess.queue.length >= this.spec.sendBufferMessages) {
      this.drop1(now);
      st.failures++;
      st.lastFailureMs = now;
      if (st.failures >= plan.failuresToThrottle && st.level < plan.levelsPct.length) {
        st.level++;
        st.failures = 0;
        st.credit = 0;
        this.notice(sess, plan.levelsPct[st.level - 1] as number);
      }
      return;
    }
    st.failures = 0;
    this.push(sess, msg);
  }

  private drop1(now: number): void {
    this.fanout.dropped++;
    if (this.fanout.firstDropMs < 0) this.fanout.firstDropMs = now;
  }

  private notice(sess: StorySession, percent: number): void {
    this.fanout.throttleNotices++;
    const notice: FeedMessage = {
      k: 'ws',
      kind: 'throttle',
      channel: -1,
      offset: 0,
      critical: true,
      publishedMs: this.proc.world.sched.nowMs,
      percent,
      payloadBytes: 60,
    };
    this.push(sess, notice);
  }

  private push(sess: StorySession, msg: WireMessage): void {
    sess.queue.push(msg);
    if (!sess.writing) {
      sess.writing = true;
      this.writeNext(sess);
    }
  }

  override writeWaitExpired(sess: StorySession): void {
    if (!sess.closed && this.fanout.firstWriteWaitCloseMs < 0) this.fanout.firstWriteWaitCloseMs = this.proc.world.sched.nowMs;
    super.writeWaitExpired(sess);
  }

  /** As story-gateway.ts writeOne, with each message's own size on the wire. */
  override writeOne(sess: StorySession): void {
    if (sess.closed) return;
    const msg = sess.queue.shift();
    if (msg === undefined) {
      sess.writing = false;
      return;
    }
    this.stats.messagesOut++;
    const payload = (msg as unknown as Partial<FeedMessage>).payloadBytes ?? 40;
    const buffered = sess.sock.write(frameBytes(payload, false), msg);
    if (buffered > 0) {
      sess.blockedTimer = this.proc.world.sched.after(this.spec.writeWaitMs, writeWaitJob, { gw: this, sess });
      return;
    }
    this.writeNext(sess);
  }
}
