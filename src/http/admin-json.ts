import type { User } from '../domain/accounts/user.js';
import type { AuditEvent } from '../domain/audit/audit.js';
import type { RegisteredClient } from '../domain/clients/client.js';
import type { ClientInput } from '../domain/clients/client-service.js';
import { ValidationError } from '../domain/errors.js';
import type { LogoutNotification } from '../domain/logout/logout-notification.js';
import type { SsoSession } from '../domain/sessions/session.js';

// The JSON shapes of sessions and audit events that administrators see, with stable snake_case fields: the admin API
// answers with them and the CLI prints them for --json, so scripts can use either. Grant ids are left out.

export function userJson(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    disabled: user.disabledAt !== null,
    disabled_at: user.disabledAt?.toISOString() ?? null,
    admin: user.admin,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export function sessionJson(session: SsoSession) {
  return {
    id: session.id,
    user_id: session.userId,
    device: session.deviceLabel,
    user_agent: session.userAgent,
    ip_created: session.ipCreated,
    ip_last_seen: session.ipLastSeen,
    created_at: session.createdAt.toISOString(),
    last_seen_at: session.lastSeenAt.toISOString(),
    idle_expires_at: session.idleExpiresAt.toISOString(),
    absolute_expires_at: session.absoluteExpiresAt.toISOString(),
    auth_time: session.authTime?.toISOString() ?? null,
    amr: [...session.amr],
    acr: session.acr,
    remember: session.remember,
    ended_at: session.endedAt?.toISOString() ?? null,
    end_reason: session.endReason,
    clients: session.clients.map((c) => ({ client_id: c.clientId, sid: c.sid, first_seen_at: c.firstSeenAt.toISOString() })),
  };
}

export function auditEventJson(event: AuditEvent) {
  return {
    id: event.id,
    at: event.at.toISOString(),
    type: event.type,
    actor: { type: event.actor.type, id: event.actor.id },
    user_id: event.userId,
    session_id: event.sessionId,
    client_id: event.clientId,
    ip: event.ip,
    user_agent: event.userAgent,
    details: event.details,
  };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO 8601 date or date-time (2026-01-31, 2026-01-31T12:00:00Z), or undefined for anything else. */
export function parseIsoInstant(raw: string): Date | undefined {
  if (!ISO_INSTANT.test(raw)) return undefined;
  const at = new Date(raw);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** A back-channel logout delivery (outbox row); the token itself is never stored, so never shown. */
export function logoutDeliveryJson(n: LogoutNotification) {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: n.id,
    state: n.state,
    session_id: n.sessionId,
    user_id: n.userId,
    client_id: n.clientId,
    sid: n.sid,
    reason: n.reason,
    created_at: n.createdAt.toISOString(),
    attempts: n.attempts,
    next_attempt_at: n.state === 'pending' ? n.nextAttemptAt.toISOString() : null,
    last_attempt_at: iso(n.lastAttemptAt),
    last_error: n.lastError,
    delivered_at: iso(n.deliveredAt),
    failed_at: iso(n.failedAt),
  };
}

type FieldKind = 'string' | 'nullable-string' | 'strings' | 'boolean';

// The client settings an admin may send, by their JSON name (the names of the client JSON shape the CLI prints).
const CLIENT_FIELDS: Record<string, [keyof ClientInput, FieldKind]> = {
  client_name: ['name', 'string'],
  redirect_uris: ['redirectUris', 'strings'],
  post_logout_redirect_uris: ['postLogoutRedirectUris', 'strings'],
  backchannel_logout_uri: ['backchannelLogoutUri', 'nullable-string'],
  backchannel_logout_session_required: ['backchannelLogoutSessionRequired', 'boolean'],
  grant_types: ['grantTypes', 'strings'],
  public: ['public', 'boolean'],
  token_endpoint_auth_method: ['tokenEndpointAuthMethod', 'string'],
  jwks_uri: ['jwksUri', 'nullable-string'],
  first_party: ['firstParty', 'boolean'],
  admin: ['admin', 'boolean'],
  scope: ['scope', 'string'],
  id_token_signed_response_alg: ['idTokenSignedResponseAlg', 'string'],
  min_acr: ['minAcr', 'nullable-string'],
  token_rate_limit: ['tokenRateLimited', 'boolean'],
};

function fits(value: unknown, kind: FieldKind): boolean {
  if (kind === 'boolean') return typeof value === 'boolean';
  if (kind === 'strings') return Array.isArray(value) && value.length <= 50 && value.every((v) => typeof v === 'string' && v.length <= 2000);
  if (kind === 'nullable-string' && value === null) return true;
  return typeof value === 'string' && value.length <= 2000;
}

/** Client settings from an admin API JSON body: known fields of the right types only; the values are checked by ClientService. */
export function clientInputFromJson(body: unknown): ClientInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('Send a JSON object of client settings.');
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const field = Object.hasOwn(CLIENT_FIELDS, key) ? CLIENT_FIELDS[key] : undefined;
    if (!field) throw new ValidationError(`Unknown client setting ${key}.`, { field: key });
    if (!fits(value, field[1])) throw new ValidationError(`${key} has the wrong type.`, { field: key });
    input[field[0]] = field[1] === 'nullable-string' && value === '' ? null : value;
  }
  return input as ClientInput;
}

/** A client as administrators see it (never its secret): `clients show --json` and the admin API. */
export function clientJson(client: RegisteredClient) {
  return {
    client_id: client.clientId,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: client.backchannelLogoutSessionRequired,
    grant_types: client.grantTypes,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    public: client.tokenEndpointAuthMethod === 'none',
    jwks_uri: client.jwksUri,
    first_party: client.firstParty,
    admin: client.admin,
    scope: client.scope,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    min_acr: client.minAcr,
    token_rate_limit: client.tokenRateLimited,
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
  };
}
