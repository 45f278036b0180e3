// A token's life on an open connection (docs/protocol.md, "Tokens"; docs/security.md): refreshWindowMs
// before `exp` the session is told (`token_expiring`); a `refresh` with a new token for the same user
// replaces the identity (subscriptions the new grants do not cover end, each with a `forbidden` error)
// and moves the deadline; at `exp` without one it is closed 4003. Deadlines are wall
// time (exp is a wall-clock claim) turned into delays on the core's clock, so the lab can run them too.
import { maySubscribe } from './auth.js';
import type { CoreContext } from './context.js';
import type { Outbox } from './outbox.js';
import { CloseCodes, type RefreshMessage } from './protocol.js';
import type { Session } from './session.js';
import type { Subscriptions } from './subscriptions.js';
import type { Writer } from './writer.js';

export class TokenLifetime {
  constructor(
    private readonly ctx: CoreContext,
    private readonly outbox: Outbox,
    private readonly writer: Writer,
    private readonly subscriptions: Subscriptions,
  ) {}

  /** Arms the session's next token deadline (the warning, else the close); nothing for tokens without exp. */
  arm(session: Session): void {
    session.tokenTimer?.cancel();
    session.tokenTimer = null;
    const expiresAtMs = session.identity?.expiresAtMs ?? null;
    if (expiresAtMs === null) return;
    const leftMs = expiresAtMs - this.ctx.clock.wallMs();
    if (leftMs <= 0) return this.expire(session);
    const warnInMs = leftMs - this.ctx.options.security.refreshWindowMs;
    if (warnInMs > 0) {
      session.tokenTimer = this.ctx.clock.setTimer(warnInMs, () => this.warn(session, expiresAtMs));
      return;
    }
    this.warn(session, expiresAtMs);
  }

  refresh(session: Session, message: RefreshMessage): void {
    const verifier = this.ctx.verifier;
    if (verifier === undefined || session.identity === null) {
      return this.outbox.error(session, 'invalid_token', 'this gateway runs without authentication (auth.mode=none); there is nothing to refresh', message.id);
    }
    const user = session.identity.user;
    verifier.verify(message.token, (result) => {
      if (session.state !== 'open') return;
      if (!result.ok)
        return this.outbox.error(session, result.code, `refresh refused: ${result.message}; the current token still holds until it expires`, message.id);
      if (result.identity.user !== user) {
        return this.outbox.error(session, 'invalid_token', `refresh refused: the new token is for another user (sub must stay "${user}")`, message.id);
      }
      session.identity = result.identity;
      this.revokeUncovered(session);
      this.arm(session);
      const expiresAtMs = result.identity.expiresAtMs;
      this.outbox.send(session, {
        type: 'refreshed',
        id: message.id,
        expiresInMs: expiresAtMs === null ? null : Math.max(0, expiresAtMs - this.ctx.clock.wallMs()),
      });
    });
  }

  /** A refresh may narrow the grants: subscriptions the new token does not cover end, each named. */
  private revokeUncovered(session: Session): void {
    const uncovered = [...session.subscriptions.keys()].filter((key) => !maySubscribe(session.identity, key));
    for (const channel of uncovered) {
      this.subscriptions.remove(session, channel);
      this.outbox.send(session, { type: 'error', code: 'forbidden', channel, message: `the refreshed token no longer covers "${channel}"; unsubscribed` });
    }
  }

  private warn(session: Session, expiresAtMs: number): void {
    if (session.state !== 'open') return;
    const leftMs = Math.max(0, expiresAtMs - this.ctx.clock.wallMs());
    this.outbox.send(session, { type: 'token_expiring', expiresInMs: leftMs });
    session.tokenTimer = this.ctx.clock.setTimer(leftMs, () => this.expire(session));
  }

  private expire(session: Session): void {
    if (session.state !== 'open') return;
    this.writer.close(session, CloseCodes.tokenExpired, 'token expired: reconnect with a new token');
  }
}
