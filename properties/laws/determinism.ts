// I10 determinism at the core's level: the same seed and the same command sequence (publishes, resumes,
// stalls, evictions, replays, then a drain with its jittered hints) write the same bytes to every
// connection and close them the same way. The lab's whole-run determinism (trace and report bytes) is the
// simulator's to show; this is the part the core owes it.
import fc from 'fast-check';
import { commandSequences, setup } from '../model/commands.js';
import { expectThat } from '../model/model.js';
import type { Variant } from '../model/system.js';

function transcript(variant: Variant, seed: number, cmds: Iterable<fc.Command<never, never>> | Parameters<typeof fc.modelRun>[1]): string {
  const made = setup(variant, { seed });
  fc.modelRun(() => made, cmds as Parameters<typeof fc.modelRun>[1]);
  made.real.sys.gateway.drain(() => {});
  made.real.sys.settle();
  return made.real.sys.transcript();
}

export function determinismProperty(variant: Variant): fc.IPropertyWithHooks<[number, Iterable<fc.Command<never, never>>]> {
  return fc.property(fc.integer(), commandSequences(40), (seed, cmds) => {
    const first = transcript(variant, seed, cmds);
    const second = transcript(variant, seed, cmds);
    expectThat(first === second, `I10: two runs of seed ${seed} wrote different bytes:\n${first.slice(0, 400)}\n---\n${second.slice(0, 400)}`);
  });
}
