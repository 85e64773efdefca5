import type { Actor, AuditEventType, AuditLog, NewAuditEvent } from '../audit/audit.js';
import { SYSTEM } from '../audit/audit.js';
import type { Clock } from '../clock.js';
import { NotFoundError, ReauthenticationRequiredError } from '../errors.js';
import { activityWriteDue } from './session.js';
import type {
  RequestMeta,
  SessionClient,
  SessionEndReason,
  SessionIndex,
  SessionPolicy,
  SessionSnapshot,
  SsoSession,
} from './session.js';

const END_EVENT: Record<SessionEndReason, AuditEventType> = {
  logged_out: 'session.logged_out',
  revoked_by_user: 'session.revoked_by_user',
  revoked_by_admin: 'session.revoked_by_admin',
  expired_idle: 'session.expired_idle',
  expired_absolute: 'session.expired_absolute',
  evicted: 'session.evicted',
  password_changed: 'session.ended_by_password_change',
  user_disabled: 'session.ended_by_user_disabled',
  mfa_reset: 'session.ended_by_mfa_reset',
};

export type SaveDecision =
  /** Store oidc-provider's Session until this time. */
  | { readonly store: true; readonly expiresAt: Date }
  /** Do not store it: nobody is signed in to it, or the session has ended and must stay ended. */
  | { readonly store: false };

export type LimitCheck =
  | { readonly allowed: true; readonly evicted: readonly string[] }
  | { readonly allowed: false; readonly sessions: readonly SsoSession[] };

export interface SessionServiceDeps {
  readonly index: SessionIndex;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly policy: SessionPolicy;
  /** A human label for a user agent, such as "Firefox on macOS". */
  readonly deviceLabel: (userAgent: string | null) => string;
}

function expiredReason(session: Pick<SsoSession, 'idleExpiresAt' | 'absoluteExpiresAt'>, now: Date): SessionEndReason | null {
  if (session.absoluteExpiresAt.getTime() <= now.getTime()) return 'expired_absolute';
  if (session.idleExpiresAt.getTime() <= now.getTime()) return 'expired_idle';
  return null;
}

/** The rules of SSO sessions: lifetimes, limits, and every way a session ends. */
export class SessionService {
  constructor(private readonly deps: SessionServiceDeps) {}

  private lifetimes(remember: boolean) {
    const { policy } = this.deps;
    return remember
      ? { idle: policy.rememberIdleTimeoutMs, absolute: policy.rememberAbsoluteLifetimeMs }
      : { idle: policy.idleTimeoutMs, absolute: policy.absoluteLifetimeMs };
  }

  /** How long oidc-provider should make the session cookie last, in seconds (the idle timeout). */
  cookieTtlSeconds(transient: boolean): number {
    return Math.ceil(this.lifetimes(!transient).idle / 1000);
  }

  private event(type: AuditEventType, actor: Actor, session: { id: string; userId: string }, details: Record<string, unknown> | null = null): NewAuditEvent {
    return {
      at: this.deps.clock.now(),
      type,
      actor,
      userId: session.userId,
      sessionId: session.id,
      clientId: null,
      ip: actor.ip ?? null,
      userAgent: actor.userAgent ?? null,
      details,
    };
  }

