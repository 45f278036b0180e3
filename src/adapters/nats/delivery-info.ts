// Where a JetStream message sits, from the reply subject the server attaches to each delivered message:
//   $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>      (9 tokens)
//   $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>[.…]
// The server sets it whatever the ack policy, so a reader that never acknowledges still learns its place.

export interface DeliveryInfo {
  readonly streamSeq: number;
  readonly consumerSeq: number;
  /** Messages left for this consumer after this one (0: caught up). */
  readonly pending: number;
  /** When the stream stored the message (the server's clock, ms since the epoch); null if unreadable. */
  readonly storedAtMs: number | null;
}

export function deliveryInfo(reply: string | undefined): DeliveryInfo | null {
  if (reply === undefined || !reply.startsWith('$JS.ACK.')) return null;
  const tokens = reply.split('.');
  // Old form: 9 tokens; new form (servers 2.9+ may send it): at least 12, with domain and account hash.
  const base = tokens.length === 9 ? 2 : tokens.length >= 12 ? 4 : -1;
  if (base < 0) return null;
  const streamSeq = Number(tokens[base + 3]);
  const consumerSeq = Number(tokens[base + 4]);
  const pending = Number(tokens[base + 6]);
  if (!Number.isSafeInteger(streamSeq) || !Number.isSafeInteger(consumerSeq) || !Number.isSafeInteger(pending)) return null;
  // Nanoseconds: above 2^53, so the division rounds to well under a microsecond, plenty for a latency.
  const storedAtNs = Number(tokens[base + 5]);
  return { streamSeq, consumerSeq, pending, storedAtMs: Number.isFinite(storedAtNs) && storedAtNs > 0 ? storedAtNs / 1e6 : null };
}
