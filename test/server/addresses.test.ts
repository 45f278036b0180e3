// Client addresses behind proxies (src/server/addresses.ts): X-Forwarded-For read from the right, past
// trusted proxies only, and believed only from a trusted peer.
import { describe, expect, it } from 'vitest';
import { cidrProblem, isLoopbackHost, ProxyTrust } from '../../src/server/addresses.js';

describe('ProxyTrust.clientIp', () => {
  const trust = new ProxyTrust(['10.0.0.0/8', '::1', '127.0.0.1']);

  it.each([
    ['a direct client: the header is not believed', '203.0.113.9', '1.2.3.4', '203.0.113.9'],
    ['one trusted proxy', '10.0.0.5', '203.0.113.7', '203.0.113.7'],
    ['a forged left part', '10.0.0.5', '6.6.6.6, 203.0.113.7', '203.0.113.7'],
    ['a chain of trusted proxies', '10.0.0.5', '6.6.6.6, 203.0.113.7, 10.1.1.1, 10.2.2.2', '203.0.113.7'],
    ['only trusted entries: the leftmost', '10.0.0.5', '10.9.9.9, 10.1.1.1', '10.9.9.9'],
    ['garbage right of the client: the last vouched-for address', '10.0.0.5', '203.0.113.7, not-an-ip', '10.0.0.5'],
    ['IPv4-mapped IPv6 peer', '::ffff:10.0.0.5', '203.0.113.7', '203.0.113.7'],
    ['IPv6 client behind ::1', '::1', '2001:db8::1', '2001:db8::1'],
  ])('%s', (_name, peer, header, expected) => {
    expect(trust.clientIp(peer, header)).toBe(expected);
  });

  it('takes repeated headers as one list, and no header as the peer', () => {
    expect(trust.clientIp('10.0.0.5', ['6.6.6.6', '203.0.113.7'])).toBe('203.0.113.7');
    expect(trust.clientIp('10.0.0.5', undefined)).toBe('10.0.0.5');
  });
});

describe('address settings', () => {
  it('checks CIDRs and loopback hosts', () => {
    expect(['10.0.0.0/8', '::1', '2001:db8::/32', '1.2.3.4'].map(cidrProblem)).toEqual([null, null, null, null]);
    expect(cidrProblem('10.0.0.0/33')).toBe('has a prefix length outside 0..32');
    expect(cidrProblem('example.com')).toBe('is not an IP address');
    expect(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0', '10.0.0.1', '::'].map(isLoopbackHost)).toEqual([true, true, true, true, false, false, false]);
  });
});
