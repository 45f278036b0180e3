// Failure kinds, named as the laboratory names them (sim/report/timeline.ts, failureKind), so a load run
// and a lab scenario report the same words: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EADDRNOTAVAIL, EMFILE,
// HTTP_503, HTTP_429, UPGRADE_TIMEOUT, EOF (closed without a WebSocket close), CLOSE_<code>.
// The load tool adds the kinds only a real client meets: EADDRINUSE (no free local port on a bound source
// address), SUBSCRIBE_TIMEOUT and SUBSCRIBE_ERROR (the server upgraded but never confirmed the
// subscription), HTTP_<other status>.

/** Errno codes a connect or an open socket may report, kept as they are. */
const ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EADDRNOTAVAIL', 'EADDRINUSE', 'EMFILE', 'ENFILE', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

/** ws's words when its handshake timer fires (`handshakeTimeout`). */
const HANDSHAKE_TIMEOUT = /handshake has timed out/i;

/**
 * The kind of a failed connection attempt. `tcpConnected` says whether the TCP connection was up when it
 * failed: a timeout before it is the kernel's ETIMEDOUT, after it the server's slow Upgrade.
 */
export function attemptFailureKind(error: Error, tcpConnected: boolean): string {
  const code = (error as NodeJS.ErrnoException).code;
  // "socket hang up" (Node gives it code ECONNRESET): the server closed the connection, with a FIN, before
  // answering the Upgrade — the lab's EOF. A real reset reads "read ECONNRESET".
  if (/socket hang up/i.test(error.message)) return 'EOF';
  if (code !== undefined && ERRNO.has(code)) return code;
  if (HANDSHAKE_TIMEOUT.test(error.message)) return tcpConnected ? 'UPGRADE_TIMEOUT' : 'ETIMEDOUT';
  const status = /Unexpected server response: (\d{3})/.exec(error.message);
  if (status !== null) return `HTTP_${status[1]}`;
  return code ?? 'ERROR';
}

/** The refusal of an Upgrade by its HTTP status (503 + Retry-After, 429, …). */
export function refusalKind(status: number): string {
  return `HTTP_${status}`;
}

/**
 * Why an established connection ended when we did not end it. 1006 is "no close frame": the socket died
 * (ECONNRESET when the kernel said so, EOF otherwise); any other code is the server's CLOSE_<code>.
 */
export function dropKind(closeCode: number, lastErrorCode: string | undefined): string {
  if (closeCode !== 1006 && closeCode !== 1005) return `CLOSE_${closeCode}`;
  if (lastErrorCode !== undefined && ERRNO.has(lastErrorCode)) return lastErrorCode;
  return 'EOF';
}

/** Adds `n` to `kind` in a counts record (the shape every report uses). */
export function bump(counts: Record<string, number>, kind: string, n = 1): void {
  counts[kind] = (counts[kind] ?? 0) + n;
}

/** Sums counts records (workers' reports). */
export function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [kind, n] of Object.entries(from)) bump(into, kind, n);
}
