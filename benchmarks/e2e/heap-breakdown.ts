// Where the bytes of an idle subscribed connection go (docs/benchmarks.md, "A lighter connection"): odin
// (`odin serve`) and the naive hub each take N connections from the same load tool; a heap snapshot of each
// server is written before and after (node's --heapsnapshot-signal, which collects garbage first), and the
// growth is grouped by what V8 calls each object (constructor, closure, array, system). A diagnostic, not a
// bench: `npx tsx benchmarks/e2e/heap-breakdown.ts [connections]` prints the top groups per connection.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectSet, sleep } from './rig.js';
import { startNaive, startOdin, type ServerProcess } from './servers.js';

interface Group {
  count: number;
  bytes: number;
}

/** Self size and count per "type:name" over every node of a .heapsnapshot file. */
export function groupSnapshot(path: string): Map<string, Group> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const groups = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    // Strings and numbers by type only: their "name" is their content.
    const name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number'
        ? ''
        : snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 60);
    const key = `${type}:${name}`;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += snap.nodes[i + sizeAt]!;
    groups.set(key, g);
  }
  return groups;
}

async function snapshot(server: ServerProcess, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(server.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  for (;;) {
    await sleep(500);
    const fresh = readdirSync(dir).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    // The file is complete once its size stops changing.
    if (fresh.length > 0) {
      const path = join(dir, fresh[0]!);
      let size = -1;
      for (;;) {
        const now = readFileSync(path).byteLength;
        if (now === size && now > 0) return path;
        size = now;
        await sleep(1_000);
      }
    }
    if (Date.now() > deadline) throw new Error('no heap snapshot within 120 s');
  }
}

function diff(before: Map<string, Group>, after: Map<string, Group>, n: number): { key: string; perConn: number; countPerConn: number }[] {
  const rows = [];
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    rows.push({ key, perConn: (a.bytes - b.bytes) / n, countPerConn: (a.count - b.count) / n });
  }
  return rows.sort((x, y) => y.perConn - x.perConn);
}

async function measure(kind: 'odin' | 'naive', n: number, settings: string[]): Promise<void> {
  const dir = `/tmp/heap-breakdown-${process.pid}-${kind}`;
  mkdirSync(dir, { recursive: true });
  const nodeArgs = ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
  const server = kind === 'odin' ? await startOdin({ settings, nodeArgs }) : await startNaive(nodeArgs);
  try {
    await sleep(1_000);
    const rss0 = server.rssBytes();
    const before = groupSnapshot(await snapshot(server, dir));
    const set = await connectSet(server, { connections: n, rampPerSecond: 2_000 });
    await sleep(3_000);
    const rss1 = server.rssBytes();
    const after = groupSnapshot(await snapshot(server, dir));
    const rows = diff(before, after, n);
    const total = rows.reduce((s, r) => s + r.perConn, 0);
    console.log(`\n${kind}: ${n} connections · RSS +${((rss1 - rss0) / n).toFixed(0)} B/conn · heap (after GC) +${total.toFixed(0)} B/conn`);
    for (const r of rows.slice(0, 40))
      if (Math.abs(r.perConn) >= 8) console.log(`  ${r.perConn.toFixed(0).padStart(6)} B  ×${r.countPerConn.toFixed(2).padStart(5)}  ${r.key}`);
    await set.close();
  } finally {
    await server.stop();
    if (process.env.HEAP_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

const n = Number(process.argv[2] ?? 10_000);
const which = process.argv[3] ?? 'both';
const settings = process.argv.slice(4);
if (which !== 'naive') await measure('odin', n, settings);
if (which !== 'odin') await measure('naive', n, []);
