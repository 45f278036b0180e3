// The resource readers against fake cgroupfs and /proc trees: v2, v1, none, and the odd values they hold.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectResources, readFdLimit, readMemoryLimit, type ResourcePaths } from '../../src/server/resources.js';

function fakeTree(files: Record<string, string>): ResourcePaths {
  const root = mkdtempSync(join(tmpdir(), 'odin-res-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return { cgroupRoot: join(root, 'cgroup'), procSelfCgroup: join(root, 'proc/cgroup'), procSelfLimits: join(root, 'proc/limits') };
}

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 1048576              files
Max locked memory         8388608              8388608              bytes
`;

describe('readMemoryLimit', () => {
  it('reads cgroup v2 memory.max at the root (inside a container)', () => {
    const paths = fakeTree({ 'cgroup/memory.max': '536870912\n', 'proc/cgroup': '0::/\n' });
    expect(readMemoryLimit(paths)).toMatchObject({ bytes: 512 * 1024 * 1024, source: expect.stringContaining('cgroup v2') });
  });

  it('prefers our own v2 cgroup directory from /proc/self/cgroup', () => {
    const paths = fakeTree({
      'cgroup/memory.max': 'max\n',
      'cgroup/system.slice/odin.service/memory.max': '268435456\n',
      'proc/cgroup': '0::/system.slice/odin.service\n',
    });
    expect(readMemoryLimit(paths).bytes).toBe(256 * 1024 * 1024);
  });

  it('treats v2 "max" as no limit', () => {
    const paths = fakeTree({ 'cgroup/memory.max': 'max\n' });
    expect(readMemoryLimit(paths)).toMatchObject({ bytes: null, source: expect.stringContaining('no limit') });
  });

  it('reads cgroup v1 memory.limit_in_bytes', () => {
    const paths = fakeTree({ 'cgroup/memory/memory.limit_in_bytes': '1073741824\n', 'proc/cgroup': '4:memory:/\n' });
    expect(readMemoryLimit(paths)).toMatchObject({ bytes: 1024 ** 3, source: expect.stringContaining('cgroup v1') });
  });

  it('reads our own v1 memory cgroup', () => {
    const paths = fakeTree({
      'cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      'cgroup/memory/docker/abc/memory.limit_in_bytes': '2147483648\n',
      'proc/cgroup': '12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n',
    });
    expect(readMemoryLimit(paths).bytes).toBe(2 * 1024 ** 3);
  });

  it('treats the v1 "unlimited" sentinel as no limit', () => {
    const paths = fakeTree({ 'cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' });
    expect(readMemoryLimit(paths).bytes).toBeNull();
  });

  it('answers no limit when there is no cgroup at all, or garbage', () => {
    expect(readMemoryLimit(fakeTree({})).bytes).toBeNull();
    expect(readMemoryLimit(fakeTree({ 'cgroup/memory.max': 'lots\n' })).bytes).toBeNull();
  });

  it('ignores a cgroup limit above the machine memory', () => {
    const paths = fakeTree({ 'cgroup/memory.max': String(64 * 1024 ** 3), 'proc/limits': LIMITS });
    expect(detectResources(paths, 8 * 1024 ** 3).memory.bytes).toBeNull();
    expect(detectResources(paths, 128 * 1024 ** 3).memory.bytes).toBe(64 * 1024 ** 3);
    expect(detectResources(fakeTree({ 'cgroup/memory.max': 'max\n' }), 8 * 1024 ** 3).memory.bytes).toBeNull();
  });
});

describe('readFdLimit', () => {
  it('reads the soft and hard RLIMIT_NOFILE', () => {
    expect(readFdLimit(fakeTree({ 'proc/limits': LIMITS }))).toMatchObject({ soft: 1024, hard: 1048576 });
  });

  it('answers null for unlimited or a missing file', () => {
    const unlimited = LIMITS.replace('1024                 1048576', 'unlimited            unlimited');
    expect(readFdLimit(fakeTree({ 'proc/limits': unlimited })).soft).toBeNull();
    expect(readFdLimit(fakeTree({})).soft).toBeNull();
  });

  it('reads this machine', () => {
    const fd = readFdLimit();
    if (process.platform === 'linux') expect(fd.soft).toBeGreaterThan(0);
  });
});
