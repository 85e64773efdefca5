// The flags of `clients create` and `clients update`, named like the fields of a client: a domain error about a field
// names the flag to fix (src/cli/errors.ts).
export const clientSettingFlags = {
  name: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  'backchannel-logout-uri': { type: 'string' },
  'backchannel-logout-session-required': { type: 'boolean' },
  'no-backchannel-logout-session-required': { type: 'boolean' },
  'grant-type': { type: 'string', multiple: true },
  public: { type: 'boolean' },
  confidential: { type: 'boolean' },
  'token-endpoint-auth-method': { type: 'string' },
  'jwks-uri': { type: 'string' },
  'first-party': { type: 'boolean' },
  'no-first-party': { type: 'boolean' },
  admin: { type: 'boolean' },
  'no-admin': { type: 'boolean' },
  scope: { type: 'string' },
  'id-token-signed-response-alg': { type: 'string' },
  'min-acr': { type: 'string' },
  'token-rate-limit': { type: 'boolean' },
  'no-token-rate-limit': { type: 'boolean' },
} as const;
