import { BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_TTL_SECONDS, logoutTokenClaims } from '../../../../src/domain/logout/logout-token.js';

const notification = { id: '7d8f6c1e-0000-4000-8000-000000000001', clientId: 'notebook', userId: 'user-1', sid: 'sid-1' };
const NOW = new Date('2026-03-01T10:00:00.700Z');

describe('logout token claims', () => {
  it('carry iss, aud, iat, a short exp, the notification id as jti, the event, sub and sid, and no nonce', () => {
    const claims = logoutTokenClaims({ issuer: 'https://id.example.com', notification, sessionRequired: true, now: NOW });
    expect(claims).toEqual({
      iss: 'https://id.example.com',
      aud: 'notebook',
      iat: 1772359200,
      exp: 1772359200 + LOGOUT_TOKEN_TTL_SECONDS,
      jti: notification.id,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      sub: 'user-1',
      sid: 'sid-1',
    });
    expect(claims).not.toHaveProperty('nonce');
  });

  it('keep the same jti on every retry and carry sub only when the client does not require sid (it never saw one)', () => {
    const first = logoutTokenClaims({ issuer: 'https://id.example.com', notification, sessionRequired: false, now: NOW });
    const later = logoutTokenClaims({ issuer: 'https://id.example.com', notification, sessionRequired: false, now: new Date(NOW.getTime() + 3_600_000) });
    expect(later.jti).toBe(first.jti);
    expect(first.sub).toBe('user-1');
    expect(first).not.toHaveProperty('sid');
  });

  it('refuse a notification without sid for a client that requires it', () => {
    expect(() => logoutTokenClaims({ issuer: 'https://id.example.com', notification: { ...notification, sid: '' }, sessionRequired: true, now: NOW })).toThrow(/sid/);
    expect(() => logoutTokenClaims({ issuer: 'https://id.example.com', notification: { ...notification, userId: '' }, sessionRequired: false, now: NOW })).toThrow(/sub/);
  });
});
