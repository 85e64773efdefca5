import type { ClientMetadataValidator, ClientRepository, ClientSettings, RegisteredClient } from '../clients/client.js';
import { ACCOUNT_CLIENT, ensureInternalClient, internalClientSettings } from '../clients/internal-clients.js';

/** The internal client of the account pages (/account); see clients/internal-clients.ts. */
export const ACCOUNT_CLIENT_ID = ACCOUNT_CLIENT.clientId;
export const ACCOUNT_CLIENT_NAME = ACCOUNT_CLIENT.name;

export function accountClientSettings(redirectUri: string): ClientSettings {
  return internalClientSettings(ACCOUNT_CLIENT, redirectUri);
}

export function ensureAccountClient(
  deps: { readonly clients: ClientRepository; readonly validator: ClientMetadataValidator },
  redirectUri: string,
): Promise<RegisteredClient> {
  return ensureInternalClient(deps, ACCOUNT_CLIENT, redirectUri);
}
