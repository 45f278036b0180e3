// Delegated subcommands: exit codes pass through, a missing module is "not available in this build" (exit 2,
// with a hint where there is one), and a module that exists but fails to import is an error, not "missing".
import { afterEach, describe, expect, it, vi } from 'vitest';
import { delegate, EXIT_UNAVAILABLE } from '../../src/cli-delegate.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('delegate', () => {
  it('calls main(argv) and passes its exit code on', async () => {
    expect(await delegate('t', '../test/server/fixtures/delegate-target.js', ['3'])).toBe(3);
    expect(await delegate('t', '../test/server/fixtures/delegate-target.js', [])).toBe(0);
  });

  it('says "not available in this build" (and where to look) and exits 2 when the module does not exist', async () => {
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    expect(await delegate('bench', '../benchmarks/not-there.js', [])).toBe(EXIT_UNAVAILABLE);
    expect(await delegate('sim', '../sim/not-there.js', [], 'run it from a checkout')).toBe(EXIT_UNAVAILABLE);
    expect(stderr.join('')).toBe(
      'odin bench: not available in this build (../benchmarks/not-there.js is not part of it)\n' +
        'odin sim: not available in this build (../sim/not-there.js is not part of it); run it from a checkout\n',
    );
  });

  it('rethrows an import failure from inside an existing module', async () => {
    await expect(delegate('t', '../test/server/fixtures/delegate-broken.js', [])).rejects.toThrow(/does-not-exist/);
  });
});
