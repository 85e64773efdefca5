import type { User } from '../domain/accounts/user.js';
// The JSON shapes are the admin API's: scripts may use either.
export { clientJson, userJson } from '../http/admin-json.js';
import type { RegisteredClient } from '../domain/clients/client.js';
import type { SigningKeyRecord } from '../domain/keys/signing-keys.js';

/** active or disabled, then admin when it applies. */
export function userStatus(user: User): string {
  return [user.disabledAt ? 'disabled' : 'active', user.admin && 'admin'].filter(Boolean).join(', ');
}

export function userText(user: User): string {
  return [
    `id:         ${user.id}`,
    `email:      ${user.email}`,
    `name:       ${user.name ?? '-'}`,
    `status:     ${user.disabledAt ? `disabled since ${user.disabledAt.toISOString()}` : 'active'}`,
    `admin:      ${user.admin ? 'yes (may use the admin console)' : 'no'}`,
    `created:    ${user.createdAt.toISOString()}`,
  ].join('\n');
}

/** For tables: public or confidential, then first-party and admin when they apply. */
export function clientType(client: RegisteredClient): string {
  return [client.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential', client.firstParty && 'first-party', client.admin && 'admin'].filter(Boolean).join(', ');
}

export function clientText(client: RegisteredClient): string {
  const list = (values: readonly string[]) => (values.length ? values.join(', ') : '-');
  return [
    `client_id:                  ${client.clientId}`,
    `name:                       ${client.name}`,
    `type:                       ${client.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential'}${client.firstParty ? ', first-party' : ''}`,
    `admin:                      ${client.admin ? 'yes (may obtain the admin scope and call the admin API)' : 'no'}`,
    `token endpoint auth method: ${client.tokenEndpointAuthMethod}`,
    `grant types:                ${list(client.grantTypes)}`,
    `scope:                      ${client.scope}`,
    `redirect URIs:              ${list(client.redirectUris)}`,
    `post-logout redirect URIs:  ${list(client.postLogoutRedirectUris)}`,
    `back-channel logout URI:    ${client.backchannelLogoutUri ? `${client.backchannelLogoutUri} (sid ${client.backchannelLogoutSessionRequired ? 'required' : 'not required'})` : '-'}`,
    `jwks_uri:                   ${client.jwksUri ?? '-'}`,
    `ID token algorithm:         ${client.idTokenSignedResponseAlg}`,
    `minimum level (acr):        ${client.minAcr ?? '-'}`,
    `token rate limit:           ${client.tokenRateLimited ? 'yes' : 'no (exempted)'}`,
  ].join('\n');
}

export function keyJson(key: SigningKeyRecord) {
  return { kid: key.kid, alg: key.alg, created_at: key.createdAt.toISOString(), retired_at: key.retiredAt?.toISOString() ?? null, current: key.retiredAt === null };
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}
