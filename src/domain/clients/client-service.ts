import { randomBytes } from 'node:crypto';
import type { Actor, AuditEventType, NewAuditEvent } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { ACR_LEVELS, type AcrLevel } from '../mfa/levels.js';
import {
  ADMIN_SCOPE,
  CLIENT_SCOPES,
  GRANT_TYPES,
  ID_TOKEN_ALGS,
  TOKEN_ENDPOINT_AUTH_METHODS,
  type ClientMetadataValidator,
  type ClientRepository,
  type ClientSettings,
  type GrantType,
  type IdTokenAlg,
  type RegisteredClient,
  type TokenEndpointAuthMethod,
} from './client.js';

/** What an admin may say about a client; anything left out keeps its default (create) or current value (update). */
export interface ClientInput {
  readonly name?: string;
  readonly redirectUris?: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  readonly backchannelLogoutUri?: string | null;
  readonly backchannelLogoutSessionRequired?: boolean;
  readonly grantTypes?: readonly string[];
  readonly public?: boolean;
  readonly tokenEndpointAuthMethod?: string;
  readonly jwksUri?: string | null;
  readonly firstParty?: boolean;
  readonly admin?: boolean;
  readonly scope?: string;
  readonly idTokenSignedResponseAlg?: string;
  /** An acr level, or null for none. */
  readonly minAcr?: string | null;
  readonly tokenRateLimited?: boolean;
}

export interface CreatedClient {
  readonly client: RegisteredClient;
  /** Shown once; Gatehouse keeps it only encrypted. Null for clients that have none. */
  readonly secret: string | null;
}

const NAME_MAX_LENGTH = 100;
/** Ids Gatehouse gives its own clients; registered clients get random ids, so they never start like this. */
export const INTERNAL_CLIENT_PREFIX = 'gatehouse-';
const DEFAULT_SCOPE = 'openid profile email offline_access';
/** The scope a client keeps when losing admin leaves it none (oidc-provider reads an empty scope as every scope). */
export const DEMOTED_SCOPE = 'openid';

function newClientId(): string {
  // Never beginning with "-" or "_", which command lines and some libraries would take for a flag.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

function newClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

// Schemes a browser would execute or read locally instead of navigating to an application.
const DANGEROUS_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);

function absoluteUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(`${value} is not an absolute URL.`, { field, reason: { code: 'url_not_absolute', value } });
  }
  if (DANGEROUS_SCHEMES.has(url.protocol)) throw new ValidationError(`${value} uses a scheme that is not allowed.`, { field, reason: { code: 'url_scheme_refused', value } });
  if (url.hash) throw new ValidationError(`${value} must not contain a fragment.`, { field, reason: { code: 'url_fragment', value } });
  if (url.username || url.password) throw new ValidationError(`${value} must not contain credentials.`, { field, reason: { code: 'url_credentials', value } });
  return value;
}

function httpUrl(value: string, field: string): string {
  absoluteUrl(value, field);
  const { protocol } = new URL(value);
  if (protocol !== 'https:' && protocol !== 'http:') throw new ValidationError(`${value} must use https or http.`, { field, reason: { code: 'url_not_http', value } });
  return value;
}

function oneOf<T extends string>(allowed: readonly T[], value: string, field: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(`${value} is not one of ${allowed.join(', ')}.`, { field, reason: { code: 'not_one_of', value, allowed } });
  }
  return value as T;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** Merges input over a base and checks that the result is a coherent client. */
