// Runs a parity experiment for real: a fresh network namespace (`unshare --net`, so nothing outside is
// touched), loopback up, the experiment's sysctls set there (they are per namespace), the server and the
// client as real processes under `prlimit` where a descriptor limit is asked for, and our gateway in a
// memory cgroup of its own where a memory limit is (real-cgroup.ts; the one thing made outside the
// namespace, removed when the run ends). Needs root (or an unprivileged user namespace) and `unshare`,
// `ip`, `sysctl`, `prlimit`; `realSupport()` says why not.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CapacityNote, Experiment, ExperimentResult } from './experiment.js';
import { memoryCgroup } from './real-cgroup.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const ROOT = here('../../');
const SERVER = here('./real/server.mjs');
const CLIENTS = here('./real/clients.mjs');
const BUSY_PRELOAD = here('./real/busy-preload.mjs');

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** null when the real side can run here, else the reason it cannot. */
export function realSupport(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const r = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up && sysctl -qw net.ipv4.tcp_tw_reuse=1 && command -v prlimit >/dev/null'], {
    encoding: 'utf8',
  });
  if (r.error !== undefined) return `unshare not runnable: ${r.error.message}`;
  if (r.status !== 0) return `cannot make a network namespace with its own sysctls (needs root or user namespaces): ${(r.stderr || '').trim()}`;
  return null;
}

/** The shell script the namespace runs. */
export function script(e: Experiment): string {
  const s = e.sysctls;
  const sys = [
    `net.core.somaxconn=${s.somaxconn}`,
    `net.ipv4.tcp_max_syn_backlog=${s.synBacklog}`,
    `net.ipv4.tcp_syncookies=${s.syncookies}`,
    `net.ipv4.tcp_syn_retries=${s.synRetries}`,
    `net.ipv4.tcp_syn_linear_timeouts=${s.synLinearTimeouts}`,
    `net.ipv4.ip_local_port_range="${s.portLo} ${s.portHi}"`,
    `net.ipv4.tcp_tw_reuse=${s.twReuse}`,
  ];
  const node = q(process.execPath);
  const lines = ['set -e', 'ip link set lo up', ...sys.map((x) => `sysctl -qw ${x}`)];
  // A local address outside 127.0.0.0/8 (on lo itself: no dummy or veth module needed).
  if (e.dummyAddr !== undefined) lines.push(`ip addr add ${e.dummyAddr}/32 dev lo`);
  const srv = e.server;
  const lim = (n: number | undefined): string => (n === undefined ? '' : `prlimit --nofile=${n}:${n} `);
  let ready: string;
  if (srv.kind === 'plain') {
    const spec = { host: '0.0.0.0', ports: srv.ports, backlog: srv.backlog, busyMs: srv.busyMs ?? 0, busyAfterMs: srv.busyAfterMs ?? 0 };
    lines.push(`${lim(srv.nofile)}${node} ${q(SERVER)} ${q(JSON.stringify(spec))} > "$T/server.out" 2> "$T/server.err" &`);
    ready = 'ready';
  } else {
    // Without a memory cgroup here, the same limit comes through the config (the real column says which).
    const cg = srv.memoryBytes === undefined ? null : memoryCgroup();
    const fallback = srv.memoryBytes !== undefined && typeof cg === 'string' ? { 'resources.memoryBytes': srv.memoryBytes } : {};
    const sets = Object.entries({ ...srv.sets, ...fallback })
      .map(([k, v]) => `--set ${k}=${v}`)
      .join(' ');
    // Inside a private namespace nothing can reach it: anonymous on purpose (docs/security.md), with a key
    // because beyond loopback the gateway refuses to start without one.
    const secure = 'WS_AUTH_MODE=none WS_PUBLISH_API_KEY=parity-namespace-only';
    // A busy spell comes from a preloaded script, not from the gateway (its code stays as shipped).
    const busy = (srv.busyMs ?? 0) > 0;
    const preload = busy ? `PARITY_BUSY_MS=${srv.busyMs ?? 0} PARITY_BUSY_AFTER_MS=${srv.busyAfterMs ?? 0} PARITY_BUSY_FLAG="$T/busy" ` : '';
    const require = busy ? ` --import ${q(BUSY_PRELOAD)}` : '';
    const launch = `${secure} ${preload}${lim(srv.nofile)}${node}${require} ${q(`${ROOT}bin/odin.mjs`)} serve -p ${srv.port} -H 0.0.0.0 ${sets}`;
    if (cg !== null && typeof cg !== 'string') {
      // A group of its own beside the others, removed when the run ends however it ends (a group can go
      // once its processes have); the server's shell joins it, then execs the server.
      lines.push(
        `CG=${q(cg.parent)}/odin-parity-$$`,
        // (`set +e` first: under `set -e` the trap would stop at the kill of a server already gone.)
        `trap 'set +e; kill -KILL $SP 2>/dev/null; wait 2>/dev/null; rmdir "$CG"; rm -rf "$T"' EXIT`,
        "trap 'exit 143' TERM INT", // a run cut short (spawnSync's timeout) still cleans up
        'mkdir "$CG"',
        `echo ${srv.memoryBytes} > "$CG/${cg.limitFile}"`,
        `(echo $BASHPID > "$CG/cgroup.procs" && exec env ${launch}) > "$T/server.out" 2> "$T/server.err" &`,
      );
    } else lines.push(`${launch} > "$T/server.out" 2> "$T/server.err" &`);
    ready = 'listening on';
  }
  lines.push('SP=$!', `for i in $(seq 200); do grep -q ${q(ready)} "$T/server.out" 2>/dev/null && break; sleep 0.05; done`);
  lines.push(`grep -q ${q(ready)} "$T/server.out" || { echo "server did not start" >&2; cat "$T/server.err" >&2; exit 3; }`);
  // What the gateway computed as its capacity, and from which limits (its start-up log line).
  if (srv.kind === 'gateway') lines.push(`grep -m1 '"max connections' "$T/server.out" | sed 's/^/capacity /' || true`);
  const c = e.clients;
  const cspec = c;
  // Only the plain server listens for SIGUSR1 (to Node's default handler it means "start the inspector");
  // the gateway's preload takes SIGUSR2, which the gateway itself does not handle.
  const signal = srv.kind === 'plain' ? 'SERVER_PID=$SP ' : (srv.busyMs ?? 0) > 0 ? 'SERVER_PID=$SP SERVER_SIGNAL=SIGUSR2 SERVER_BUSY_FLAG="$T/busy" ' : '';
  lines.push(`${signal}${lim(c.nofile)}${node} ${q(CLIENTS)} ${q(JSON.stringify(cspec))}`);
  lines.push('kill -TERM $SP 2>/dev/null || true', 'wait $SP 2>/dev/null || true');
  return lines.join('\n');
}

