import { describe, expect, it } from 'vitest';
import { brokerOutage } from '../../sim/scenarios/broker-outage.js';
import { applySets } from '../../sim/scenarios/scenario.js';

// Shrunk: 300 clients on 5 channels, 20 publishes/s, retention 10 s, outage at 10 s.
const small = [
  'load.connections=300',
  'load.channels=5',
  'load.rampPerSecond=150',
  'feed.publishPerSecond=20',
  'feed.retentionAgeMs=10000',
  'fault.outageAtMs=10000',
  'run.endMs=45000',
];
const run = (extra: string[]) => brokerOutage.run(applySets(brokerOutage.defaults, [...small, ...extra]), '1', 'ours', 'test');

describe('broker-outage', () => {
  it('an outage shorter than retention: connections stay, readiness drops for its length, nothing is lost', () => {
    const r = run(['fault.outageMs=5000']);
    expect(r.metrics['minSessionsDuringOutage']).toBe(300);
    expect(r.metrics['notReadySeconds']).toBe(5);
    expect(r.metrics['expiredDuringOutage']).toBe(0);
    expect(r.metrics['silentlyLost']).toBe(0);
    expect(r.metrics['duplicates']).toBe(0);
    expect(r.metrics['outOfOrder']).toBe(0);
    expect(r.metrics['coveredByGapOrReset']).toBe(0);
  });

  it('an outage longer than retention: events expire before the gateway can read them, and the clients notice', () => {
    const r = run(['fault.outageMs=15000']);
    expect(r.metrics['expiredDuringOutage']).toBeGreaterThan(0);
    expect(r.metrics['duplicates']).toBe(0);
    expect(r.metrics['outOfOrder']).toBe(0);
    // Every client saw the hole in the prev chain and was told what it will not get (docs/lab.md,
    // "broker-outage past retention": this used to come back as a silently empty replay).
    expect(r.metrics['clientsDetectingGap']).toBe(300);
    expect(r.metrics['silentlyLost']).toBe(0);
    expect(r.metrics['coveredByGapOrReset']).toBeGreaterThan(0);
  });

  it('publishers cut off too: their publishes are refused (never acknowledged), so nothing acknowledged is lost', () => {
    const r = run(['fault.outageMs=5000', 'fault.publishersReach=false']);
    expect(r.metrics['failedPublishes']).toBeGreaterThan(0);
    expect(r.metrics['silentlyLost']).toBe(0);
  });
});