export function resolveSettings(input: ClientInput, base: ClientSettings | undefined): ClientSettings {
  const name = (input.name ?? base?.name ?? '').trim();
  if (name.length === 0) throw new ValidationError('A client needs a name.', { field: 'name', reason: { code: 'client_name_missing' } });
  if (name.length > NAME_MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ValidationError(`The name must be at most ${NAME_MAX_LENGTH} printable characters.`, { field: 'name', reason: { code: 'name_too_long', max: NAME_MAX_LENGTH } });
  }

  const admin = input.admin ?? base?.admin ?? false;
  // An admin client is a machine client by default: it obtains the admin scope with client_credentials.
  const defaultGrantTypes: GrantType[] = admin ? ['client_credentials'] : ['authorization_code', 'refresh_token'];
  const grantTypes = unique(
    (input.grantTypes ?? base?.grantTypes ?? defaultGrantTypes).map((g) => oneOf<GrantType>(GRANT_TYPES, g, 'grant-type')),
  );
  if (grantTypes.length === 0) throw new ValidationError('A client needs at least one grant type.', { field: 'grant-type', reason: { code: 'grant_types_missing' } });
  if (grantTypes.includes('refresh_token') && !grantTypes.includes('authorization_code')) {
    throw new ValidationError('refresh_token needs authorization_code as well.', { field: 'grant-type', reason: { code: 'refresh_token_needs_code' } });
  }

  let tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  if (input.tokenEndpointAuthMethod !== undefined) {
    tokenEndpointAuthMethod = oneOf(TOKEN_ENDPOINT_AUTH_METHODS, input.tokenEndpointAuthMethod, 'token-endpoint-auth-method');
    if (input.public === true && tokenEndpointAuthMethod !== 'none') {
      throw new ValidationError('A public client authenticates with "none".', { field: 'token-endpoint-auth-method', reason: { code: 'public_client_auth' } });
    }
    if (input.public === false && tokenEndpointAuthMethod === 'none') {
      throw new ValidationError('A confidential client cannot use "none".', { field: 'token-endpoint-auth-method', reason: { code: 'confidential_client_auth' } });
    }
  } else if (input.public === true) {
    tokenEndpointAuthMethod = 'none';
  } else if (input.public === false && base?.tokenEndpointAuthMethod === 'none') {
    tokenEndpointAuthMethod = 'client_secret_basic';
  } else {
    tokenEndpointAuthMethod = base?.tokenEndpointAuthMethod ?? 'client_secret_basic';
  }
  const isPublic = tokenEndpointAuthMethod === 'none';
  if (isPublic && grantTypes.includes('client_credentials')) {
    throw new ValidationError('A public client cannot use client_credentials.', { field: 'grant-type', reason: { code: 'public_client_credentials' } });
  }
  if (admin && !grantTypes.includes('client_credentials')) {
    throw new ValidationError('An admin client needs the client_credentials grant type.', { field: 'grant-type', reason: { code: 'admin_client_grant' } });
  }

  const redirectUris = unique((input.redirectUris ?? base?.redirectUris ?? []).map((u) => absoluteUrl(u, 'redirect-uri')));
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    throw new ValidationError('The authorization_code grant needs at least one redirect URI.', { field: 'redirect-uri', reason: { code: 'redirect_uri_missing' } });
  }
  const postLogoutRedirectUris = unique(
    (input.postLogoutRedirectUris ?? base?.postLogoutRedirectUris ?? []).map((u) => absoluteUrl(u, 'post-logout-redirect-uri')),
  );

  const backchannelRaw = input.backchannelLogoutUri !== undefined ? input.backchannelLogoutUri : (base?.backchannelLogoutUri ?? null);
  const backchannelLogoutUri = backchannelRaw ? httpUrl(backchannelRaw, 'backchannel-logout-uri') : null;

  const backchannelLogoutSessionRequired = input.backchannelLogoutSessionRequired ?? base?.backchannelLogoutSessionRequired ?? true;

  const jwksRaw = input.jwksUri !== undefined ? input.jwksUri : (base?.jwksUri ?? null);
  const jwksUri = jwksRaw ? httpUrl(jwksRaw, 'jwks-uri') : null;
  if (tokenEndpointAuthMethod === 'private_key_jwt' && !jwksUri) {
    throw new ValidationError('private_key_jwt needs a JWKS URI (where the client publishes its keys).', { field: 'jwks-uri', reason: { code: 'jwks_uri_missing' } });
  }

  const defaultScope = admin && !grantTypes.includes('authorization_code') ? ADMIN_SCOPE : DEFAULT_SCOPE;
  let scopeWords = unique((input.scope ?? base?.scope ?? defaultScope).split(/\s+/).filter(Boolean));
  for (const word of scopeWords) oneOf(CLIENT_SCOPES, word, 'scope');
  // Demotion always succeeds, whatever scope comes with it (the console's form sends the scope it showed).
  const demoted = base?.admin === true && !admin;
  if (!admin && scopeWords.includes(ADMIN_SCOPE)) {
    if (input.scope !== undefined && !demoted) throw new ValidationError('Only an admin client may have the admin scope.', { field: 'scope', reason: { code: 'admin_scope_refused' } });
    // The client stops being an admin client: its registered scope loses admin. A client left with no scope keeps
    // openid alone, which opens nothing to client_credentials (no user, no API).
    scopeWords = scopeWords.filter((word) => word !== ADMIN_SCOPE);
    if (scopeWords.length === 0) scopeWords = [DEMOTED_SCOPE];
  }
  if (admin && !scopeWords.includes(ADMIN_SCOPE)) scopeWords.push(ADMIN_SCOPE);
  // oidc-provider treats a client without a registered scope as allowed every scope, admin included.
  if (scopeWords.length === 0) throw new ValidationError('A client needs at least one scope.', { field: 'scope', reason: { code: 'scope_missing' } });
  if (grantTypes.includes('authorization_code') && !scopeWords.includes('openid')) {
    throw new ValidationError('A client that signs users in needs the openid scope.', { field: 'scope', reason: { code: 'openid_scope_missing' } });
  }

  const idTokenSignedResponseAlg = oneOf<IdTokenAlg>(
    ID_TOKEN_ALGS,
    input.idTokenSignedResponseAlg ?? base?.idTokenSignedResponseAlg ?? 'RS256',
    'id-token-signed-response-alg',
  );

  const minAcrRaw = input.minAcr !== undefined ? input.minAcr : (base?.minAcr ?? null);
  const minAcr = minAcrRaw ? oneOf<AcrLevel>(ACR_LEVELS, minAcrRaw, 'min-acr') : null;
  if (minAcr && !grantTypes.includes('authorization_code')) {
    throw new ValidationError('A minimum authentication level applies to clients that sign users in (authorization_code).', { field: 'min-acr', reason: { code: 'min_acr_needs_code' } });
  }

  return {
    name,
    redirectUris,
    postLogoutRedirectUris,
    backchannelLogoutUri,
    backchannelLogoutSessionRequired,
    grantTypes,
    tokenEndpointAuthMethod,
    jwksUri,
    firstParty: input.firstParty ?? base?.firstParty ?? false,
    admin,
    scope: scopeWords.join(' '),
    idTokenSignedResponseAlg,
    minAcr,
    tokenRateLimited: input.tokenRateLimited ?? base?.tokenRateLimited ?? true,
  };
}

