import type { User } from '../domain/accounts/user.js';
import type { AuditEvent } from '../domain/audit/audit.js';
import type { RegisteredClient } from '../domain/clients/client.js';
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

export function clientJson(client: RegisteredClient) {
  return {
    client_id: client.clientId,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    backchannel_logout_uri: client.backchannelLogoutUri,
    grant_types: client.grantTypes,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    public: client.tokenEndpointAuthMethod === 'none',
    jwks_uri: client.jwksUri,
    first_party: client.firstParty,
    admin: client.admin,
    scope: client.scope,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
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
