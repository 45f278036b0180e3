// Failure kinds of the load tool: the lab's words for the same events (sim/report/timeline.ts), so a load
// run and a scenario report can be read side by side.
import { describe, expect, it } from 'vitest';
import { attemptFailureKind, dropKind, refusalKind } from '../../src/load/failures.js';
import { failureKind } from '../../sim/report/timeline.js';

const errno = (code: string, message = `connect ${code} 127.0.0.1:1`): Error => Object.assign(new Error(message), { code });

describe('load failure kinds', () => {
  it('keeps errno codes as they are', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EADDRNOTAVAIL', 'EADDRINUSE', 'EMFILE'])
      expect(attemptFailureKind(errno(code), false)).toBe(code);
  });

  it('tells a kernel timeout from a server that never answered the Upgrade', () => {
    const timedOut = new Error('Opening handshake has timed out');
    expect(attemptFailureKind(timedOut, false)).toBe('ETIMEDOUT');
    expect(attemptFailureKind(timedOut, true)).toBe('UPGRADE_TIMEOUT');
  });

  it('reads a close before the answer as EOF, a refusal by its status', () => {
    expect(attemptFailureKind(errno('ECONNRESET', 'socket hang up'), true)).toBe('EOF');
    expect(attemptFailureKind(new Error('Unexpected server response: 503'), true)).toBe('HTTP_503');
    expect(refusalKind(429)).toBe('HTTP_429');
  });

  it('names drops by close code, or by how the socket died', () => {
    expect(dropKind(1001, undefined)).toBe('CLOSE_1001');
    expect(dropKind(1008, undefined)).toBe('CLOSE_1008');
    expect(dropKind(1006, 'ECONNRESET')).toBe('ECONNRESET');
    expect(dropKind(1006, undefined)).toBe('EOF');
  });

  it('uses the words the lab uses for every kind both can meet', () => {
    const shared = [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EADDRNOTAVAIL',
      'EMFILE',
      'UPGRADE_TIMEOUT',
      'HTTP_503',
      'HTTP_429',
      'EOF',
      'CLOSE_1001',
      'CLOSE_1008',
    ];
    const ours = [
      ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EADDRNOTAVAIL', 'EMFILE'].map((c) => attemptFailureKind(errno(c), false)),
      attemptFailureKind(new Error('Opening handshake has timed out'), true),
      refusalKind(503),
      refusalKind(429),
      dropKind(1006, undefined),
      dropKind(1001, undefined),
      dropKind(1008, undefined),
    ];
    expect(ours).toEqual(shared);
    // The lab's words for the same events, from its scenarios' outcome labels.
    const labLabels = [
      'econnrefused',
      'econnreset',
      'timeout@connecting',
      'eaddrnotavail',
      'emfile',
      'timeout@upgrading',
      'http-503',
      'http-429',
      'eof',
      'close-1001',
      'close-1008',
    ];
    expect(labLabels.map((label) => failureKind(label))).toEqual(shared);
  });
});
