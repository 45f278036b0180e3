// Client addresses (docs/security.md, "Client addresses behind a proxy"). Per-address caps and handshake
// rates are only as good as the address they count. X-Forwarded-For is a list each proxy appends to, so
// only its right end was written by proxies we run; everything to the left may be the client's own
// invention. We therefore walk it from the right, skip entries that are our trusted proxies, and take the
// first one that is not — and believe the header at all only when the socket's peer is a trusted proxy.
import { BlockList, isIP } from 'node:net';

/** null when `text` is an IP address or a CIDR (a.b.c.d/n, v6/n), else why not. */
export function cidrProblem(text: string): string | null {
  const [address, bits, ...rest] = text.split('/');
  if (rest.length > 0 || address === undefined) return 'has more than one "/"';
  const family = isIP(address);
  if (family === 0) return 'is not an IP address';
  if (bits === undefined) return null;
  const n = Number(bits);
  const max = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && n <= max ? null : `has a prefix length outside 0..${max}`;
}

/** Whether a host name is on loopback (127.0.0.0/8, ::1, localhost): nothing beyond this machine reaches it. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** IPv4 clients on a dual-stack listener appear as ::ffff:a.b.c.d; per-address caps should see one address. */
export function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Entries of X-Forwarded-For considered; a longer chain is answered from its right end only. */
const FORWARDED_ENTRIES_MAX = 32;

export class ProxyTrust {
  private readonly trusted = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/') as [string, string | undefined];
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.trusted.addAddress(address, type);
      else this.trusted.addSubnet(address, Number(bits), type);
    }
  }

  isTrusted(ip: string): boolean {
    const family = isIP(ip);
    if (family === 0) return false;
    return this.trusted.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client's address: the socket peer, unless the peer is a trusted proxy — then the rightmost
   * X-Forwarded-For entry that is not a trusted proxy (or the leftmost, when all of them are).
   */
  clientIp(peer: string, forwardedFor: string | readonly string[] | undefined): string {
    const socketIp = normaliseIp(peer);
    if (forwardedFor === undefined || !this.isTrusted(socketIp)) return socketIp;
    const entries = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(','))
      .split(',')
      .slice(-FORWARDED_ENTRIES_MAX)
      .map((entry) => normaliseIp(entry.trim()));
    let client = socketIp;
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      // Garbage in the chain: the proxy to its right is the last address we can vouch for.
      if (isIP(entry) === 0) return client;
      client = entry;
      if (!this.isTrusted(entry)) return entry;
    }
    return client;
  }
}
