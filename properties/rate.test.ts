// I8 rate conformance: the token bucket, handshakes per IP and inbound messages per connection.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { bucketProperty, handshakeRateProperty, inboundRateProperty, realBucket } from './laws/rate.js';
import { runs } from './support/runs.js';

describe('rate conformance (I8)', () => {
  it('token bucket: accepted ≤ burst + rate·T over every window, and refuses only when empty', () => {
    fc.assert(bucketProperty(realBucket), runs(300));
  });

  it('handshakes per IP through the gateway conform, and a rested burst is available again', () => {
    fc.assert(handshakeRateProperty, runs(100));
  });

  it('inbound messages per connection conform; violations get rate_limited, then close 1008', () => {
    fc.assert(inboundRateProperty, runs(100));
  });
});
