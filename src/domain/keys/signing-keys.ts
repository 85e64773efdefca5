import { generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import type { Clock } from '../clock.js';

export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** How long a replaced key stays published, so that tokens it signed can still be verified. */
export const RETIRED_KEY_PUBLICATION_MS = 7 * 24 * 3600 * 1000;

export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly publicJwk: JsonWebKey;
  readonly createdAt: Date;
  readonly retiredAt: Date | null;
}

export interface PrivateSigningKey extends SigningKeyRecord {
  readonly privateJwk: JsonWebKey;
}

export interface SigningKeyStore {
  /** Every key, newest first, with private parts decrypted. */
  listWithPrivate(): Promise<PrivateSigningKey[]>;
  list(): Promise<SigningKeyRecord[]>;
  /** Inserts the new keys and retires the given ones in one transaction. */
  replace(newKeys: PrivateSigningKey[], retire: string[], at: Date): Promise<void>;
}

function generate(alg: SigningAlg, now: Date): PrivateSigningKey {
  const pair = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(12).toString('base64url');
  const decorate = (jwk: JsonWebKey): JsonWebKey => ({ ...jwk, kid, alg, use: 'sig' });
  return {
    kid,
    alg,
    publicJwk: decorate(pair.publicKey.export({ format: 'jwk' })),
    privateJwk: decorate(pair.privateKey.export({ format: 'jwk' })),
    createdAt: now,
    retiredAt: null,
  };
}

export class SigningKeyService {
  constructor(private readonly store: SigningKeyStore, private readonly clock: Clock) {}

  /** Creates the first keys when there are none for an algorithm; returns the kids it created. */
  async ensureKeys(): Promise<string[]> {
    const keys = await this.store.list();
    const missing = SIGNING_ALGS.filter((alg) => !keys.some((k) => k.alg === alg && !k.retiredAt));
    if (missing.length === 0) return [];
    const now = this.clock.now();
    const created = missing.map((alg) => generate(alg, now));
    await this.store.replace(created, [], now);
    return created.map((k) => k.kid);
  }

  /** New current keys for every algorithm; the replaced ones keep verifying for RETIRED_KEY_PUBLICATION_MS. */
  async rotate(): Promise<SigningKeyRecord[]> {
    const now = this.clock.now();
    const current = (await this.store.list()).filter((k) => !k.retiredAt);
    const created = SIGNING_ALGS.map((alg) => generate(alg, now));
    await this.store.replace(created, current.map((k) => k.kid), now);
    return created.map(({ privateJwk: _omitted, ...record }) => record);
  }

  list(): Promise<SigningKeyRecord[]> {
    return this.store.list();
  }

  /**
   * The private JWKS oidc-provider signs and publishes with: current keys first (it signs with the first key of an
   * algorithm), then recently retired ones for verification only.
   */
  async signingJwks(): Promise<{ keys: JsonWebKey[] }> {
    const now = this.clock.now().getTime();
    const keys = (await this.store.listWithPrivate()).filter(
      (k) => !k.retiredAt || now - k.retiredAt.getTime() < RETIRED_KEY_PUBLICATION_MS,
    );
    keys.sort((a, b) => Number(a.retiredAt !== null) - Number(b.retiredAt !== null) || b.createdAt.getTime() - a.createdAt.getTime());
    return { keys: keys.map((k) => k.privateJwk) };
  }
}
