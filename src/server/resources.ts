// What the machine gives us: the memory limit (cgroup v2, then v1) and the descriptor limit
// (RLIMIT_NOFILE). They feed the capacity formula (docs/operations.md, "How capacity is derived"). File paths are injectable so tests point
// them at fake files; every reader answers "unknown" rather than throwing on a missing or odd file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ResourcePaths {
  /** Where cgroupfs is mounted. */
  readonly cgroupRoot: string;
  /** Lists this process's cgroup(s), so a non-namespaced host still finds the right directory. */
  readonly procSelfCgroup: string;
  readonly procSelfLimits: string;
}

export const systemPaths: ResourcePaths = {
  cgroupRoot: '/sys/fs/cgroup',
  procSelfCgroup: '/proc/self/cgroup',
  procSelfLimits: '/proc/self/limits',
};

export interface MemoryLimit {
  /** null: no limit found (or "max", or a v1 "unlimited" sentinel). */
  readonly bytes: number | null;
  /** Which file said so, for the start-up log. */
  readonly source: string;
}

/**
 * cgroup v1 writes "unlimited" as PAGE_COUNTER_MAX rounded to pages (9223372036854771712 on x86-64) and
 * v2 as "max". Anything from 2^60 up is treated as no limit.
 */
const UNLIMITED_FROM = 2 ** 60;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function parseLimit(text: string): number | null | undefined {
  const value = text.trim();
  if (value === 'max') return null;
  if (!/^\d+$/.test(value)) return undefined; // unreadable: try the next candidate
  const bytes = Number(value);
  return bytes >= UNLIMITED_FROM ? null : bytes;
}

/** This process's cgroup directory from /proc/self/cgroup: the v2 line "0::/a/b", or v1 "N:memory:/a/b". */
function ownCgroupDirs(procSelfCgroup: string): { v2: string | null; v1: string | null } {
  const content = readText(procSelfCgroup);
  let v2: string | null = null;
  let v1: string | null = null;
  for (const line of content?.split('\n') ?? []) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined || path === '/' || path === '') continue;
    if (controllers === '') v2 = path;
    else if (controllers?.split(',').includes('memory')) v1 = path;
  }
  return { v2, v1 };
}

/**
 * The memory limit this process runs under. Candidates in order: v2 at our own cgroup, v2 at the root
 * (a container sees its own cgroup as root), then the same two for v1. The first readable file decides.
 */
export function readMemoryLimit(paths: ResourcePaths = systemPaths): MemoryLimit {
  const own = ownCgroupDirs(paths.procSelfCgroup);
  const candidates: Array<[string, string]> = [];
  if (own.v2 !== null) candidates.push(['cgroup v2', join(paths.cgroupRoot, own.v2, 'memory.max')]);
  candidates.push(['cgroup v2', join(paths.cgroupRoot, 'memory.max')]);
  if (own.v1 !== null) candidates.push(['cgroup v1', join(paths.cgroupRoot, 'memory', own.v1, 'memory.limit_in_bytes')]);
  candidates.push(['cgroup v1', join(paths.cgroupRoot, 'memory', 'memory.limit_in_bytes')]);
  for (const [kind, file] of candidates) {
    const text = readText(file);
    if (text === null) continue;
    const bytes = parseLimit(text);
    if (bytes === undefined) continue;
    return { bytes, source: `${kind} ${file}${bytes === null ? ' (no limit)' : ''}` };
  }
  return { bytes: null, source: 'no cgroup memory limit found' };
}

export interface FdLimit {
  /** The soft RLIMIT_NOFILE; null when unlimited or unreadable. */
  readonly soft: number | null;
  readonly hard: number | null;
  readonly source: string;
}

/** RLIMIT_NOFILE from /proc/self/limits ("Max open files  1024  1048576  files"). */
export function readFdLimit(paths: ResourcePaths = systemPaths): FdLimit {
  const content = readText(paths.procSelfLimits);
  const line = content?.split('\n').find((l) => l.startsWith('Max open files'));
  const match = line === undefined ? null : /^Max open files\s+(\S+)\s+(\S+)/.exec(line);
  if (match === null) return { soft: null, hard: null, source: `${paths.procSelfLimits} unreadable` };
  const value = (s: string | undefined): number | null => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);
  return { soft: value(match[1]), hard: value(match[2]), source: paths.procSelfLimits };
}

export interface DetectedResources {
  readonly memory: MemoryLimit;
  readonly fd: FdLimit;
}

/**
 * Both limits. A cgroup limit above the machine's memory (v1 reports a huge number outside any limit on
 * some kernels) is no limit at all, like "max": the memory term then drops out of the capacity formula
 * (docs/operations.md) and descriptors or the configured maximum bind.
 */
export function detectResources(paths: ResourcePaths = systemPaths, totalMemoryBytes?: number): DetectedResources {
  const memory = readMemoryLimit(paths);
  const capped =
    memory.bytes !== null && totalMemoryBytes !== undefined && memory.bytes > totalMemoryBytes
      ? { bytes: null, source: `${memory.source} (above the machine's ${totalMemoryBytes} bytes: no limit)` }
      : memory;
  return { memory: capped, fd: readFdLimit(paths) };
}
