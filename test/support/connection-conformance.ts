// Conformance cases for the Connection port (src/core/ports.ts). The real transport (ws) runs them in
// test/adapters/transport-ws.conformance.test.ts; a simulated transport can run the very same cases by
// providing a ConnectionHarness, so the lab's sockets are held to what the real ones do.
import { describe, expect, it } from 'vitest';
import { frameOf } from '../../src/core/codec.js';
import type { Connection } from '../../src/core/ports.js';

/** One connected pair: the server-side Connection under test and what its peer observed. */
export interface ConnectedPair {
  readonly conn: Connection;
  /** Text messages the peer decoded, in arrival order. */
  readonly received: readonly string[];
  /** The close frame the peer saw (code 1006 when the connection dropped without one), once closed. */
  readonly peerClose: { readonly code: number; readonly reason: string } | null;
  /** What the adapter reported back into the core for this connection. */
  readonly reported: { pongs: number; closedWith: number | null };
}

export interface ConnectionHarness {
  /** A new client connected to the server; the adapter is bound so `reported` records its events. */
  connect(): Promise<ConnectedPair>;
  /** Lets the transport run until `condition` holds (real: poll; sim: run the scheduler). */
  until(condition: () => boolean): Promise<void>;
  close(): Promise<void>;
}

export function describeConnectionConformance(name: string, makeHarness: () => Promise<ConnectionHarness>): void {
  describe(`Connection conformance: ${name}`, () => {
    async function withHarness(body: (h: ConnectionHarness) => Promise<void>): Promise<void> {
      const harness = await makeHarness();
      try {
        await body(harness);
      } finally {
        await harness.close();
      }
    }

    it('delivers the frames of one write as separate messages, in order, across writes', () =>
      withHarness(async (h) => {
        const pair = await h.connect();
        const texts = ['{"n":1}', '{"n":2}', `{"pad":"${'x'.repeat(70_000)}"}`, '{"n":4}'];
        pair.conn.write(texts.slice(0, 3).map(frameOf));
        pair.conn.write([]);
        pair.conn.write([frameOf(texts[3]!)]);
        await h.until(() => pair.received.length >= texts.length);
        expect(pair.received).toEqual(texts);
      }));

    it('gives every peer the same message for one shared Frame', () =>
      withHarness(async (h) => {
        const pairs = await Promise.all([1, 2, 3, 4, 5].map(() => h.connect()));
        const frame = frameOf('{"type":"event","ch":"a.b","offset":1,"prev":0,"data":{"v":"é😀"}}');
        for (const pair of pairs) pair.conn.write([frame]);
        await h.until(() => pairs.every((p) => p.received.length === 1));
        for (const pair of pairs) expect(pair.received).toEqual(['{"type":"event","ch":"a.b","offset":1,"prev":0,"data":{"v":"é😀"}}']);
      }));

    it('reports the pong that answers ping()', () =>
      withHarness(async (h) => {
        const pair = await h.connect();
        pair.conn.ping();
        await h.until(() => pair.reported.pongs === 1);
      }));

    it('sends the close code and reason, drops writes after close(), and reports the close', () =>
      withHarness(async (h) => {
        const pair = await h.connect();
        pair.conn.write([frameOf('{"before":true}')]);
        pair.conn.close(1001, 'going away; retry-after-ms=1200');
        pair.conn.write([frameOf('{"after":true}')]);
        await h.until(() => pair.peerClose !== null && pair.reported.closedWith !== null);
        expect(pair.received).toEqual(['{"before":true}']);
        expect(pair.peerClose).toEqual({ code: 1001, reason: 'going away; retry-after-ms=1200' });
        expect(pair.reported.closedWith).toBe(1001);
      }));

    it('truncates a close reason over 123 bytes instead of failing', () =>
      withHarness(async (h) => {
        const pair = await h.connect();
        pair.conn.close(1008, `slow consumer: ${'é'.repeat(100)}`);
        await h.until(() => pair.peerClose !== null);
        expect(pair.peerClose!.code).toBe(1008);
        expect(Buffer.byteLength(pair.peerClose!.reason)).toBeLessThanOrEqual(123);
        expect(pair.peerClose!.reason.startsWith('slow consumer: é')).toBe(true);
      }));

    it('reports 1006 after terminate() and tolerates calls afterwards', () =>
      withHarness(async (h) => {
        const pair = await h.connect();
        pair.conn.terminate();
        await h.until(() => pair.reported.closedWith !== null);
        expect(pair.reported.closedWith).toBe(1006);
        expect(() => {
          pair.conn.write([frameOf('{}')]);
          pair.conn.ping();
          pair.conn.close(1000, 'late');
        }).not.toThrow();
      }));

    it('counts buffered bytes until the peer has read them', () =>
      withHarness(async (h) => {
        const pair = await h.connect();
        expect(pair.conn.bufferedBytes()).toBe(0);
        pair.conn.write([frameOf(`{"pad":"${'y'.repeat(1024)}"}`)]);
        await h.until(() => pair.received.length === 1);
        await h.until(() => pair.conn.bufferedBytes() === 0);
      }));
  });
}
