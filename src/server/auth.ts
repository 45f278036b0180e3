// The auth settings (docs/security.md) turned into what the server runs with: the token verifier (or none
// in anonymous mode) and the one loud log line anonymous mode is owed.
import { JoseTokenVerifier, type KeySource } from '../adapters/token-verifier-jose.js';
import type { TokenAlgorithm } from '../core/auth.js';
import type { Config } from './config.js';

/** null in anonymous mode (auth.mode none, or auto on loopback). Throws when a key file cannot be read. */
export function verifierOf(config: Config): JoseTokenVerifier | null {
  const a = config.auth;
  if (a.mode !== 'jwt') return null;
  const key: KeySource =
    a.hmacSecret !== null
      ? { kind: 'secret', secret: a.hmacSecret }
      : a.publicKeyFile !== null
        ? { kind: 'publicKeyFile', path: a.publicKeyFile }
        : a.jwksFile !== null
          ? { kind: 'jwksFile', path: a.jwksFile }
          : { kind: 'jwksUrl', url: a.jwksUrl!, cacheMs: a.jwksCacheMs, timeoutMs: a.jwksTimeoutMs };
  return new JoseTokenVerifier({
    key,
    algorithms: a.algorithms as readonly TokenAlgorithm[],
    issuer: a.issuer,
    audience: a.audience,
    channelsClaim: a.channelsClaim,
    clockToleranceS: a.clockToleranceS,
  });
}