  /**
   * Called whenever oidc-provider saves a Session. Creates or refreshes the record, and decides how long the
   * Session may be stored: never past the idle or absolute deadline, never again once it has ended, and never at all
   * while nobody is signed in to it (a visitor's request must not cost a row).
   */
  async recordSave(snapshot: SessionSnapshot, meta: RequestMeta): Promise<SaveDecision> {
    const now = this.deps.clock.now();
    if (!snapshot.accountId) return { store: false };
    const remember = !snapshot.transient;
    const { idle, absolute } = this.lifetimes(remember);
    const authTime = snapshot.loginTs ? new Date(snapshot.loginTs * 1000) : null;
    const clients = (current: readonly SessionClient[]) =>
      Object.entries(snapshot.authorizations)
        .filter(([clientId, a]) => a.sid && !current.some((c) => c.clientId === clientId))
        .map(([clientId, a]) => ({ clientId, sid: a.sid!, grantId: a.grantId ?? null, firstSeenAt: now }));

    const existing = await this.deps.index.find(snapshot.uid);
    if (!existing) {
      const session = {
        id: snapshot.uid,
        userId: snapshot.accountId,
        createdAt: now,
        lastSeenAt: now,
        idleExpiresAt: new Date(now.getTime() + idle),
        absoluteExpiresAt: new Date(now.getTime() + absolute),
        ipCreated: meta.ip,
        ipLastSeen: meta.ip,
        userAgent: meta.userAgent,
        deviceLabel: this.deps.deviceLabel(meta.userAgent),
        amr: [...snapshot.amr],
        acr: snapshot.acr ?? null,
        authTime,
        passwordAt: snapshot.amr.includes('pwd') ? authTime : null,
        secondFactorAt: snapshot.amr.includes('otp') ? authTime : null,
        remember,
        clients: clients([]),
      };
      await this.deps.index.create(session, this.event('session.created', { type: 'user', id: session.userId, ...meta }, session, { remember, amr: session.amr, device: session.deviceLabel }));
      return { store: true, expiresAt: new Date(Math.min(session.idleExpiresAt.getTime(), session.absoluteExpiresAt.getTime())) };
    }

    if (existing.endedAt || existing.userId !== snapshot.accountId) return { store: false };
    const expired = expiredReason(existing, now);
    if (expired) {
      await this.endRecord(existing, expired, SYSTEM);
      return { store: false };
    }

    const absoluteExpiresAt = new Date(existing.createdAt.getTime() + absolute);
    const idleExpiresAt = new Date(Math.min(now.getTime() + idle, absoluteExpiresAt.getTime()));
    const reauthenticated = authTime !== null && existing.authTime?.getTime() !== authTime.getTime();
    // A step-up within the session adds the second factor and keeps the time of the sign-in (auth_time).
    const steppedUp = !reauthenticated && snapshot.amr.includes('otp') && !existing.amr.includes('otp');
    const updated = await this.deps.index.update(
      existing.id,
      {
        lastSeenAt: now,
        idleExpiresAt,
        absoluteExpiresAt,
        ipLastSeen: meta.ip,
        amr: [...snapshot.amr],
        acr: snapshot.acr ?? null,
        authTime,
        passwordAt: reauthenticated && snapshot.amr.includes('pwd') ? authTime : existing.passwordAt,
        secondFactorAt: reauthenticated && snapshot.amr.includes('otp') ? authTime : steppedUp ? now : existing.secondFactorAt,
        remember,
        addClients: clients(existing.clients),
        removeClients: existing.clients.filter((c) => !snapshot.authorizations[c.clientId]?.sid).map((c) => c.clientId),
      },
      reauthenticated || steppedUp
        ? this.event(
          // A second factor the session did not have before is a step-up; anything else a fresh sign-in within it.
          snapshot.amr.includes('otp') && !existing.amr.includes('otp') ? 'session.step_up' : 'session.refreshed',
          { type: 'user', id: existing.userId, ...meta },
          existing,
          { amr: snapshot.amr, acr: snapshot.acr ?? null },
        )
        : null,
      now,
    );
    // It ended after it was read above (a concurrent logout or revocation): it stays ended.
    if (!updated) return { store: false };
    return { store: true, expiresAt: idleExpiresAt };
  }

  /**
   * Whether the session proved its user recently enough for a sensitive action: a second-factor check when the user
   * has a second factor, else a password check, within the re-authentication window.
   */
  recentlyAuthenticated(session: Pick<SsoSession, 'passwordAt' | 'secondFactorAt'>, userHasSecondFactor: boolean): boolean {
    const checkedAt = userHasSecondFactor ? session.secondFactorAt : session.passwordAt;
    if (!checkedAt) return false;
    const age = this.deps.clock.now().getTime() - checkedAt.getTime();
    return age >= 0 && age <= this.deps.policy.reauthenticationMaxAgeMs;
  }

