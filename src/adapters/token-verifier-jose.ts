// The TokenVerifier port (src/core/auth.ts) with jose (docs/security.md, "Tokens"). One key source: an
// HS256 secret, a PEM public key (RS256/ES256), a JWKS file, or a JWKS URL (fetched with a timeout, cached,
// refetched at most once per cooldown when an unknown kid shows up). The accepted algorithms are an
// explicit list, so `alg: none` and HS/RS confusion (an HS256 token "signed" with the public key) are
// refused before any key is used. `sub` and `exp` are required.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { GRANTS_MAX, TOKEN_CHARS_MAX, type Identity, type TokenAlgorithm, type TokenVerifier, type VerifyResult } from '../core/auth.js';
import { channelNameProblem } from '../core/protocol.js';

export type KeySource =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'publicKeyFile'; readonly path: string }
  | { readonly kind: 'jwksFile'; readonly path: string }
  | { readonly kind: 'jwksUrl'; readonly url: string; readonly cacheMs: number; readonly timeoutMs: number };

export interface JoseVerifierOptions {
  readonly key: KeySource;
  /** Empty: the algorithms the key implies. */
  readonly algorithms: readonly TokenAlgorithm[];
  readonly issuer: string | null;
  readonly audience: string | null;
  readonly channelsClaim: string;
  readonly clockToleranceS: number;
}

/** Characters of a `sub`: it names the user in admission tables and in `user.{sub}.>`. */
const SUB_CHARS_MAX = 128;

type Key = Uint8Array | KeyObject | JWTVerifyGetKey;

function algorithmsOf(key: KeySource, publicKey: KeyObject | null): TokenAlgorithm[] {
  if (key.kind === 'secret') return ['HS256'];
  if (publicKey !== null) return publicKey.asymmetricKeyType === 'ec' ? ['ES256'] : ['RS256'];
  return ['RS256', 'ES256'];
}

export class JoseTokenVerifier implements TokenVerifier {
  readonly algorithms: readonly TokenAlgorithm[];
  private readonly key: Key;

  /** Reads key files now, so a bad key stops start-up rather than every handshake. */
  constructor(private readonly options: JoseVerifierOptions) {
    const source = options.key;
    let publicKey: KeyObject | null = null;
    switch (source.kind) {
      case 'secret':
        this.key = new TextEncoder().encode(source.secret);
        break;
      case 'publicKeyFile':
        publicKey = createPublicKey(readFileSync(source.path, 'utf8'));
        this.key = publicKey;
        break;
      case 'jwksFile':
        this.key = createLocalJWKSet(JSON.parse(readFileSync(source.path, 'utf8')) as Parameters<typeof createLocalJWKSet>[0]);
        break;
      case 'jwksUrl':
        this.key = createRemoteJWKSet(new URL(source.url), { timeoutDuration: source.timeoutMs, cacheMaxAge: source.cacheMs, cooldownDuration: 30_000 });
        break;
    }
    this.algorithms = options.algorithms.length > 0 ? [...options.algorithms] : algorithmsOf(source, publicKey);
    const mixes = this.algorithms.includes('HS256') && source.kind !== 'secret';
    if (mixes || (source.kind === 'secret' && this.algorithms.some((a) => a !== 'HS256'))) {
      throw new Error(`auth.algorithms ${this.algorithms.join(',')} do not fit the key (${source.kind}): HS256 goes with auth.hmacSecret only`);
    }
  }

  verify(token: string, done: (result: VerifyResult) => void): void {
    if (token.length > TOKEN_CHARS_MAX) return done({ ok: false, code: 'invalid_token', message: `the token is longer than ${TOKEN_CHARS_MAX} characters` });
    const { issuer, audience, clockToleranceS } = this.options;
    const verifyOptions = {
      algorithms: [...this.algorithms],
      requiredClaims: ['sub', 'exp'],
      clockTolerance: clockToleranceS,
      ...(issuer !== null ? { issuer } : {}),
      ...(audience !== null ? { audience } : {}),
    };
    const verified = typeof this.key === 'function' ? jwtVerify(token, this.key, verifyOptions) : jwtVerify(token, this.key, verifyOptions);
    verified.then(
      ({ payload }) => done(this.identityOf(payload)),
      (error: unknown) => done({ ok: false, ...problemOf(error, this.algorithms) }),
    );
  }

  private identityOf(payload: JWTPayload): VerifyResult {
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > SUB_CHARS_MAX) {
      return { ok: false, code: 'invalid_token', message: `claim "sub" must be a string of 1 to ${SUB_CHARS_MAX} characters` };
    }
    const claim = this.options.channelsClaim;
    const raw = Object.hasOwn(payload, claim) ? payload[claim] : [];
    if (!Array.isArray(raw) || raw.length > GRANTS_MAX || !raw.every((p) => typeof p === 'string' && channelNameProblem(p, true) === null)) {
      return { ok: false, code: 'invalid_token', message: `claim "${claim}" must be an array of at most ${GRANTS_MAX} channel patterns` };
    }
    const identity: Identity = { user: sub, grants: raw as string[], expiresAtMs: typeof payload.exp === 'number' ? payload.exp * 1000 : null };
    return { ok: true, identity };
  }
}

/** A precise, stable message per failure; jose's own wording is not part of our contract. */
function problemOf(error: unknown, algorithms: readonly string[]): { code: 'token_expired' | 'invalid_token'; message: string } {
  if (error instanceof errors.JWTExpired) return { code: 'token_expired', message: 'the token expired' };
  if (error instanceof errors.JOSEAlgNotAllowed)
    return { code: 'invalid_token', message: `the token's algorithm is not accepted (accepted: ${algorithms.join(', ')})` };
  if (error instanceof errors.JWSSignatureVerificationFailed) return { code: 'invalid_token', message: 'the token signature does not verify' };
  if (error instanceof errors.JWTClaimValidationFailed) {
    return {
      code: 'invalid_token',
      message: error.reason === 'missing' ? `the token lacks claim "${error.claim}"` : `claim "${error.claim}" is not acceptable`,
    };
  }
  if (error instanceof errors.JWKSNoMatchingKey) return { code: 'invalid_token', message: 'no key of the JWKS matches the token' };
  if (error instanceof errors.JWKSTimeout) return { code: 'invalid_token', message: 'the JWKS could not be fetched in time; try again' };
  if (!(error instanceof errors.JOSEError))
    return { code: 'invalid_token', message: 'the token could not be checked (the key source is unavailable); try again' };
  return { code: 'invalid_token', message: 'the token is malformed' };
}
