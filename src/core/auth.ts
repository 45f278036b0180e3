// Who a connection is and what it may read (docs/security.md). The core never sees a token's bytes being
// checked: a TokenVerifier port (src/adapters/token-verifier-jose.ts with jose; a twin in tests) turns a
// token into an Identity, and the core decides with it — the handshake (401 without one in secure mode),
// the per-user cap (only verified users count), each subscribe (grants), and the token's expiry.
import { channelNameProblem } from './protocol.js';

/** Token algorithms the gateway accepts; `none` and every other one are refused before any key is used. */
export const TOKEN_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

/** Bytes of a token considered at all; longer ones are refused without parsing (bounded work per handshake). */
export const TOKEN_CHARS_MAX = 8_192;
/** Subscribe grants kept from one token; more is a malformed token, not a bigger table. */
export const GRANTS_MAX = 256;

/** A verified token, as the core needs it. */
export interface Identity {
  /** The token's `sub`: the user the per-user cap counts. */
  readonly user: string;
  /** Channel patterns the token may subscribe to (beyond the user's own `user.{sub}.>`). */
  readonly grants: readonly string[];
  /** `exp` in wall-clock milliseconds; null when the token does not expire. */
  readonly expiresAtMs: number | null;
}

export type TokenProblem = 'token_expired' | 'invalid_token';

export type VerifyResult = { readonly ok: true; readonly identity: Identity } | { readonly ok: false; readonly code: TokenProblem; readonly message: string };

/** Checks a token's signature and claims. Callback-shaped, as every port (src/core/ports.ts). */
export interface TokenVerifier {
  verify(token: string, done: (result: VerifyResult) => void): void;
}

/** What the host found of a credential on the handshake, after asking the verifier. */
export type HandshakeCredential = { readonly kind: 'none' } | VerifyResult;

/** The namespace every user owns: `user.{sub}.>` needs no grant for its owner. */
export function ownChannelsOf(user: string): string | null {
  const pattern = `user.${user}.>`;
  // A `sub` that is not a channel token (a dot, a wildcard, a space) owns nothing: it cannot name a channel.
  return channelNameProblem(user, false) === null && !user.includes('.') && channelNameProblem(pattern, true) === null ? pattern : null;
}

/**
 * Does grant pattern `grant` cover everything `wanted` (a channel or a pattern) can match? Token by token:
 * `>` covers one or more remaining tokens of anything; `*` covers one token that is concrete or `*`;
 * a literal covers only itself. So `news.>` covers `news.*.eu` but `news.*` does not cover `news.>`.
 */
export function covers(grant: string, wanted: string): boolean {
  const g = grant.split('.');
  const w = wanted.split('.');
  for (let i = 0; i < g.length; i++) {
    const token = g[i]!;
    if (token === '>') return w.length > i;
    if (i >= w.length) return false;
    const asked = w[i]!;
    if (token === '*') {
      if (asked === '>') return false;
      continue;
    }
    if (token !== asked) return false;
  }
  return g.length === w.length;
}

/** May this identity subscribe to (and so replay) `channel`? Anonymous sessions exist only when auth is off. */
export function maySubscribe(identity: Identity | null, channel: string): boolean {
  if (identity === null) return true;
  const own = ownChannelsOf(identity.user);
  if (own !== null && covers(own, channel)) return true;
  return identity.grants.some((grant) => covers(grant, channel));
}
