// Inputs every scenario takes besides its story's own (inputs/NAME.json): one per mechanism the parity
// suite drives (docs/lab.md, "Parity with the kernel"). None has a default: unset, the story's own model
// stands and its report is unchanged; set with `--set`, the runner passes them to the world
// (sim/kernel/mechanisms.ts), where the kernel, the load tool and our gateway apply them. Their meanings
// and rules sit in meanings.ts with every other key's.
import type { Mechanisms } from '../../kernel/mechanisms.js';
import type { InputValue, Inputs } from '../scenario.js';

/** Each key with a value of its type (what `--set` parses the text as). */
export const MECHANISM_INPUTS: Readonly<Record<string, InputValue>> = {
  'host.synRetries': 6,
  'host.synLinearTimeouts': 4,
  'gateway.listenBacklog': 511,
  'gateway.busyAtMs': 0,
  'gateway.busyMs': 0,
  'loadgen.bindSource': false,
  'load.clientKind': 'go',
  'ours.loadBrakeDelayMs': 500,
  'ours.fdReserve': 128,
  'ours.handshakesPerSecondPerIp': 100,
  'ours.handshakeBurstPerIp': 200,
  'ours.connectionsPerIpMax': 10_000,
};

export function isMechanismInput(key: string): boolean {
  return Object.hasOwn(MECHANISM_INPUTS, key);
}

/** The mechanism settings the inputs ask for (empty when none is set). */
export function mechanismsOf(inputs: Inputs): Mechanisms {
  const n = (k: string): number | undefined => (typeof inputs[k] === 'number' ? inputs[k] : undefined);
  const admission = {
    ...(n('ours.handshakesPerSecondPerIp') === undefined ? {} : { handshakesPerSecond: n('ours.handshakesPerSecondPerIp') }),
    ...(n('ours.handshakeBurstPerIp') === undefined ? {} : { handshakeBurst: n('ours.handshakeBurstPerIp') }),
    ...(n('ours.connectionsPerIpMax') === undefined ? {} : { perIpMax: n('ours.connectionsPerIpMax') }),
  };
  const busyMs = n('gateway.busyMs');
  const bind = inputs['loadgen.bindSource'];
  const kind = inputs['load.clientKind'];
  return {
    ...(n('host.synRetries') === undefined ? {} : { synRetries: n('host.synRetries') }),
    ...(n('host.synLinearTimeouts') === undefined ? {} : { synLinearTimeouts: n('host.synLinearTimeouts') }),
    ...(n('gateway.listenBacklog') === undefined ? {} : { listenBacklog: n('gateway.listenBacklog') }),
    ...(busyMs === undefined || busyMs === 0 ? {} : { busy: { atMs: n('gateway.busyAtMs') ?? 0, ms: busyMs } }),
    ...(typeof bind === 'boolean' ? { bindSource: bind } : {}),
    ...(kind === 'go' || kind === 'node' ? { clientKind: kind } : {}),
    ...(n('ours.loadBrakeDelayMs') === undefined ? {} : { loadBrakeDelayMsMax: n('ours.loadBrakeDelayMs') }),
    ...(n('ours.fdReserve') === undefined ? {} : { fdReserve: n('ours.fdReserve') }),
    ...(Object.keys(admission).length === 0 ? {} : { admission }),
  };
}
