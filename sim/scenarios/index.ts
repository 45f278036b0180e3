// Every scenario the CLI knows, by name.
import { windowsHub } from './windows-hub.js';
import { rollingRestart } from './rolling-restart.js';
import { brokerOutage } from './broker-outage.js';
import { loadgenPorts } from './loadgen-ports.js';
import { mac4500 } from './mac-4500.js';
import { scale100k } from './scale-100k.js';
import { cloudrun512mb } from './cloudrun-512mb.js';
import { dockerNofile1024 } from './docker-nofile-1024.js';
import { synBacklog } from './syn-backlog.js';
import { memory7gb } from './memory-7gb.js';
import { slowClients } from './slow-clients.js';
import type { Scenario } from './scenario.js';

export const scenarios: readonly Scenario[] = [
  mac4500,
  loadgenPorts,
  scale100k,
  cloudrun512mb,
  synBacklog,
  dockerNofile1024,
  memory7gb,
  slowClients,
  brokerOutage,
  rollingRestart,
  windowsHub,
];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
