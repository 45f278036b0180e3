// What every component of the gateway shares (docs/design.md, "The core's components"): the ports it reaches the world
// through, its options, the open sessions and the running counters. The Gateway builds one and hands it
// to each component; no component keeps a copy of another's state.
import type { TokenVerifier } from './auth.js';
import type { GatewayOptions } from './options.js';
import type { Broker, Clock, Random, Telemetry } from './ports.js';
import type { Session } from './session.js';
import type { Counters } from './stats.js';

export interface GatewayPorts {
  readonly clock: Clock;
  readonly random: Random;
  readonly broker: Broker;
  readonly telemetry: Telemetry;
  /** Checks refresh tokens (auth.mode=jwt); absent when connections are anonymous. */
  readonly verifier?: TokenVerifier;
}

export interface CoreContext extends GatewayPorts {
  readonly options: GatewayOptions;
  /** Open sessions by id, in the order they opened (drain and epoch restarts close them in that order). */
  readonly sessions: Map<string, Session>;
  readonly counters: Counters;
}
