import type { Account, ClaimsParameterMember, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/env.js';
import type { User } from '../domain/accounts/user.js';
import type { ClientWithSecret } from '../domain/clients/client.js';
import { ADMIN_SCOPE, SUPPORTED_SCOPES } from '../domain/clients/client.js';
import type { Clock } from '../domain/clock.js';
import type { PayloadStore } from '../domain/sessions/payload-store.js';
import type { TokenRateLimit } from '../domain/clients/token-rate-limit.js';
import type { SaveDecision } from '../domain/sessions/session-service.js';
import type { SessionSnapshot } from '../domain/sessions/session.js';
import { createAdapterFactory } from './adapter.js';
import { FIRST_PARTY_METADATA, MIN_ACR_METADATA } from './client-metadata.js';

import { ACR_LEVELS, ACR_PASSWORD, ACR_SECOND_FACTOR } from '../domain/mfa/levels.js';
import { assertAcrClaim, buildInteractionPolicy } from './interaction-policy.js';

export { ACR_PASSWORD, ACR_SECOND_FACTOR };

/** Renders a full HTML page for oidc-provider's own screens (errors, logout). */
export type RenderPage = (view: string, model: Record<string, unknown>) => Promise<string>;

export interface OidcDeps {
  readonly payloads: PayloadStore;
  readonly findClient: (clientId: string) => Promise<ClientWithSecret | undefined>;
  /** The token endpoint's per-client rate limit (TOKEN_RATE_LIMIT), checked where a token request's client is looked up. */
  readonly tokenRateLimit?: TokenRateLimit;
  /** The user behind a subject, or undefined when unknown or disabled (their tokens then stop working). */
  readonly findActiveUser: (id: string) => Promise<User | undefined>;
  readonly clock: Clock;
  readonly jwks: { keys: object[] };
  readonly cookieKeys: string[];
  readonly renderPage: RenderPage;
  /** The pages' own words for an error Gatehouse words itself (a database outage), else undefined. */
  readonly describeError?: (error: unknown) => string | undefined;
  readonly sessions: {
    recordSave(snapshot: SessionSnapshot): Promise<SaveDecision>;
    isLive(sessionId: string): Promise<boolean>;
    cookieTtlSeconds(transient: boolean): number;
    /** Ends the session's record when its user logs out at oidc-provider (see logout-recorder.ts). */
    endAtLogout(session: { readonly uid: string; readonly accountId: string }): Promise<void>;
  };
}

export function isSecureIssuer(config: Pick<Config, 'issuer'>): boolean {
  return new URL(config.issuer).protocol === 'https:';
}

/**
 * The options of oidc-provider's cookies (cookies.long, the SSO session cookie, and cookies.short). Gatehouse's own
 * routes use them when they set or clear the session cookie themselves (rotation after a password change, logout).
 */
export function providerCookieOptions(config: Pick<Config, 'issuer'>) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: isSecureIssuer(config), path: '/', signed: true };
}

function accountFor(user: User): Account {
  return {
    accountId: user.id,
    async claims() {
      return {
        sub: user.id,
        email: user.email,
        // Gatehouse does not verify addresses yet; saying so is more honest than a default of true.
        email_verified: false,
        name: user.name ?? undefined,
        updated_at: Math.floor(user.updatedAt.getTime() / 1000),
      };
    },
  };
}

