import { importJWK, SignJWT, type JWK } from 'jose';
import { LOGOUT_TOKEN_TYPE, type LogoutTokenClaims } from '../domain/logout/logout-token.js';
import type { LogoutTokenSigner } from '../domain/logout/delivery-worker.js';

type SigningKey = Awaited<ReturnType<typeof importJWK>>;

/**
 * Signs logout tokens with the keys oidc-provider signs ID tokens with (the private JWKS it was given at start, current
 * keys first): the first key of the client's algorithm, so receivers verify them against /jwks like ID tokens.
 */
export class JoseLogoutTokenSigner implements LogoutTokenSigner {
  private readonly imported = new Map<string, Promise<{ key: SigningKey; kid: string | undefined }>>();

  constructor(private readonly jwks: { readonly keys: readonly object[] }) {}

  private keyFor(alg: string): Promise<{ key: SigningKey; kid: string | undefined }> {
    let key = this.imported.get(alg);
    if (!key) {
      const jwk = this.jwks.keys.find((k) => (k as JWK).alg === alg) as JWK | undefined;
      if (!jwk) return Promise.reject(new Error(`no signing key for ${alg}`));
      key = importJWK(jwk, alg).then((imported) => ({ key: imported, kid: jwk.kid }));
      this.imported.set(alg, key);
    }
    return key;
  }

  async sign(claims: LogoutTokenClaims, alg: string): Promise<string> {
    const { key, kid } = await this.keyFor(alg);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg, typ: LOGOUT_TOKEN_TYPE, ...(kid ? { kid } : {}) })
      .sign(key);
  }
}
