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
 * The claims of the logout token for one notification. Gatehouse always knows both the subject and the client's
 * sid, so it sends both (the specification allows either or both); `sessionRequired` only makes sid mandatory.
 * `jti` is the notification's id, the same on every retry. There is never a nonce.
 */
export function logoutTokenClaims(input: {
  readonly issuer: string;
  readonly notification: Pick<LogoutNotification, 'id' | 'clientId' | 'userId' | 'sid'>;
  readonly sessionRequired: boolean;
  readonly now: Date;
}): LogoutTokenClaims {
  const { notification } = input;
  if (input.sessionRequired && !notification.sid) throw new Error('the client requires sid, and this notification has none');
  if (!notification.sid && !notification.userId) throw new Error('a logout token needs sub or sid');
  const iat = Math.floor(input.now.getTime() / 1000);
  return {
    iss: input.issuer,
    aud: notification.clientId,
    iat,
    exp: iat + LOGOUT_TOKEN_TTL_SECONDS,
    jti: notification.id,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...(notification.userId ? { sub: notification.userId } : {}),
    ...(notification.sid ? { sid: notification.sid } : {}),
  };
}