function usesSecret(method: TokenEndpointAuthMethod): boolean {
  return method === 'client_secret_basic' || method === 'client_secret_post';
}

export interface ClientServiceDeps {
  readonly clients: ClientRepository;
  /** The time of the audit events. */
  readonly clock: Clock;
  readonly validator: ClientMetadataValidator;
  /**
   * Checks a back-channel logout URI against the SSRF rule (domain/logout/destination.ts); throws ValidationError.
   * Absent, only the URL shape is checked.
   */
  readonly checkBackchannelUri?: (uri: string) => Promise<void>;
}

/**
 * Registers and changes clients. Every write given an actor (an administrator: CLI, console, API) is audited, and the
 * change and its audit event are saved in one transaction.
 */
export class ClientService {
  constructor(private readonly deps: ClientServiceDeps) {}

  private event(type: AuditEventType, actor: Actor | undefined, clientId: string, details: Record<string, unknown> | null = null): NewAuditEvent | undefined {
    return actor ? { at: this.deps.clock.now(), type, actor, userId: null, sessionId: null, clientId, details } : undefined;
  }

  async create(input: ClientInput, actor?: Actor): Promise<CreatedClient> {
    const settings = resolveSettings(input, undefined);
    await this.checkDestination(settings);
    const clientId = newClientId();
    const secret = usesSecret(settings.tokenEndpointAuthMethod) ? newClientSecret() : null;
    await this.deps.validator.validate(clientId, settings, secret);
    const client = await this.deps.clients.create({ clientId, secret, settings }, this.event('client.created', actor, clientId, { name: settings.name }));
    return { client, secret };
  }

