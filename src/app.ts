import type { Container } from './container.js';
import { errorHandler } from './http/errors.js';
import { requestContext } from './http/middleware/request-context.js';
import { requestLogger } from './http/middleware/request-logger.js';
import { securityHeaders } from './http/middleware/security-headers.js';
import { createAccountRouter } from './http/routes/account.js';
import { createAdminApiRouter } from './http/routes/admin-api.js';
import { ADMIN_CONSOLE_PREFIX, consoleSignInOptions, createAdminConsoleRouter } from './http/routes/admin-console.js';
import { createAdminAuthorization } from './http/admin-auth.js';
import { createFirstPartySignIn } from './http/first-party-sign-in.js';
import { createFormDrafts } from './http/form-drafts.js';
import { createSessionSignOut } from './http/sign-out.js';
import { createAssetsRouter } from './http/routes/assets.js';
import { createHealthRouter } from './http/routes/health.js';
import { createInteractionRouter } from './http/routes/interactions.js';
import { createMetricsRouter } from './http/routes/metrics.js';
import { isSecureIssuer } from './oidc/configuration.js';
import type { Provider } from './oidc/provider.js';

/**
 * oidc-provider's Provider is itself a Koa application; provider.use() places middleware before its own protocol
 * routes, so Gatehouse's routes answer first and everything else falls through to the protocol endpoints.
 */
export function createApp(container: Container): Provider {
  const { provider, logger, renderView, accounts, sessions, csrf, text } = container;
  // oidc-provider answers its own failures with server_error; this is where their cause reaches the log.
  provider.on('server_error', (ctx, error) => ((ctx.state.log as typeof logger | undefined) ?? logger).error({ err: error }, 'oidc-provider server error'));
  provider.use(requestLogger(logger));
  provider.use(requestContext());
  const { brand } = container.config;
  const logoOrigin = brand.logoUrl ? new URL(brand.logoUrl).origin : undefined;
  provider.use(securityHeaders({ hsts: isSecureIssuer(container.config), ...(logoOrigin ? { imageOrigins: [logoOrigin] } : {}) }));
  provider.use(errorHandler({ renderView, logger, text }));
  // One authorization module for both admin doors: the console (sessions) and the admin API (tokens and sessions).
  const consoleSignIn = createFirstPartySignIn({ provider, accounts, sessions, config: container.config, ...consoleSignInOptions() });
  const adminAuthorization = createAdminAuthorization({ provider, clients: container.clients, signIn: consoleSignIn, csrf, recent: { sessions, mfa: container.mfa } });
  for (const router of [
    createAssetsRouter({ brand }),
    createHealthRouter({ isDatabaseReachable: () => container.isDatabaseReachable() }),
    createMetricsRouter({
      token: container.config.metricsToken,
      logoutCounters: () => ({ ...container.logoutDelivery.counters }),
      logoutStates: () => container.logoutDeliveries.countByState(),
      logoutOldestDueSeconds: () => container.logoutDeliveries.oldestDueAgeSeconds(),
    }),
    createInteractionRouter({ provider, accounts, passwordAttempts: container.passwordAttempts, sessions, mfa: container.mfa, csrf, renderView, clock: container.clock, text }),
    createAccountRouter({ provider, accounts, passwordAttempts: container.passwordAttempts, sessions, csrf, renderView, mfa: container.mfa, clock: container.clock, config: container.config, text }),
    createAdminApiRouter({ admin: container.admin, authorization: adminAuthorization }),
    createAdminConsoleRouter({
      admin: container.admin,
      authorization: adminAuthorization,
      signIn: consoleSignIn,
      signOut: createSessionSignOut({ provider, sessions, config: container.config }),
      csrf,
      // A form's draft outlives the detour through "Confirm it is you", not much more.
      drafts: createFormDrafts({ prefix: ADMIN_CONSOLE_PREFIX, secure: isSecureIssuer(container.config), maxAgeSeconds: 15 * 60 }),
      renderView,
      text,
    }),
  ]) {
    provider.use(router.routes());
    provider.use(router.allowedMethods());
  }
  return provider;
}