/** oidc-provider configuration; pure, so tests build providers from it with their own deps. */
export function buildOidcConfiguration(config: Config, deps: OidcDeps): Configuration {
  const secure = isSecureIssuer(config);
  const cookieOptions = providerCookieOptions(config);
  const origins = (client: { redirectUris?: string[] }) =>
    new Set((client.redirectUris ?? []).map((uri) => new URL(uri).origin));

  return {
    adapter: createAdapterFactory({
      payloads: deps.payloads,
      findClient: deps.findClient,
      clock: deps.clock,
      recordSessionSave: (snapshot) => deps.sessions.recordSave(snapshot),
    }),
    async findAccount(_ctx, sub, token) {
      // A code or token issued in an SSO session dies with it, even before the sweeper records an expiry.
      const sessionUid = (token as { sessionUid?: unknown } | undefined)?.sessionUid;
      if (typeof sessionUid === 'string' && !(await deps.sessions.isLive(sessionUid))) return undefined;
      const user = await deps.findActiveUser(sub);
      return user ? accountFor(user) : undefined;
    },
    jwks: deps.jwks as Configuration['jwks'],
    cookies: {
      keys: deps.cookieKeys,
      // __Host- binds the SSO cookie to this exact origin (Secure, Path=/, no Domain); it needs https.
      names: {
        session: secure ? '__Host-gatehouse_session' : 'gatehouse_session',
        interaction: 'gatehouse_interaction',
        resume: 'gatehouse_resume',
      },
      long: { ...cookieOptions },
      short: { ...cookieOptions },
    },
    // admin: the admin API's scope; only admin clients register it (ClientService), so only they obtain it.
    scopes: [...SUPPORTED_SCOPES, ADMIN_SCOPE],
    claims: {
      acr: null,
      auth_time: null,
      sid: null,
      iss: null,
      // How the user authenticated (acr, amr) goes into every ID token, so apps can tell a second factor was used.
      openid: ['sub', 'acr', 'amr'],
      profile: ['name', 'updated_at'],
      email: ['email', 'email_verified'],
    },
    acrValues: [ACR_PASSWORD, ACR_SECOND_FACTOR],
    responseTypes: ['code'],
    // OpenID Connect requires redirect_uri on every authorization request.
    allowOmittingSingleRegisteredRedirectUri: false,
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      // A client revokes only tokens issued to it.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      // APIs introspect tokens issued to other clients, so any confidential client may introspect; a public client
      // cannot keep a credential and sees only its own tokens.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      clientCredentials: { enabled: true },
      // The claims parameter lets a client demand a level as an essential acr claim (see interaction-policy.ts).
      claimsParameter: { enabled: true, assertClaimsParameter: (_ctx, claims) => assertAcrClaim(claims) },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = await deps.renderPage('logout', { form, host: new URL(config.issuer).host, clientName: ctx.oidc.client?.clientName });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = await deps.renderPage('logged-out', { clientName: ctx.oidc.client?.clientName });
        },
      },
    },
    extraClientMetadata: {
      properties: [FIRST_PARTY_METADATA, MIN_ACR_METADATA],
      validator(_ctx, key, value) {
        if (key === FIRST_PARTY_METADATA && value !== undefined && typeof value !== 'boolean') {
          throw new Error(`${FIRST_PARTY_METADATA} must be a boolean`);
        }
        if (key === MIN_ACR_METADATA && value !== undefined && !(ACR_LEVELS as readonly unknown[]).includes(value)) {
          throw new Error(`${MIN_ACR_METADATA} must be one of ${ACR_LEVELS.join(', ')}`);
        }
      },
    },
    interactions: { policy: buildInteractionPolicy(), url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // First-party clients are part of the same product: consent is implied, so their grant is created here.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const { oidc } = ctx;
      const client = oidc.client!;
      const session = oidc.session!;
      const grantId = oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      if (!(client as unknown as Record<string, unknown>)[FIRST_PARTY_METADATA]) return existing;
      const grant = existing ?? new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId! });
      grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
      const claims = [...oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    clientBasedCORS(_ctx, origin, client) {
      return origins(client as unknown as { redirectUris?: string[] }).has(origin);
    },
    ttl: {
      AccessToken: config.ttl.accessToken,
      AuthorizationCode: config.ttl.authorizationCode,
      ClientCredentials: config.ttl.clientCredentials,
      IdToken: config.ttl.idToken,
      RefreshToken: config.ttl.refreshToken,
      Interaction: config.ttl.interaction,
      // The cookie's life; the stored Session is bounded by the idle and absolute deadlines (SessionService).
      Session: (_ctx, session) => deps.sessions.cookieTtlSeconds(session.transient === true),
      Grant: Math.max(config.ttl.refreshToken, config.sessions.rememberAbsoluteLifetime),
    },
    async renderError(ctx, out, error) {
      ctx.type = 'html';
      // The page's own words come from its view (the pages' text); error_description is oidc-provider's.
      ctx.body = await deps.renderPage('error', {
        error: out.error,
        description: deps.describeError?.(error) ?? out.error_description,
        status: ctx.status,
      });
    },
  };
}

export type { ClaimsParameterMember };
