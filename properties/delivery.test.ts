// I1–I4 (and I5, I6 along the way) as one model-based property: publish, subscribe with and without
// since, unsubscribe, disconnect and reconnect-with-resume, slow readers, ring eviction, broker-history
// expiry and explicit replays, in any order; the client-visible stream is checked after every command
// against the tiny reference model in properties/model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandSequences, deliveryProperty, setup } from './model/commands.js';
import { realCore } from './model/system.js';
import { runs } from './support/runs.js';

describe('delivery (I1 order, I2 no duplicates, I3 no silent loss, I4 resume exactness)', () => {
  it('holds for every command sequence against the real core', () => {
    fc.assert(deliveryProperty(realCore), runs(150));
  });

  it('generates runs that reach the interesting states (rings evict, broker expires, clients resume)', () => {
    // Guards the generator: a model run that never evicts or resumes would make the property above vacuous.
    const seen = { ringMiss: 0, brokerResume: 0, gaps: 0, slowClose: 0 };
    fc.assert(
      fc.property(commandSequences(), (cmds) => {
        const made = setup(realCore);
        fc.modelRun(() => made, cmds);
        const t = made.real.sys.telemetry.counts;
        seen.brokerResume += t.get('odin_resumes_total{"outcome":"recovered","source":"broker"}') ?? 0;
        seen.ringMiss += t.get('odin_resumes_total{"outcome":"history_expired","source":"broker"}') ?? 0;
        seen.gaps += made.real.sys.gateway.stats().events.gaps;
        seen.slowClose += made.real.sys.gateway.stats().slowDisconnects;
      }),
      { numRuns: 100, seed: 1 },
    );
    expect(seen.brokerResume).toBeGreaterThan(0);
    expect(seen.ringMiss).toBeGreaterThan(0);
    expect(seen.gaps).toBeGreaterThan(0);
    expect(seen.slowClose).toBeGreaterThan(0);
  });
});
