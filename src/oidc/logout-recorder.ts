import { NotFoundError } from '../domain/errors.js';
import type { Provider } from './provider.js';

/** Ends Gatehouse's record of a session when its user logs out at oidc-provider (grants, outbox, audit: one transaction). */
export type EndAtProviderLogout = (session: { readonly uid: string; readonly accountId: string }) => Promise<void>;

/**
 * oidc-provider ends a Session itself when the user confirms logout at /session/end/confirm (RP-initiated logout, or
 * another account signing in on the same browser): it revokes the session's grants, then destroys the Session. Its
 * destroy is where Gatehouse ends its own record of the session — marked ended, every client of the session (the one
 * that asked too) queued for back-channel logout, audit — before oidc-provider's destroy runs. If that transaction
 * fails, the destroy fails with it: the logout answers an error page and the session is still there to log out of,
 * instead of gone from oidc-provider with nothing queued until the sweeper found its deadline. (The grants it revoked
 * just before stay revoked; the applications sign in again silently.) The outbox worker starts sending as soon as the
 * transaction commits; the redirect does not wait for the deliveries.
 */
export function endSessionsAtProviderLogout(provider: Provider, end: EndAtProviderLogout): void {
  type ProviderSession = InstanceType<Provider['Session']>;
  const prototype = provider.Session.prototype as ProviderSession;
  const destroy = prototype.destroy;
  prototype.destroy = async function destroyAfterGatehouse(this: ProviderSession) {
    if (this.uid && this.accountId) {
      try {
        await end({ uid: this.uid, accountId: this.accountId });
      } catch (error) {
        // A Session Gatehouse never recorded (signed in before the record existed) has nothing to end here.
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    return destroy.call(this);
  };
}
