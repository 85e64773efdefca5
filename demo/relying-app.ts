import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import * as jose from 'jose';
import Koa, { type Context } from 'koa';
import * as oidc from 'openid-client';

// A small relying party for the demo: sign in, step up, log out, and a back-channel logout endpoint that verifies the
// logout token against Gatehouse's JWKS and ends the local session. Sessions live in this process's memory.

export const STEP_UP_ACR = 'urn:gatehouse:loa:2';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface RelyingAppOptions {
  /** Shown on the page, e.g. "Notes (app A)". */
  readonly name: string;
  /** Distinguishes the apps' cookies: cookies ignore ports, and every demo app runs on localhost. */
  readonly cookiePrefix: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where this app is reached, e.g. http://localhost:3001 (its callback, logout and back-channel URLs follow). */
  readonly baseUrl: string;
  /** A listening server to use (tests listen first to learn their port); otherwise one is created on baseUrl's port. */
  readonly server?: Server;
}

interface LocalSession {
  readonly email: string;
  readonly sub: string;
  /** Gatehouse's session id for this app (the ID token's sid), which logout tokens name. */
  readonly sid: string | undefined;
  readonly acr: string | undefined;
  readonly amr: readonly string[];
  readonly idToken: string;
  readonly signedInAt: Date;
  ended?: { at: Date; how: 'back-channel' };
}

interface Pending {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

export interface RunningRelyingApp {
  readonly url: string;
  /** Back-channel logouts received and accepted, newest last (for the page and for tests). */
  readonly logouts: { sid: string | undefined; sub: string | undefined; at: Date }[];
  close(): Promise<void>;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
.state{padding:.75rem 1rem;border-radius:.375rem}.in{background:#e8f5ec}.out{background:#f3f5f8}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .75rem}dd{margin:0;overflow-wrap:anywhere}
form{display:inline-block;margin:.25rem .5rem .25rem 0}button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #aab2bd;background:#fff;cursor:pointer}
button.primary{background:#1f5fbf;color:#fff;border-color:#1f5fbf}button:focus{outline:3px solid #1f5fbf73}`;

export async function startRelyingApp(options: RelyingAppOptions): Promise<RunningRelyingApp> {
  const { name, cookiePrefix, issuer, clientId, clientSecret, baseUrl } = options;
  const config = await oidc.discovery(new URL(issuer), clientId, clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
  const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
  const sessions = new Map<string, LocalSession>();
  const pending = new Map<string, Pending>();
  const seenJtis = new Set<string>();
  const logouts: RunningRelyingApp['logouts'] = [];
  const sessionCookie = `${cookiePrefix}_session`;
  const pendingCookie = `${cookiePrefix}_pending`;
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, path: '/', overwrite: true };

  const app = new Koa();
  const router = new Router();

  app.use(async (ctx, next) => {
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'self'; form-action 'self' " + new URL(issuer).origin + "; frame-ancestors 'none'; base-uri 'none'");
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (error) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page(`<p class="state out" role="alert">That did not work: ${escapeHtml((error as Error).message)}</p><p><a href="/">Back</a></p>`);
    }
  });

  function page(content: string, refresh = false): string {
    return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${refresh ? '<meta http-equiv="refresh" content="3">' : ''}<title>${escapeHtml(name)}</title><link rel="stylesheet" href="/style.css"></head><body><main><h1>${escapeHtml(name)}</h1>${content}</main></body></html>`;
  }

  function current(ctx: Context): LocalSession | undefined {
    const key = ctx.cookies.get(sessionCookie);
    return key ? sessions.get(key) : undefined;
  }

  router.get('/style.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.body = STYLE;
  });

  router.get('/', (ctx) => {
    const session = current(ctx);
    ctx.type = 'html';
    if (session && !session.ended) {
      ctx.body = page(
        `<p class="state in" id="state" data-state="signed-in">Signed in as <strong>${escapeHtml(session.email)}</strong>.</p>
<dl><dt>Level</dt><dd id="acr">${escapeHtml(session.acr ?? '-')}</dd><dt>Methods</dt><dd id="amr">${escapeHtml(session.amr.join(' + ') || '-')}</dd><dt>Gatehouse session (sid)</dt><dd>${escapeHtml(session.sid ?? '-')}</dd><dt>Signed in</dt><dd>${session.signedInAt.toISOString()}</dd></dl>
<form method="get" action="/login"><input type="hidden" name="step_up" value="1"><button type="submit">Step up to two-step verification</button></form>
<form method="post" action="/logout"><button type="submit" class="primary">Log out</button></form>
<p><small>This page reloads every 3 seconds, so it shows a back-channel logout as soon as it arrives.</small></p>`,
        true,
      );
      return;
    }
    const reason = session?.ended
      ? `<p class="state out" id="state" data-state="signed-out-by-back-channel">Signed out: Gatehouse sent a back-channel logout at ${session.ended.at.toISOString()}.</p>`
      : `<p class="state out" id="state" data-state="signed-out">Signed out.</p>`;
    ctx.body = page(`${reason}<form method="get" action="/login"><button type="submit" class="primary">Sign in with Gatehouse</button></form>`);
  });

  router.get('/login', async (ctx) => {
    const state: Pending = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier() };
    const key = randomBytes(16).toString('base64url');
    pending.set(key, state);
    ctx.cookies.set(pendingCookie, key, { ...cookieOptions, maxAge: 10 * 60 * 1000 });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${baseUrl}/callback`,
      scope: 'openid email profile',
      state: state.state,
      nonce: state.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(state.verifier),
      code_challenge_method: 'S256',
      ...(ctx.query.step_up === '1' ? { acr_values: STEP_UP_ACR } : {}),
    });
    ctx.redirect(url.href);
  });

