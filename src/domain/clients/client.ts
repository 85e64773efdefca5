import type { NewAuditEvent } from '../audit/audit.js';
import type { AcrLevel } from '../mfa/levels.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** Scopes a user may grant a relying party. */
export const SUPPORTED_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

/** The scope of the admin API; only admin clients may register it, and they obtain it with client_credentials. */
export const ADMIN_SCOPE = 'admin';

/** Every scope a client may register. */
export const CLIENT_SCOPES = [...SUPPORTED_SCOPES, ADMIN_SCOPE] as const;

export const ID_TOKEN_ALGS = ['RS256', 'ES256'] as const;
export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];

/** A registered relying party, as Gatehouse and its admins see it. */
export interface RegisteredClient {
  readonly clientId: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly backchannelLogoutUri: string | null;
  /** backchannel_logout_session_required: logout tokens must carry sid (Gatehouse sends sid and sub either way). */
  readonly backchannelLogoutSessionRequired: boolean;
  readonly grantTypes: readonly GrantType[];
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly jwksUri: string | null;
  readonly firstParty: boolean;
  /** May obtain the admin scope with client_credentials and call the admin API; its scope always includes admin. */
  readonly admin: boolean;
  readonly scope: string;
  readonly idTokenSignedResponseAlg: IdTokenAlg;
  /** The lowest authentication level the client accepts (acr); null accepts any. */
  readonly minAcr: AcrLevel | null;
  /** Subject to the token endpoint's per-client rate limit; false for a client an admin exempted from it. */
  readonly tokenRateLimited: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type ClientSettings = Omit<RegisteredClient, 'clientId' | 'createdAt' | 'updatedAt'>;

export interface ClientWithSecret extends RegisteredClient {
  /** Plaintext secret, for oidc-provider's client authentication; null for public and private_key_jwt clients. */
  readonly secret: string | null;
}

/** Writes take the audit event that records them, if any: the row and its event are saved in one transaction. */
export interface ClientRepository {
  create(client: { clientId: string; secret: string | null; settings: ClientSettings }, audit?: NewAuditEvent): Promise<RegisteredClient>;
  findById(clientId: string): Promise<ClientWithSecret | undefined>;
  list(): Promise<RegisteredClient[]>;
  /** Throws NotFoundError when there is no such client. */
  update(clientId: string, settings: ClientSettings, secret?: { secret: string | null }, audit?: NewAuditEvent): Promise<RegisteredClient>;
  /** Throws NotFoundError when there is no such client. */
  delete(clientId: string, audit?: NewAuditEvent): Promise<void>;
}

/** Checks metadata with the protocol library's own rules, so nothing is saved that it would later refuse. */
export interface ClientMetadataValidator {
  /** Throws ValidationError naming the offending field. */
  validate(clientId: string, settings: ClientSettings, secret: string | null): Promise<void>;
}
