// Connection tokens for load against a gateway with auth.mode=jwt (docs/security.md; docs/load.md):
// each connection gets its own HS256 token — its own `sub`, so the per-user cap does not refuse the run —
// minted synchronously with node:crypto, because the worker opens connections from a timer tick and a
// JWT is only base64url(header).base64url(claims).base64url(HMAC-SHA256).
import { createHmac } from 'node:crypto';
import { TOKEN_PROTOCOL_PREFIX } from '../core/protocol.js';

export interface LoadTokens {
  readonly secret: string;
  /** Lifetime of each token; it must outlast the run (load connections do not refresh). */
  readonly ttlS: number;
  /** Channel patterns the tokens grant (the pool's prefix + `.>`). */
  readonly grants: readonly string[];
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const HEADER = b64({ alg: 'HS256', typ: 'JWT' });

export function mintToken(tokens: LoadTokens, index: number, nowS: number): string {
  const body = `${HEADER}.${b64({ sub: `load-${index}`, exp: nowS + tokens.ttlS, channels: tokens.grants })}`;
  return `${body}.${createHmac('sha256', tokens.secret).update(body).digest('base64url')}`;
}

/** The subprotocol entry that carries connection `index`'s token. */
export function tokenProtocol(tokens: LoadTokens, index: number, nowS: number): string {
  return `${TOKEN_PROTOCOL_PREFIX}${mintToken(tokens, index, nowS)}`;
}
