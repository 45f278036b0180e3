// The components a Gateway is built from (docs/design.md, "The core's components"), each replaceable by a subclass with the
// same constructor: a test swaps one to plant a fault, and the broken doubles in properties/catches each
// break exactly one concern this way.
import { AdmissionControl } from './admission.js';
import { Drain } from './drain.js';
import { FanOut } from './fan-out.js';
import { History } from './history.js';
import { Publisher } from './publisher.js';
import { Resume } from './resume.js';
import { SlowClientPolicy } from './slow-client-policy.js';
import { Writer } from './writer.js';

/**
 * The components a Gateway is built from. Each defaults to the real one; a test or a broken double passes
 * a subclass with the same constructor to replace exactly one concern.
 */
export interface GatewayParts {
  readonly admission: typeof AdmissionControl;
  readonly history: typeof History;
  readonly policy: typeof SlowClientPolicy;
  readonly writer: typeof Writer;
  readonly fanOut: typeof FanOut;
  readonly resume: typeof Resume;
  readonly drain: typeof Drain;
  readonly publisher: typeof Publisher;
}

export const realParts: GatewayParts = {
  admission: AdmissionControl,
  history: History,
  policy: SlowClientPolicy,
  writer: Writer,
  fanOut: FanOut,
  resume: Resume,
  drain: Drain,
  publisher: Publisher,
};
