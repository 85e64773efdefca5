import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { NotFoundError } from '../domain/errors.js';
import type { SessionService } from '../domain/sessions/session-service.js';
import type { RequestMeta } from '../domain/sessions/session.js';

/**
 * oidc-provider ends a Session itself on RP-initiated logout (and when another account signs in on the same browser).
 * This records that end — grants revoked, every client of the session (the one that asked too) queued for
 * back-channel logout, audit — before the response with the post-logout redirect leaves. The outbox worker starts
 * sending as soon as that transaction commits; the redirect does not wait for the deliveries.
 */
export function recordProviderLogouts(sessions: SessionService, meta: () => RequestMeta): Middleware {
  return async (ctx, next) => {
    await next();
    const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
    if (!oidc || oidc.route !== 'end_session_confirm') return;
    const session = oidc.entities?.Session as { uid?: string; accountId?: string; destroyed?: boolean } | undefined;
    if (!session?.destroyed || !session.uid || !session.accountId) return;
    try {
      await sessions.end(session.uid, 'logged_out', { type: 'user', id: session.accountId, ...meta() });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  };
}
