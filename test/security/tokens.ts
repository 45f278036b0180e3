// Tokens for the security tests, minted with jose as an application's backend would: HS256 with a shared
// secret, RS256/ES256 with generated key pairs (public halves written as PEM and JWKS files).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT, type JWTPayload } from 'jose';

export const SECRET = 'test-secret-of-at-least-32-characters!!';

export interface Claims extends JWTPayload {
  readonly channels?: readonly string[];
}

/** Seconds since the epoch, as exp wants. */
export const nowS = (): number => Math.floor(Date.now() / 1000);

export function hs256(claims: Claims, secret = SECRET): Promise<string> {
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicPem: string;
}

export function rsaPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function ecPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function signed(alg: 'RS256' | 'ES256', key: KeyObject, claims: Claims, kid?: string): Promise<string> {
  return new SignJWT({ ...claims }).setProtectedHeader(kid === undefined ? { alg } : { alg, kid }).sign(key);
}

/** An unsigned token (`alg: none`): header and claims, empty signature. */
export function unsecured(claims: Claims): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** Writes `text` to a fresh temporary file and returns its path. */
export function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'odin-sec-')), name);
  writeFileSync(path, text);
  return path;
}

export async function jwksOf(pairs: readonly { readonly kid: string; readonly alg: string; readonly publicKey: KeyObject }[]): Promise<string> {
  const keys = await Promise.all(pairs.map(async (p) => ({ ...(await exportJWK(p.publicKey)), kid: p.kid, alg: p.alg, use: 'sig' })));
  return JSON.stringify({ keys });
}
