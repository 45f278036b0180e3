// Every scenario the CLI knows, by name.
import { mac4500 } from './mac-4500.js';
import { scale100k } from './scale-100k.js';
import type { Scenario } from './scenario.js';

export const scenarios: readonly Scenario[] = [mac4500, scale100k];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
