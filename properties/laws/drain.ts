// I9 drain, scheduled among deliveries: replays in flight, publishes before and after the drain, stalled
// readers. Every client must get a close 1001 with a reconnect hint; every acknowledged publish must be
// delivered to those owed it or still be in broker history from their resume point; the drain finishes
// once everyone is gone, and refuses new handshakes and publishes meanwhile.
import fc from 'fast-check';
import { CHANNELS, STALL_BYTES } from '../model/commands.js';
import { expectThat } from '../model/model.js';
import type { Variant } from '../model/system.js';
import { seamRun, seamScenarios, type SeamScenario } from './seam.js';

export interface DrainScenario extends SeamScenario {
  /** Clients whose socket is backed up from the start. */
  readonly stalled: readonly number[];
  /** Publishes scheduled among the rest; some land after the drain began. */
  readonly late: readonly number[];
}

export const drainScenarios: fc.Arbitrary<DrainScenario> = fc
  .tuple(
    seamScenarios,
    fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }),
    fc.array(fc.integer({ min: 0, max: CHANNELS.length - 1 }), { maxLength: 4 }),
  )
  .map(([seam, stalled, late]) => ({ ...seam, stalled, late }));

export function drainProperty(variant: Variant): fc.IAsyncPropertyWithHooks<[fc.Scheduler, DrainScenario]> {
  return fc.asyncProperty(fc.scheduler(), drainScenarios, async (s, scenario) => {
    const run = seamRun(variant, s);
    const { model, real } = run;
    const { sys } = real;
    let drained = false;
    const acked: { channel: string; offset: number; data: string }[] = [];
    await run.play(s, scenario, (schedule) => {
      schedule('stall', () => {
        for (const i of scenario.stalled) {
          const link = real.links[i];
          if (link) {
            link.conn.buffered = STALL_BYTES;
            model.clients[i]!.stalled = true;
            real.stalledEver = true;
          }
        }
      });
      schedule('drain', () => {
        real.draining = true;
        const open = sys.gateway.sessionCount();
        sys.gateway.drain((outcome) => {
          // No deadline passes in these runs: everyone open at the drain closed, nobody was terminated.
          expectThat(outcome.closed === open && outcome.terminated === 0, `I9: drain reported ${JSON.stringify(outcome)} for ${open} sessions`);
          drained = true;
        });
        expectThat(!sys.gateway.ready(), 'I9: ready while draining');
        const refused = sys.gateway.admit({ ip: '10.9.9.9', userId: null });
        expectThat(!refused.ok && refused.status === 503 && refused.reason === 'draining', `I9: a handshake during drain got ${JSON.stringify(refused)}`);
      });
      for (const ch of scenario.late) {
        schedule(`late publish ${CHANNELS[ch]}`, () => {
          const channel = CHANNELS[ch]!;
          const data = model.nextData(4);
          const [offset] = sys.publish([{ channel, data }]);
          if (typeof offset !== 'number') {
            expectThat(real.draining === true, 'publish refused while not draining');
            return;
          }
          model.record(channel, offset, data);
          acked.push({ channel, offset, data });
        });
      }
    });
    sys.settle();
    expectThat(drained, `I9: drain never finished (${sys.gateway.sessionCount()} sessions left)`);
    expectThat(sys.gateway.sessionCount() === 0 && sys.gateway.admission.held === 0, 'I9: sessions or slots left after the drain');
    model.clients.forEach((c, i) => expectThat(!c.connected, `I9: client ${i} still connected after the drain`));
    // Acknowledged means stored: every acked publish is in broker history.
    for (const a of acked) {
      let stored = false;
      sys.memory.readHistory({ subject: a.channel, afterOffset: a.offset - 1, toOffset: a.offset, maxEvents: 1 }, (r) => {
        stored = r.ok && r.events.length === 1 && r.events[0]!.data === a.data;
      });
      expectThat(stored, `I9: publish ${a.channel}@${a.offset} was acknowledged but is not in broker history`);
    }
  });
}
