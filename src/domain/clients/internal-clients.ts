import { ConflictError } from '../errors.js';
import { INTERNAL_CLIENT_PREFIX, resolveSettings } from './client-service.js';
import type { ClientMetadataValidator, ClientRepository, ClientSettings, RegisteredClient } from './client.js';

/**
 * Gatehouse's own pages (the account pages, the admin console) sign in like any application: each through an
 * internal, first-party, public client (authorization code with PKCE, openid only, no refresh tokens) with a fixed id
 * under the reserved `gatehouse-` prefix, which admins cannot change or delete.
 */
export interface InternalClient {
  readonly clientId: `${typeof INTERNAL_CLIENT_PREFIX}${string}`;
  readonly name: string;
  /** Path of the callback under the issuer, e.g. /account/callback. */
  readonly callbackPath: string;
}

export const ACCOUNT_CLIENT: InternalClient = { clientId: 'gatehouse-account', name: 'Gatehouse account', callbackPath: '/account/callback' };
export const ADMIN_CONSOLE_CLIENT: InternalClient = { clientId: 'gatehouse-admin', name: 'Gatehouse admin console', callbackPath: '/admin/callback' };

/** Every internal client, created or repaired at start. */
export const INTERNAL_CLIENTS: readonly InternalClient[] = [ACCOUNT_CLIENT, ADMIN_CONSOLE_CLIENT];

export function internalClientSettings(client: Pick<InternalClient, 'name'>, redirectUri: string): ClientSettings {
  return resolveSettings(
    {
      name: client.name,
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [],
      backchannelLogoutUri: null,
      grantTypes: ['authorization_code'],
      public: true,
      jwksUri: null,
      firstParty: true,
      scope: 'openid',
      idTokenSignedResponseAlg: 'RS256',
      // One token per user signing in to Gatehouse's own pages: a limit per client would be one for all users.
      tokenRateLimited: false,
    },
    undefined,
  );
}

function sameSettings(a: ClientSettings, b: ClientSettings): boolean {
  const keys = Object.keys(a) as (keyof ClientSettings)[];
  return keys.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}

/**
 * Creates an internal client when it is missing and puts back its settings (its redirect URI follows the issuer) when
 * they differ; idempotent, and safe when two instances start at once.
 */
export async function ensureInternalClient(
  deps: { readonly clients: ClientRepository; readonly validator: ClientMetadataValidator },
  client: InternalClient,
  redirectUri: string,
): Promise<RegisteredClient> {
  const settings = internalClientSettings(client, redirectUri);
  await deps.validator.validate(client.clientId, settings, null);
  let existing = await deps.clients.findById(client.clientId);
  if (!existing) {
    try {
      return await deps.clients.create({ clientId: client.clientId, secret: null, settings });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      existing = await deps.clients.findById(client.clientId);
      if (!existing) throw error;
    }
  }
  const { clientId: _id, secret, createdAt: _c, updatedAt: _u, ...current } = existing;
  if (secret === null && sameSettings(settings, current)) return existing;
  return deps.clients.update(client.clientId, settings, { secret: null });
}

/** Every internal client, each with its callback under the issuer. */
export async function ensureInternalClients(deps: Parameters<typeof ensureInternalClient>[0], issuer: string): Promise<void> {
  for (const client of INTERNAL_CLIENTS) await ensureInternalClient(deps, client, `${issuer}${client.callbackPath}`);
}
