import type { Context, Middleware } from 'koa';
import type { Provider } from './provider.js';

interface ProviderSessionView {
  readonly accountId?: string;
  readonly state?: { readonly postLogoutRedirectUri?: string; readonly state?: string };
}

interface WithOidc {
  readonly oidc?: { readonly route?: string; readonly session?: ProviderSessionView };
}

/** Drops the Set-Cookie lines of one cookie (and its signature) from the response. */
function dropCookie(ctx: Context, name: string): void {
  const lines = ctx.response.get('Set-Cookie') as unknown as string[] | string | undefined;
  if (!lines) return;
  const kept = (Array.isArray(lines) ? lines : [lines]).filter((line) => !line.startsWith(`${name}=`) && !line.startsWith(`${name}.sig=`));
  if (kept.length) ctx.set('Set-Cookie', kept);
  else ctx.remove('Set-Cookie');
}

/**
 * Where oidc-provider's logout confirmation would have sent a visitor who is not signed in: the client's registered
 * post_logout_redirect_uri (oidc-provider has checked it against the client, or dropped it) with `state`, else the
 * "signed out" page.
 */
function afterLogout(provider: Provider, state: ProviderSessionView['state']): string {
  if (!state?.postLogoutRedirectUri) return provider.urlFor('end_session_success');
  const target = new URL(state.postLogoutRedirectUri);
  if (state.state !== undefined) target.searchParams.set('state', state.state);
  return target.href;
}

/**
 * Nothing is kept for a visitor who is not signed in. oidc-provider creates a Session on every request that reads
 * one and, at /session/end, saves it with a 7-day cookie to hold the CSRF secret of an auto-submitted confirmation.
 * Gatehouse's adapter stores no Session without an account (SessionService.recordSave), so this middleware removes
 * the cookie that would name it, and answers /session/end for such a visitor with the redirect the confirmation
 * would have made: there is no session to end, so there is nothing to confirm.
 */
export function anonymousSessions(provider: Provider): Middleware {
  const cookieName = provider.cookieName('session');
  return async (ctx, next) => {
    await next();
    const { oidc } = ctx as unknown as WithOidc;
    const session = oidc?.session;
    if (!session || session.accountId || ctx.headerSent) return;
    dropCookie(ctx, cookieName);
    if (oidc.route === 'end_session' && ctx.status === 200) {
      ctx.status = 303;
      ctx.redirect(afterLogout(provider, session.state));
    }
  };
}