  /**
   * The rule of sensitive actions, for the services that perform them: passes only when `sessionId` is a live session
   * of `userId` that proved its user within the window (see recentlyAuthenticated); otherwise throws
   * ReauthenticationRequiredError, saying which check is needed.
   */
  async assertRecentAuthentication(sessionId: string, userId: string, userHasSecondFactor: boolean): Promise<void> {
    const session = await this.deps.index.find(sessionId);
    const live = session && !session.endedAt && session.userId === userId && !expiredReason(session, this.deps.clock.now());
    if (!live || !this.recentlyAuthenticated(session, userHasSecondFactor)) throw new ReauthenticationRequiredError(userHasSecondFactor);
  }

  /** Records that the user of a live session just proved their password or second factor again. */
  async recordReauthentication(session: Pick<SsoSession, 'id' | 'userId'>, method: 'password' | 'second_factor', actor: Actor): Promise<void> {
    const at = this.deps.clock.now();
    await this.deps.index.recordCheck(
      session.id,
      method === 'password' ? { passwordAt: at } : { secondFactorAt: at },
      this.event('session.reauthenticated', actor, session, { method }),
    );
  }

  /**
   * A request to Gatehouse's own pages (account pages, admin console, the sign-in steps of a signed-in user) is
   * activity: like isLive, true only for a live session (an expiry found here is recorded), whose idle deadline it
   * then extends (never past the absolute one). Written at most once per ACTIVITY_WRITE_INTERVAL_MS per session.
   * Returns the idle deadline and whether this request moved it; undefined when the session is not live.
   */
  async recordActivity(id: string, meta: RequestMeta): Promise<{ readonly idleExpiresAt: Date; readonly extended: boolean } | undefined> {
    const session = await this.deps.index.findLiveness(id);
    if (!session || session.endedAt) return undefined;
    const now = this.deps.clock.now();
    const expired = expiredReason(session, now);
    if (expired) {
      await this.endRecord(session, expired, SYSTEM);
      return undefined;
    }
    const { idle } = this.lifetimes(session.remember);
    if (!activityWriteDue(session.lastSeenAt, idle, now)) return { idleExpiresAt: session.idleExpiresAt, extended: false };
    const idleExpiresAt = new Date(Math.min(now.getTime() + idle, session.absoluteExpiresAt.getTime()));
    const recorded = await this.deps.index.recordActivity(id, { lastSeenAt: now, idleExpiresAt, ipLastSeen: meta.ip });
    return recorded ? { idleExpiresAt, extended: true } : undefined;
  }

  /** True when the session exists, has not ended and is within both deadlines; an expiry found here is recorded. */
  async isLive(id: string): Promise<boolean> {
    const session = await this.deps.index.findLiveness(id);
    if (!session || session.endedAt) return false;
    const expired = expiredReason(session, this.deps.clock.now());
    if (expired) {
      await this.endRecord(session, expired, SYSTEM);
      return false;
    }
    return true;
  }

  async get(id: string): Promise<SsoSession> {
    const session = await this.deps.index.find(id);
    if (!session) throw new NotFoundError(`No session with id ${id}.`, { reason: { code: 'session_not_found', id } });
    return session;
  }

  listLive(userId: string): Promise<SsoSession[]> {
    return this.deps.index.listLive(userId, this.deps.clock.now());
  }

  private endRecord(session: Pick<SsoSession, 'id' | 'userId'>, reason: SessionEndReason, actor: Actor, details: Record<string, unknown> | null = null): Promise<boolean> {
    return this.deps.index.end({ sessionId: session.id, reason, at: this.deps.clock.now(), audit: this.event(END_EVENT[reason], actor, session, details) });
  }

  /** Ends one session; false when it had already ended. */
  async end(id: string, reason: SessionEndReason, actor: Actor): Promise<boolean> {
    const session = await this.deps.index.find(id);
    if (!session) throw new NotFoundError(`No session with id ${id}.`, { reason: { code: 'session_not_found', id } });
    return this.endRecord(session, reason, actor);
  }