export function runReal(e: Experiment): ExperimentResult {
  const r = spawnSync('unshare', ['--net', 'bash', '-c', `T=$(mktemp -d); trap 'rm -rf "$T"' EXIT\n${script(e)}`], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`real run failed (${r.status ?? r.signal}): ${r.stderr}`);
  const line = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (line === undefined) throw new Error(`real run printed no result: ${r.stdout} ${r.stderr}`);
  const result = JSON.parse(line) as ExperimentResult;
  const capacity = capacityOf(r.stdout);
  if (capacity === null) return result;
  // Where the memory limit had to come through the config, say why there was no cgroup.
  const cg = e.server.kind === 'gateway' && e.server.memoryBytes !== undefined ? memoryCgroup() : null;
  const why = typeof cg === 'string' && capacity.memorySource !== undefined ? ` (${cg})` : '';
  return { ...result, capacity: why === '' ? capacity : { ...capacity, memorySource: `${capacity.memorySource}${why}` } };
}

/** The gateway's "max connections N (bound by …)" log line, with its memory limit's source minus the path. */
function capacityOf(stdout: string): CapacityNote | null {
  const line = stdout.split('\n').find((l) => l.startsWith('capacity {'));
  if (line === undefined) return null;
  const log = JSON.parse(line.slice('capacity '.length)) as { msg: string; memory?: { source?: string } };
  const source = log.memory?.source?.replace(/ \/\S+/, '');
  return source === undefined ? { line: log.msg } : { line: log.msg, memorySource: source };
}
