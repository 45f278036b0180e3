// A memory cgroup for the real side of a parity row: the gateway reads its memory limit from its own
// cgroup (src/server/resources.ts), so the row gives it one the way a container runtime would — a fresh
// group beside the others (never inside one that is not ours), its limit set, the server's process moved
// in before it execs, the group removed when the run ends. cgroup v2 where the root delegates the memory
// controller, else the v1 memory hierarchy. `memoryCgroup()` says whether this machine lets us (root, a
// writable hierarchy) by making and removing a probe group; when it cannot, the row falls back to
// `resources.memoryBytes` and its real column says so.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  readonly version: 1 | 2;
  /** Where the run's group is made. */
  readonly parent: string;
  /** The file that holds the group's limit in bytes. */
  readonly limitFile: 'memory.max' | 'memory.limit_in_bytes';
}

const V2_ROOT = '/sys/fs/cgroup';
const V1_ROOT = '/sys/fs/cgroup/memory';

function candidate(): MemoryCgroup | null {
  const v2Controllers = join(V2_ROOT, 'cgroup.subtree_control');
  if (existsSync(v2Controllers) && readFileSync(v2Controllers, 'utf8').split(/\s+/).includes('memory')) {
    return { version: 2, parent: V2_ROOT, limitFile: 'memory.max' };
  }
  if (existsSync(join(V1_ROOT, 'memory.limit_in_bytes'))) return { version: 1, parent: V1_ROOT, limitFile: 'memory.limit_in_bytes' };
  return null;
}

let probed: MemoryCgroup | string | undefined;

/** Where to make the run's memory group, or why none can be made here. Probed once per process. */
export function memoryCgroup(): MemoryCgroup | string {
  if (probed !== undefined) return probed;
  const cg = candidate();
  if (cg === null) return (probed = 'no memory controller under /sys/fs/cgroup (neither v2 with memory delegated nor v1)');
  const probe = join(cg.parent, `odin-parity-probe-${process.pid}`);
  try {
    accessSync(cg.parent, constants.W_OK);
    mkdirSync(probe);
    try {
      writeFileSync(join(probe, cg.limitFile), String(256 * 1024 * 1024));
    } finally {
      rmdirSync(probe);
    }
    return (probed = cg);
  } catch (e) {
    return (probed = `cannot make a memory cgroup under ${cg.parent}: ${(e as Error).message}`);
  }
}
