// The WebSocket handshake, decided in one place (docs/protocol.md, "Connecting"; docs/operations.md,
// "Refusals and limits"). The real server (src/server/upgrade.ts) and the lab's transport
// (sim/adapters/transport-sim.ts) both ask this function and only carry out its answer, so the lab runs
// production's order:
//
//   path → Upgrade header → protocol version → origin (403) → token (401) → admission (drain, load brake,
//   handshake rate per address, capacity, per user, per address)
//
// A refusal is an HTTP response before any upgrade — never an accepted WebSocket closed a moment later
// (I7) — with the status, the JSON body and the headers to send. An admission holds a slot (its ticket)
// until the host opens the session or abandons the upgrade.
import type { Admission, AdmissionTicket, PeerInfo } from './admission.js';
import type { HandshakeCredential } from './auth.js';
import type { SecurityOptions } from './options.js';
import { SUBPROTOCOL } from './protocol.js';

/** What the core needs to know of an Upgrade request; the host parses it out of its own request type. */
export interface HandshakeRequest {
  /** The request target's path, without the query. */
  readonly path: string;
  /** The Upgrade header as sent; undefined when absent. */
  readonly upgrade: string | undefined;
  /** The `?v=` query parameter; null when absent. */
  readonly version: string | null;
  /** Sec-WebSocket-Protocol offers, in order. */
  readonly protocols: readonly string[];
  /** The Origin header (browsers send it); undefined when absent. */
  readonly origin?: string | undefined;
  /** The token the request carried, as the verifier judged it; absent means none was presented. */
  readonly credential?: HandshakeCredential;
  readonly peer: PeerInfo;
}

export interface HandshakeRefusal {
  readonly ok: false;
  readonly status: 400 | 401 | 403 | 404 | 429 | 503;
  /** The response body, in the shape every HTTP error of the gateway has. */
  readonly body: { readonly error: string; readonly message: string };
  /** Whole seconds to wait before trying again (admission refusals); null when waiting will not help. */
  readonly retryAfterS: number | null;
  /** Response headers beyond the content ones: Retry-After when there is a wait. */
  readonly headers: Readonly<Record<string, string>>;
}

export type HandshakeOutcome = { readonly ok: true; readonly ticket: AdmissionTicket } | HandshakeRefusal;

/** Characters of a refused version quoted back in the message. */
const VERSION_QUOTED_MAX = 16;
/** Characters of a refused origin quoted back. */
const ORIGIN_QUOTED_MAX = 128;
const BEARER: Readonly<Record<string, string>> = { 'WWW-Authenticate': 'Bearer realm="odin"' };

/**
 * Decides one handshake for the endpoint at `endpointPath`. `admit` is consulted last, and only for a
 * request that could otherwise be upgraded: a malformed request never takes a handshake token or a slot.
 */
export function decideHandshake(
  request: HandshakeRequest,
  endpointPath: string,
  security: SecurityOptions,
  admit: (peer: PeerInfo) => Admission,
): HandshakeOutcome {
  if (request.path !== endpointPath) return refuse(404, 'not_found', `no WebSocket endpoint at ${request.path}; use ${endpointPath}`);
  if ((request.upgrade ?? '').toLowerCase() !== 'websocket') return refuse(400, 'bad_upgrade', 'only "Upgrade: websocket" is supported');
  const problem = versionProblem(request.version, request.protocols);
  if (problem !== null) return refuse(400, 'unsupported_protocol', problem);
  if (request.origin !== undefined && security.allowedOrigins.length > 0 && !security.allowedOrigins.includes(request.origin)) {
    return refuse(403, 'forbidden_origin', `origin ${JSON.stringify(request.origin.slice(0, ORIGIN_QUOTED_MAX))} is not allowed (server.allowedOrigins)`);
  }
  let peer = request.peer;
  if (security.authRequired) {
    const credential = request.credential ?? { kind: 'none' };
    if ('kind' in credential) {
      return refuse(
        401,
        'token_required',
        'this gateway needs a token: "Authorization: Bearer <jwt>", or the subprotocol entry odin.token.<jwt>',
        undefined,
        BEARER,
      );
    }
    if (!credential.ok)
      return refuse(401, credential.code, credential.message, undefined, { 'WWW-Authenticate': `${BEARER['WWW-Authenticate']}, error="invalid_token"` });
    // Only a verified `sub` is a user: whatever else the request claims (a ?user=) counts for nothing.
    peer = { ip: peer.ip, userId: credential.identity.user, identity: credential.identity };
  }
  const admission = admit(peer);
  if (admission.ok) return admission;
  return refuse(admission.status, admission.reason, admission.message, admission.retryAfterS);
}

/** null when the client speaks our version (subprotocol or ?v=1, or says nothing), else why not. */
function versionProblem(version: string | null, protocols: readonly string[]): string | null {
  if (version !== null && version !== '1') {
    return `protocol version ${JSON.stringify(version.slice(0, VERSION_QUOTED_MAX))} is not supported; this server speaks v=1 (subprotocol ${SUBPROTOCOL})`;
  }
  if (protocols.length > 0 && !protocols.includes(SUBPROTOCOL) && version !== '1') {
    return `none of the offered subprotocols is supported; offer ${SUBPROTOCOL} or connect with ?v=1`;
  }
  return null;
}

function refuse(
  status: HandshakeRefusal['status'],
  error: string,
  message: string,
  retryAfterS?: number,
  headers: Readonly<Record<string, string>> = {},
): HandshakeRefusal {
  if (retryAfterS === undefined) return { ok: false, status, body: { error, message }, retryAfterS: null, headers };
  // Retry-After is whole seconds (RFC 9110 §10.2.3); a fraction is rounded up, so nobody comes back early.
  const wholeS = Math.max(0, Math.ceil(retryAfterS));
  return { ok: false, status, body: { error, message }, retryAfterS: wholeS, headers: { 'Retry-After': String(wholeS) } };
}
