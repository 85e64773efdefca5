import type { Actor, NewAuditEvent } from '../audit/audit.js';

export const SESSION_END_REASONS = [
  'logged_out',
  'revoked_by_user',
  'revoked_by_admin',
  'expired_idle',
  'expired_absolute',
  'evicted',
  'password_changed',
  'user_disabled',
  'mfa_reset',
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

export interface SessionClient {
  readonly clientId: string;
  /** The sid this client was given for the session (ID tokens, logout tokens). */
  readonly sid: string;
  readonly grantId: string | null;
  readonly firstSeenAt: Date;
}

/** An SSO session as Gatehouse tracks it. `id` is oidc-provider's stable session uid, never the cookie value. */
export interface SsoSession {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  readonly idleExpiresAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly ipCreated: string | null;
  readonly ipLastSeen: string | null;
  readonly userAgent: string | null;
  readonly deviceLabel: string;
  readonly amr: readonly string[];
  readonly acr: string | null;
  readonly authTime: Date | null;
  /** The last password check and second-factor check in this session (sign-in, step-up or re-confirmation). */
  readonly passwordAt: Date | null;
  readonly secondFactorAt: Date | null;
  readonly remember: boolean;
  readonly endedAt: Date | null;
  readonly endReason: SessionEndReason | null;
  readonly clients: readonly SessionClient[];
}

/** What oidc-provider's Session says at the moment it is saved. */
export interface SessionSnapshot {
  readonly uid: string;
  readonly accountId: string | undefined;
  /** Epoch seconds of the last authentication. */
  readonly loginTs: number | undefined;
  readonly amr: readonly string[];
  readonly acr: string | undefined;
  /** True when the user did not ask to be remembered (browser-session cookie). */
  readonly transient: boolean;
  readonly authorizations: Readonly<Record<string, { readonly sid?: string; readonly grantId?: string }>>;
}

/** Where the request that touched a session came from. */
export interface RequestMeta {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface SessionPolicy {
  readonly idleTimeoutMs: number;
  readonly absoluteLifetimeMs: number;
  readonly rememberIdleTimeoutMs: number;
  readonly rememberAbsoluteLifetimeMs: number;
  /** Live sessions a user may have at once; 0 means no limit. */
  readonly limit: number;
  readonly limitPolicy: 'evict-oldest' | 'deny-new';
  /** How long a password or second-factor check counts as recent for sensitive actions. */
  readonly reauthenticationMaxAgeMs: number;
}

export interface NewSession extends Omit<SsoSession, 'endedAt' | 'endReason' | 'clients'> {
  readonly clients: readonly SessionClient[];
}

export interface SessionUpdate {
  readonly lastSeenAt: Date;
  readonly idleExpiresAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly ipLastSeen: string | null;
  readonly amr: readonly string[];
  readonly acr: string | null;
  readonly authTime: Date | null;
  readonly passwordAt: Date | null;
  readonly secondFactorAt: Date | null;
  readonly remember: boolean;
  readonly addClients: readonly SessionClient[];
  /** Clients that left the session (RP-initiated logout of one client): each is handed to back-channel logout. */
  readonly removeClients: readonly string[];
}

/** What activity on Gatehouse's own pages changes in a session: when it was last seen, and its idle deadline. */
export interface SessionActivity {
  readonly lastSeenAt: Date;
  readonly idleExpiresAt: Date;
  readonly ipLastSeen: string | null;
}

/**
 * Activity is written at most this often per session (a page load within it changes nothing), or twice per idle
 * timeout when that is shorter than two minutes, so a session in use never idles out between writes.
 */
export const ACTIVITY_WRITE_INTERVAL_MS = 60_000;

/** Whether a request at `now` should be written as activity of a session last seen at `lastSeenAt`. */
export function activityWriteDue(lastSeenAt: Date, idleTimeoutMs: number, now: Date): boolean {
  return now.getTime() - lastSeenAt.getTime() >= Math.min(ACTIVITY_WRITE_INTERVAL_MS, idleTimeoutMs / 2);
}

export interface EndSession {
  readonly sessionId: string;
  readonly reason: SessionEndReason;
  readonly at: Date;
  readonly audit: NewAuditEvent;
}

export interface EndSessions {
  readonly reason: SessionEndReason;
  readonly at: Date;
  /** The sessions to end, each with the audit event appended when it ends. */
  readonly sessions: readonly { readonly sessionId: string; readonly audit: NewAuditEvent }[];
}

/**
 * What deciding whether a session is live, and whether a request to Gatehouse's pages is activity worth writing,
 * needs of it: one narrow read (no clients) on the hot token paths and on every page.
 */
export type SessionLiveness = Pick<SsoSession, 'id' | 'userId' | 'endedAt' | 'idleExpiresAt' | 'absoluteExpiresAt' | 'lastSeenAt' | 'remember'>;

export interface SessionIndex {
  find(id: string): Promise<SsoSession | undefined>;
  findLiveness(id: string): Promise<SessionLiveness | undefined>;
  create(session: NewSession, audit: NewAuditEvent): Promise<void>;
  /**
   * Applies the update (and appends the audit event) in one transaction, only while the session has not ended;
   * false (and nothing changed) when it has, so no client is ever attached to an ended session.
   */
  update(id: string, update: SessionUpdate, audit: NewAuditEvent | null, at: Date): Promise<boolean>;
  /**
   * Records activity of a live session, and makes oidc-provider's stored Session last until the new idle deadline;
   * false (and nothing changed) when the session has ended.
   */
  recordActivity(id: string, activity: SessionActivity): Promise<boolean>;
  /** Records a password or second-factor check in a live session, with its audit event. */
  recordCheck(id: string, check: { readonly passwordAt?: Date; readonly secondFactorAt?: Date }, audit: NewAuditEvent): Promise<void>;
  /** Sessions not ended and not past either deadline at `now`, newest first. */
  listLive(userId: string, now: Date): Promise<SsoSession[]>;
  /** Up to `limit` sessions not yet ended whose idle or absolute deadline has passed. */
  listExpired(now: Date, limit: number): Promise<SsoSession[]>;
  /**
   * In one transaction, if the session has not ended yet: marks it ended, deletes oidc-provider's Session, revokes
   * every grant issued in it (with their access and refresh tokens), hands each participating client to back-channel
   * logout and appends the audit event. Returns false (and changes nothing) when it had already ended.
   */
  end(command: EndSession): Promise<boolean>;
  /**
   * end() for many sessions at once, with every effect of end() for each one that has not ended yet, each session in
   * one transaction with all of its effects (a transaction holds a bounded batch of sessions). Returns the ids of the
   * sessions that ended here; those that had already ended are left as they are.
   */
  endMany(command: EndSessions): Promise<string[]>;
}

export type { Actor };
