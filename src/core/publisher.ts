// The one publish path (docs/protocol.md, "Publishing over HTTP"): the channel is validated here, once,
// and the broker assigns the position. The outcome is in the domain's words — a refusal code and a
// message — and each host maps it to its own terms (src/server/publish.ts: HTTP statuses). Nothing is
// acknowledged that the broker did not store (I9: a publish during the drain is refused, not dropped).
import type { AdmissionControl } from './admission.js';
import type { CoreContext } from './context.js';
import { channelNameProblem } from './protocol.js';

/**
 * Why a publish was refused. `invalid_channel` and `channel_outside_stream` (the broker stores other
 * subjects): the publisher's mistake, do not retry as is; `draining` and `broker_unavailable`: not stored
 * now, retry shortly (on another instance while draining).
 */
export type PublishRefusal = 'invalid_channel' | 'channel_outside_stream' | 'draining' | 'broker_unavailable';

export type PublishOutcome =
  { readonly ok: true; readonly epoch: string; readonly offset: number } | { readonly ok: false; readonly code: PublishRefusal; readonly message: string };

/** Characters of a refused channel name quoted back in the message. */
const CHANNEL_QUOTED_MAX = 64;

export class Publisher {
  constructor(
    protected readonly ctx: CoreContext,
    /** Its `draining` flag is the gateway's one drain flag. */
    protected readonly admission: AdmissionControl,
  ) {}

  publish(channel: string, data: string, done: (outcome: PublishOutcome) => void): void {
    const problem = channelNameProblem(channel, false);
    if (problem !== null) return done({ ok: false, code: 'invalid_channel', message: `channel "${channel.slice(0, CHANNEL_QUOTED_MAX)}" ${problem}` });
    if (this.admission.draining) return done({ ok: false, code: 'draining', message: 'the gateway is shutting down' });
    this.ctx.broker.publish(channel, data, (result) => {
      if (result.ok) done({ ok: true, epoch: result.epoch, offset: result.offset });
      else done({ ok: false, code: result.outsideStream === true ? 'channel_outside_stream' : 'broker_unavailable', message: result.reason });
    });
  }
}
