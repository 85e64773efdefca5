import { fieldOfMetadataError } from '../../../src/oidc/client-validator.js';

// oidc-provider's client-metadata errors name the metadata property; Gatehouse shows them next to that field.
describe('fieldOfMetadataError', () => {
  it.each([
    ['redirect_uris must only contain web uris', 'redirect-uri'],
    ['post_logout_redirect_uris must only contain web uris', 'post-logout-redirect-uri'],
    ['jwks_uri must be a web uri', 'jwks-uri'],
    ['backchannel_logout_uri must be a web uri', 'backchannel-logout-uri'],
    ['id_token_signed_response_alg can only be one of RS256, ES256', 'id-token-signed-response-alg'],
    ['grant_types can only contain authorization_code when response_types include code', 'grant-type'],
    ['token_endpoint_auth_method must be a string', 'token-endpoint-auth-method'],
    ['client_name must be a string', 'name'],
    ['scope must be a string', 'scope'],
  ])('%s → %s', (description, field) => {
    expect(fieldOfMetadataError(description)).toBe(field);
  });

  it('takes the property named first, as a whole word only', () => {
    expect(fieldOfMetadataError('response_types must be empty when grant_types has no authorization_code')).toBe('grant-type');
    expect(fieldOfMetadataError('post_logout_redirect_uris and redirect_uris differ')).toBe('post-logout-redirect-uri');
    expect(fieldOfMetadataError('invalid client metadata')).toBeUndefined();
    expect(fieldOfMetadataError('my_scope_thing is wrong')).toBeUndefined();
  });
});
