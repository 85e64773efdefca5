import { ValidationError } from '../errors.js';

/** Who did something: a signed-in user, an administrator (CLI or admin API client), Gatehouse itself, or a client. */
export interface Actor {
  readonly type: 'user' | 'admin' | 'system' | 'client';
  readonly id: string | null;
  readonly ip?: string | null;
  readonly userAgent?: string | null;
}

export const SYSTEM: Actor = { type: 'system', id: null };

export const AUDIT_EVENT_TYPES = [
  'session.created',
  'session.refreshed',
  'session.step_up',
  'session.reauthenticated',
  'session.expired_idle',
  'session.expired_absolute',
  'session.revoked_by_user',
  'session.revoked_by_admin',
  'session.evicted',
  'session.ended_by_password_change',
  'session.ended_by_user_disabled',
  'session.ended_by_mfa_reset',
  'session.logged_out',
  'session.limit_denied',
  'user.password_changed',
  'user.disabled',
  'user.enabled',
  'user.admin_granted',
  'user.admin_revoked',
  'user.created',
  'user.profile_updated',
  'client.created',
  'client.updated',
  'client.secret_rotated',
  'client.deleted',
  'login.failed',
  'login.throttled',
  'mfa.enrolled',
  'mfa.disabled',
  'mfa.reset',
  'mfa.recovery_codes_regenerated',
  'mfa.recovery_code_used',
  'mfa.locked',
  'mfa.failed',
  'logout.delivery_failed',
  'logout.delivery_retried',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** An event-type filter (console and admin API alike): undefined for none; an unknown type is a ValidationError. */
export function parseAuditTypeFilter(raw: string | undefined): AuditEventType | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!(AUDIT_EVENT_TYPES as readonly string[]).includes(raw)) {
    const value = raw.slice(0, 60);
    throw new ValidationError(`${value} is not an audit event type; choose one such as user.created or session.logged_out.`, { field: 'type', reason: { code: 'audit_type_unknown', value } });
  }
  return raw as AuditEventType;
}

export interface AuditEvent {
  readonly id: string;
  readonly at: Date;
  readonly type: AuditEventType;
  readonly actor: Actor;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly clientId: string | null;
  /** Where the request came from (the actor's request), when there was one. */
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly details: Record<string, unknown> | null;
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'ip' | 'userAgent'> & { ip?: string | null; userAgent?: string | null };

/** The most events one query returns (and the default when a query names no limit). */
export const AUDIT_MAX_LIMIT = 1000;
export const AUDIT_DEFAULT_LIMIT = 100;

export interface AuditQuery {
  readonly userId?: string;
  readonly sessionId?: string;
  readonly clientId?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly types?: readonly string[];
  readonly limit?: number;
  /** Events to skip (pagination), newest first. */
  readonly offset?: number;
}

export interface AuditLog {
  append(event: NewAuditEvent): Promise<void>;
  /** Newest first. */
  list(query: AuditQuery): Promise<AuditEvent[]>;
}