  router.get('/callback', async (ctx) => {
    const key = ctx.cookies.get(pendingCookie);
    const started = key ? pending.get(key) : undefined;
    if (key) pending.delete(key);
    ctx.cookies.set(pendingCookie, null, cookieOptions);
    if (!started) throw new Error('this sign-in was not started here, or it expired');
    const callback = new URL(ctx.originalUrl, baseUrl);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
    const claims = tokens.claims()!;
    // The ID token names the user (sub); the email address comes from the userinfo endpoint, with the access token.
    const profile = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    const local = randomBytes(32).toString('base64url');
    sessions.set(local, {
      email: typeof profile.email === 'string' ? profile.email : claims.sub,
      sub: claims.sub,
      sid: typeof claims.sid === 'string' ? claims.sid : undefined,
      acr: typeof claims.acr === 'string' ? claims.acr : undefined,
      amr: Array.isArray(claims.amr) ? (claims.amr as string[]) : [],
      idToken: tokens.id_token!,
      signedInAt: new Date(),
    });
    const previous = ctx.cookies.get(sessionCookie);
    if (previous) sessions.delete(previous);
    ctx.cookies.set(sessionCookie, local, cookieOptions);
    ctx.redirect('/');
  });

  router.post('/logout', (ctx) => {
    const key = ctx.cookies.get(sessionCookie);
    const session = key ? sessions.get(key) : undefined;
    if (key) sessions.delete(key);
    ctx.cookies.set(sessionCookie, null, cookieOptions);
    if (!session || session.ended) {
      ctx.redirect('/');
      return;
    }
    // RP-initiated logout: Gatehouse asks the user to confirm, ends the SSO session, notifies the other apps.
    ctx.redirect(oidc.buildEndSessionUrl(config, { id_token_hint: session.idToken, post_logout_redirect_uri: `${baseUrl}/` }).href);
  });

  /** OpenID Connect Back-Channel Logout 1.0, section 2.6: verify the logout token, then end the sessions it names. */
  router.post('/backchannel-logout', bodyParser({ enableTypes: ['form'], formLimit: '16kb' }), async (ctx) => {
    const token = (ctx.request.body as Record<string, unknown> | undefined)?.logout_token;
    try {
      if (typeof token !== 'string') throw new Error('no logout_token');
      const { payload } = await jose.jwtVerify(token, jwks, {
        issuer,
        audience: clientId,
        typ: 'logout+jwt',
        requiredClaims: ['iat', 'jti', 'events'],
        maxTokenAge: '5 minutes',
      });
      const events = payload.events as Record<string, unknown> | undefined;
      if (!events || typeof events[BACKCHANNEL_EVENT] !== 'object') throw new Error('not a back-channel logout event');
      if ('nonce' in payload) throw new Error('a logout token carries no nonce');
      const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
      const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
      if (!sid && !sub) throw new Error('a logout token names sid or sub');
      if (seenJtis.has(payload.jti!)) throw new Error('logout token replayed');
      seenJtis.add(payload.jti!);
      const at = new Date();
      for (const session of sessions.values()) {
        if (session.ended) continue;
        if (sid ? session.sid === sid && (!sub || session.sub === sub) : session.sub === sub) session.ended = { at, how: 'back-channel' };
      }
      logouts.push({ sid, sub, at });
      ctx.status = 200;
      ctx.body = '';
    } catch (error) {
      ctx.status = 400;
      ctx.type = 'json';
      ctx.body = { error: 'invalid_request', error_description: (error as Error).message };
    }
  });

  app.use(router.routes());
  app.use(router.allowedMethods());

  const server = options.server ?? createServer();
  server.on('request', app.callback());
  if (!server.listening) {
    const url = new URL(baseUrl);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(url.port), url.hostname === 'localhost' ? '127.0.0.1' : url.hostname, () => resolve());
    });
  }
  return {
    url: baseUrl,
    logouts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The settings Gatehouse needs for a demo app at this address. */
export function demoClientSettings(name: string, baseUrl: string) {
  return {
    name,
    redirectUris: [`${baseUrl}/callback`],
    postLogoutRedirectUris: [`${baseUrl}/`],
    backchannelLogoutUri: `${baseUrl}/backchannel-logout`,
    grantTypes: ['authorization_code'],
    scope: 'openid email profile',
    firstParty: true,
  };
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
