import type Provider from 'oidc-provider';
import type { ClientMetadataValidator, ClientSettings } from '../domain/clients/client.js';
import { ValidationError } from '../domain/errors.js';
import { FIRST_PARTY_METADATA, MIN_ACR_METADATA, toProviderMetadata } from './client-metadata.js';

// The field (as ClientService names its fields) each client metadata property comes from.
const FIELD_OF_PROPERTY: Readonly<Record<string, string>> = {
  client_name: 'name',
  redirect_uris: 'redirect-uri',
  post_logout_redirect_uris: 'post-logout-redirect-uri',
  backchannel_logout_uri: 'backchannel-logout-uri',
  backchannel_logout_session_required: 'backchannel-logout-session-required',
  grant_types: 'grant-type',
  response_types: 'grant-type',
  token_endpoint_auth_method: 'token-endpoint-auth-method',
  jwks_uri: 'jwks-uri',
  jwks: 'jwks-uri',
  scope: 'scope',
  id_token_signed_response_alg: 'id-token-signed-response-alg',
  [MIN_ACR_METADATA]: 'min-acr',
  [FIRST_PARTY_METADATA]: 'first-party',
};

/**
 * The field an oidc-provider metadata error is about. Its messages name the property, first as a rule
 * ("redirect_uris must only contain web uris"); the first property named decides. Undefined when none is named.
 */
export function fieldOfMetadataError(description: string): string | undefined {
  let found: { at: number; field: string } | undefined;
  for (const [property, field] of Object.entries(FIELD_OF_PROPERTY)) {
    const at = description.search(new RegExp(`(?<![A-Za-z0-9_])${property}(?![A-Za-z0-9_])`));
    if (at >= 0 && (!found || at < found.at)) found = { at, field };
  }
  return found?.field;
}

/** Validates client metadata with oidc-provider's own schema, so nothing is saved that it would refuse later. */
export class ProviderClientValidator implements ClientMetadataValidator {
  constructor(private readonly provider: Provider) {}

  async validate(clientId: string, settings: ClientSettings, secret: string | null): Promise<void> {
    try {
      await this.provider.Client.validate(toProviderMetadata({ clientId, secret, ...settings }));
    } catch (error) {
      const description = (error as { error_description?: string }).error_description ?? 'invalid client metadata';
      const field = fieldOfMetadataError(description);
      throw new ValidationError(description, { debug: error, reason: { code: 'client_metadata_invalid', detail: description }, ...(field ? { field } : {}) });
    }
  }
}
