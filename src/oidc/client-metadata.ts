import type { ClientMetadata } from 'oidc-provider';
import type { ClientSettings, ClientWithSecret } from '../domain/clients/client.js';

/** Extra client metadata Gatehouse registers with oidc-provider. */
export const FIRST_PARTY_METADATA = 'gatehouse_first_party';
/** The client's minimum acr, enforced by the login prompt (see interaction-policy.ts). */
export const MIN_ACR_METADATA = 'gatehouse_min_acr';

export function toProviderMetadata(client: Pick<ClientWithSecret, 'clientId' | 'secret'> & ClientSettings): ClientMetadata {
  const usesCode = client.grantTypes.includes('authorization_code');
  const metadata: ClientMetadata = {
    client_id: client.clientId,
    client_name: client.name,
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    grant_types: [...client.grantTypes],
    response_types: usesCode ? ['code'] : [],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    scope: client.scope,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    // Session-aware relying parties need auth_time in every ID token.
    require_auth_time: true,
    [FIRST_PARTY_METADATA]: client.firstParty,
  };
  if (client.minAcr) metadata[MIN_ACR_METADATA] = client.minAcr;
  if (client.secret) metadata.client_secret = client.secret;
  if (client.jwksUri) metadata.jwks_uri = client.jwksUri;
  if (client.backchannelLogoutUri) {
    metadata.backchannel_logout_uri = client.backchannelLogoutUri;
    metadata.backchannel_logout_session_required = client.backchannelLogoutSessionRequired;
  }
  return metadata;
}