  /** Ends a session of this user (a user may end only their own). */
  async endOwn(userId: string, id: string, actor: Actor): Promise<boolean> {
    const session = await this.deps.index.find(id);
    if (!session || session.userId !== userId) throw new NotFoundError('No such session.', { reason: { code: 'session_not_found' } });
    return this.endRecord(session, 'revoked_by_user', actor);
  }

  /** An administrator ends a session; with `userId`, only a session of that user (NotFoundError otherwise). */
  async revokeByAdmin(id: string, actor: Actor, userId?: string): Promise<boolean> {
    const session = await this.deps.index.find(id);
    if (!session || (userId !== undefined && session.userId !== userId)) {
      throw new NotFoundError(userId === undefined ? `No session with id ${id}.` : `No session with id ${id} for this user.`, {
        reason: { code: 'session_not_found', id, ofUser: userId !== undefined },
      });
    }
    return this.endRecord(session, 'revoked_by_admin', actor);
  }

  /** Ends these sessions (each with all of end()'s effects) in batched transactions; returns the ids that ended here. */
  private async endSessions(
    sessions: readonly Pick<SsoSession, 'id' | 'userId'>[],
    reason: SessionEndReason,
    actor: Actor,
    at: Date,
    details: Record<string, unknown> | null = null,
  ): Promise<string[]> {
    if (sessions.length === 0) return [];
    return this.deps.index.endMany({
      reason,
      at,
      sessions: sessions.map((session) => ({ sessionId: session.id, audit: this.event(END_EVENT[reason], actor, session, details) })),
    });
  }

  private async endBatch(sessions: readonly Pick<SsoSession, 'id' | 'userId'>[], reason: SessionEndReason, actor: Actor, at: Date): Promise<number> {
    return (await this.endSessions(sessions, reason, actor, at)).length;
  }

  /** Ends every live session of a user except `exceptId`, in batches; returns how many ended. */
  async endAllForUser(userId: string, reason: SessionEndReason, actor: Actor, exceptId?: string): Promise<number> {
    const now = this.deps.clock.now();
    const sessions = (await this.deps.index.listLive(userId, now)).filter((session) => session.id !== exceptId);
    return this.endBatch(sessions, reason, actor, now);
  }

  /** Ends every session past a deadline (so their end is recorded and their clients told, not only at next use). */
  async sweepExpired(batch = 500): Promise<number> {
    const now = this.deps.clock.now();
    let ended = 0;
    for (;;) {
      const expired = await this.deps.index.listExpired(now, batch);
      for (const reason of ['expired_absolute', 'expired_idle'] as const) {
        const group = expired.filter((session) => (expiredReason(session, now) ?? 'expired_idle') === reason);
        ended += await this.endBatch(group, reason, SYSTEM, now);
      }
      if (expired.length < batch) return ended;
    }
  }

  /**
   * Applies the concurrent-session limit before a user's new session is created. evict-oldest ends the oldest
   * sessions to make room; deny-new reports the sessions the user must end first.
   */
  async checkLimitBeforeLogin(userId: string, actor: Actor): Promise<LimitCheck> {
    const { limit, limitPolicy } = this.deps.policy;
    if (limit <= 0) return { allowed: true, evicted: [] };
    const live = await this.deps.index.listLive(userId, this.deps.clock.now());
    if (live.length < limit) return { allowed: true, evicted: [] };
    if (limitPolicy === 'deny-new') {
      await this.deps.audit.append({ ...this.event('session.limit_denied', actor, { id: '', userId }, { limit, live: live.length }), sessionId: null });
      return { allowed: false, sessions: live };
    }
    const oldestFirst = [...live].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    const evicted = await this.endSessions(oldestFirst.slice(0, live.length - limit + 1), 'evicted', actor, this.deps.clock.now(), { limit });
    return { allowed: true, evicted };
  }
}