  private async checkDestination(settings: ClientSettings): Promise<void> {
    if (settings.backchannelLogoutUri && this.deps.checkBackchannelUri) await this.deps.checkBackchannelUri(settings.backchannelLogoutUri);
  }

  async get(clientId: string): Promise<RegisteredClient> {
    const found = await this.deps.clients.findById(clientId);
    if (!found) throw new NotFoundError(`No client with id ${clientId}.`, { reason: { code: 'client_not_found', clientId } });
    const { secret: _omitted, ...client } = found;
    return client;
  }

  list(): Promise<RegisteredClient[]> {
    return this.deps.clients.list();
  }

  /** Gatehouse's own clients (gatehouse-account, ...) are kept by Gatehouse; an admin changing them would break its pages. */
  private assertNotInternal(clientId: string): void {
    if (clientId.startsWith(INTERNAL_CLIENT_PREFIX)) throw new ValidationError(`Client ${clientId} belongs to Gatehouse itself and cannot be changed or deleted.`, { reason: { code: 'client_internal', clientId } });
  }

  /** Returns a new secret when the change made the client need one it did not have. */
  async update(clientId: string, input: ClientInput, actor?: Actor): Promise<CreatedClient> {
    this.assertNotInternal(clientId);
    const current = await this.deps.clients.findById(clientId);
    if (!current) throw new NotFoundError(`No client with id ${clientId}.`, { reason: { code: 'client_not_found', clientId } });
    const settings = resolveSettings(input, current);
    if (settings.backchannelLogoutUri !== current.backchannelLogoutUri) await this.checkDestination(settings);
    let secret = current.secret;
    let issued: string | null = null;
    if (!usesSecret(settings.tokenEndpointAuthMethod)) secret = null;
    else if (!secret) secret = issued = newClientSecret();
    await this.deps.validator.validate(clientId, settings, secret);
    const client = await this.deps.clients.update(clientId, settings, { secret }, this.event('client.updated', actor, clientId, { secretIssued: issued !== null }));
    return { client, secret: issued };
  }

  async rotateSecret(clientId: string, actor?: Actor): Promise<CreatedClient> {
    this.assertNotInternal(clientId);
    const current = await this.deps.clients.findById(clientId);
    if (!current) throw new NotFoundError(`No client with id ${clientId}.`, { reason: { code: 'client_not_found', clientId } });
    if (!usesSecret(current.tokenEndpointAuthMethod)) {
      throw new ValidationError(`Client ${clientId} uses ${current.tokenEndpointAuthMethod} and has no secret to rotate.`, {
        reason: { code: 'client_without_secret', clientId, method: current.tokenEndpointAuthMethod },
      });
    }
    const secret = newClientSecret();
    const { secret: _old, clientId: _id, createdAt: _c, updatedAt: _u, ...settings } = current;
    const client = await this.deps.clients.update(clientId, settings, { secret }, this.event('client.secret_rotated', actor, clientId));
    return { client, secret };
  }

  async delete(clientId: string, actor?: Actor): Promise<void> {
    this.assertNotInternal(clientId);
    await this.deps.clients.delete(clientId, this.event('client.deleted', actor, clientId));
  }
}
