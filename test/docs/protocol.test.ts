// docs/protocol.md shows real frames. Keep them honest: every server frame on the page must be accepted by
// the client's validating decoder, and every message type of the protocol must be shown at least once.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeServerMessage } from '../../src/client/decode.js';
import { ErrorCodes } from '../../src/core/protocol.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const serverFrames = doc
  .split('\n')
  .map((line) => (line.startsWith('← {') ? line.slice(2) : line))
  .filter((line) => line.startsWith('{"type":') && !/^\{"type":"(subscribe|unsubscribe|replay|ping)"/.test(line));

describe('docs/protocol.md', () => {
  it('shows server frames the client decodes', () => {
    expect(serverFrames.length).toBeGreaterThan(20);
    for (const frame of serverFrames) {
      const decoded = decodeServerMessage(frame);
      expect(decoded.ok, `${frame} → ${decoded.ok ? '' : decoded.problem}`).toBe(true);
    }
  });

  it('shows every server message type and names every error code', () => {
    const types = new Set(serverFrames.map((frame) => (JSON.parse(frame) as { type: string }).type));
    for (const type of ['welcome', 'subscribed', 'unsubscribed', 'replayed', 'event', 'gap', 'throttle', 'error', 'pong']) expect(types).toContain(type);
    for (const code of ErrorCodes) expect(doc).toContain(`\`${code}\``);
  });
});
