import type { LogoutNotification } from './logout-notification.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** The JWT `typ` of logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.4). */
export const LOGOUT_TOKEN_TYPE = 'logout+jwt';
/** Logout tokens are used at once by the receiver; two minutes cover clock skew. */
export const LOGOUT_TOKEN_TTL_SECONDS = 120;

export interface LogoutTokenClaims {
  readonly iss: string;
  readonly aud: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly events: { readonly [BACKCHANNEL_LOGOUT_EVENT]: Record<string, never> };
  readonly sub?: string;
  readonly sid?: string;
}

/**
 * The claims of the logout token for one notification: always `sub`; `sid` only for a client that registered
 * backchannel_logout_session_required, because only such a client got that sid in its ID tokens (oidc-provider's
 * includeSid()). A sid the application never saw would send it looking for a session it cannot find, instead of
 * logging out by subject. `jti` is the notification's id, the same on every retry. There is never a nonce.
 */
export function logoutTokenClaims(input: {
  readonly issuer: string;
  readonly notification: Pick<LogoutNotification, 'id' | 'clientId' | 'userId' | 'sid'>;
  readonly sessionRequired: boolean;
  readonly now: Date;
}): LogoutTokenClaims {
  const { notification } = input;
  if (input.sessionRequired && !notification.sid) throw new Error('the client requires sid, and this notification has none');
  if (!input.sessionRequired && !notification.userId) throw new Error('a logout token without sid needs sub');
  const iat = Math.floor(input.now.getTime() / 1000);
  return {
    iss: input.issuer,
    aud: notification.clientId,
    iat,
    exp: iat + LOGOUT_TOKEN_TTL_SECONDS,
    jti: notification.id,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...(notification.userId ? { sub: notification.userId } : {}),
    ...(input.sessionRequired ? { sid: notification.sid } : {}),
  };
}
