import { resolveSettings } from '../clients/client-service.js';
import type { ClientMetadataValidator, ClientRepository, ClientSettings, RegisteredClient } from '../clients/client.js';
import { ConflictError } from '../errors.js';

/**
 * The user's account pages (/account) sign in like any application: through this internal, first-party, public client
 * (authorization code with PKCE, openid only, no refresh tokens). Its id is fixed so the pages and the session list can
 * recognise it.
 */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';
export const ACCOUNT_CLIENT_NAME = 'Gatehouse account';

export function accountClientSettings(redirectUri: string): ClientSettings {
  return resolveSettings(
    {
      name: ACCOUNT_CLIENT_NAME,
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      grantTypes: ['authorization_code'],
      public: true,
      jwksUri: null,
      firstParty: true,
      scope: 'openid',
      idTokenSignedResponseAlg: 'RS256',
      minAcr: null,
    },
    undefined,
  );
}

function sameSettings(a: ClientSettings, b: ClientSettings): boolean {
  const keys = Object.keys(a) as (keyof ClientSettings)[];
  return keys.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}

/**
 * Creates the account client when it is missing and puts back its settings (its redirect URI follows the issuer) when
 * they differ; idempotent, and safe when two instances start at once.
 */
export async function ensureAccountClient(
  deps: { readonly clients: ClientRepository; readonly validator: ClientMetadataValidator },
  redirectUri: string,
): Promise<RegisteredClient> {
  const settings = accountClientSettings(redirectUri);
  await deps.validator.validate(ACCOUNT_CLIENT_ID, settings, null);
  let existing = await deps.clients.findById(ACCOUNT_CLIENT_ID);
  if (!existing) {
    try {
      return await deps.clients.create({ clientId: ACCOUNT_CLIENT_ID, secret: null, settings });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      existing = await deps.clients.findById(ACCOUNT_CLIENT_ID);
      if (!existing) throw error;
    }
  }
  const { clientId: _id, secret, createdAt: _c, updatedAt: _u, ...current } = existing;
  if (secret === null && sameSettings(settings, current)) return existing;
  return deps.clients.update(ACCOUNT_CLIENT_ID, settings, { secret: null });
}
