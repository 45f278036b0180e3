// A client's messages on their way in: rate limit, decode, dispatch (docs/protocol.md, "Errors";
// docs/operations.md, "Refusals and limits"). Every message takes a token of the session's bucket before
// it is even decoded, so a flood of junk is limited too (I8); a request that reads history takes more. A
// refused message gets an error frame; violations repeated within violationWindowMs end the session with
// 1008. A peer's bad input is an error frame with a precise code, never a crash; a throw from our own code
// while handling a message ends only that session, with 1011.
import { decodeClientMessage } from './codec.js';
import type { CoreContext } from './context.js';
import { M } from './metrics.js';
import type { Outbox } from './outbox.js';
import type { Labels } from './ports.js';
import { CloseCodes, type ClientMessage } from './protocol.js';
import type { Resume } from './resume.js';
import type { Session } from './session.js';
import { TokenBucket } from './token-bucket.js';
import type { TokenLifetime } from './token-lifetime.js';
import type { Writer } from './writer.js';

/** History reads one token of the rate limit pays for (docs/protocol.md, "Errors": rate_limited). */
const READS_PER_TOKEN = 10;

/**
 * Rate-limit tokens one request costs: one, plus one per ten history reads it asks for (each `since` of a
 * subscribe, a replay), so a client cannot turn its message budget into a hundred times as much work.
 */
export function requestCost(message: ClientMessage): number {
  const reads = message.type === 'replay' ? 1 : message.type === 'subscribe' && message.since !== undefined ? Object.keys(message.since).length : 0;
  return 1 + Math.ceil(reads / READS_PER_TOKEN);
}

/** Label sets of the inbound-message counter, built once rather than per message. */
const INBOUND_LABELS: Readonly<Record<ClientMessage['type'], Labels>> = {
  subscribe: { type: 'subscribe' },
  unsubscribe: { type: 'unsubscribe' },
  replay: { type: 'replay' },
  ping: { type: 'ping' },
  refresh: { type: 'refresh' },
};

export class Inbound {
  constructor(
    private readonly ctx: CoreContext,
    private readonly resume: Resume,
    private readonly outbox: Outbox,
    private readonly writer: Writer,
    private readonly tokens: TokenLifetime,
  ) {}

  onMessage(session: Session, text: string): void {
    if (session.state !== 'open') return;
    try {
      this.handle(session, text);
    } catch (error) {
      // Our bug, not the peer's: this session ends with 1011, every other session carries on.
      this.ctx.telemetry.log('error', 'internal error while handling a client message', { session: session.id, error: String(error) });
      // The error carries the request's id when it can be read, as every other error does.
      const decoded = decodeClientMessage(text, this.ctx.options);
      this.outbox.error(session, 'internal', 'internal error; reconnect and resume', decoded.ok ? decoded.message.id : decoded.error.id);
      this.writer.close(session, CloseCodes.internal, 'internal error');
    }
  }

  onBinaryMessage(session: Session): void {
    this.outbox.error(session, 'binary_unsupported', 'binary frames are not part of protocol v1; send JSON text');
    this.writer.close(session, CloseCodes.unsupportedData, 'binary frames are not supported');
  }

  private handle(session: Session, text: string): void {
    session.heard = true;
    const now = this.ctx.clock.nowMs();
    const { messagesPerSecond, messageBurst } = this.ctx.options.inbound;
    const bucket = (session.inbound ??= new TokenBucket(messageBurst, messagesPerSecond, now));
    if (!bucket.take(now)) {
      if (this.violated(session, now)) return this.writer.close(session, CloseCodes.policy, 'rate limit exceeded repeatedly');
      this.outbox.error(session, 'rate_limited', `more than ${messagesPerSecond} messages per second (burst ${messageBurst}); message dropped`);
      return;
    }
    const decoded = decodeClientMessage(text, this.ctx.options);
    if (!decoded.ok) return this.outbox.error(session, decoded.error.code, decoded.error.message, decoded.error.id);
    const message = decoded.message;
    // A request that reads history costs more of the rate limit than one that does not (the first token
    // was taken above, before decoding).
    const extra = Math.min(requestCost(message), messageBurst) - 1;
    if (extra > 0 && !bucket.take(now, extra)) {
      this.outbox.error(
        session,
        'rate_limited',
        `this request costs ${extra + 1} messages of the rate limit (${messagesPerSecond} per second); message dropped`,
        message.id,
      );
      return;
    }
    this.ctx.telemetry.count(M.inboundMessages, INBOUND_LABELS[message.type]);
    switch (message.type) {
      case 'subscribe':
        return this.resume.subscribe(session, message);
      case 'unsubscribe':
        return this.resume.unsubscribe(session, message);
      case 'replay':
        return this.resume.replay(session, message);
      case 'ping':
        return this.outbox.send(session, { type: 'pong', id: message.id });
      case 'refresh':
        return this.tokens.refresh(session, message);
    }
  }

  /** Counts a refused message; true once the session has had more than violationsMax within the window. */
  private violated(session: Session, nowMs: number): boolean {
    const { violationWindowMs, violationsMax } = this.ctx.options.inbound;
    if (nowMs - session.lastViolationMs > violationWindowMs) session.violations = 0;
    session.violations++;
    session.lastViolationMs = nowMs;
    return session.violations > violationsMax;
  }
}
