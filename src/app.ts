import type { Container } from './container.js';
import { errorHandler } from './http/errors.js';
import { requestContext } from './http/middleware/request-context.js';
import { requestLogger } from './http/middleware/request-logger.js';
import { securityHeaders } from './http/middleware/security-headers.js';
import { createAccountRouter } from './http/routes/account.js';
import { createAdminApiRouter } from './http/routes/admin-api.js';
import { consoleRecentAuthentication, consoleSignInOptions, createAdminConsoleRouter } from './http/routes/admin-console.js';
import { createFirstPartySignIn } from './http/first-party-sign-in.js';
import { en } from './http/text/en.js';
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
  const { provider, logger, renderView, accounts, sessions, csrf } = container;
  // oidc-provider answers its own failures with server_error; this is where their cause reaches the log.
  provider.on('server_error', (ctx, error) => ((ctx.state.log as typeof logger | undefined) ?? logger).error({ err: error }, 'oidc-provider server error'));
  provider.use(requestLogger(logger));
  provider.use(requestContext());
  const { brand } = container.config;
  const logoOrigin = brand.logoUrl && /^https?:/.test(brand.logoUrl) ? new URL(brand.logoUrl).origin : undefined;
  provider.use(securityHeaders({ hsts: isSecureIssuer(container.config), ...(logoOrigin ? { imageOrigins: [logoOrigin] } : {}) }));
  provider.use(errorHandler({ renderView, logger }));
  for (const router of [
    createAssetsRouter({ brand }),
    createHealthRouter({ isDatabaseReachable: () => container.isDatabaseReachable() }),
    createMetricsRouter({
      token: container.config.metricsToken,
      logoutCounters: () => ({ ...container.logoutDelivery.counters }),
      logoutStates: () => container.logoutDeliveries.countByState(),
    }),
    createInteractionRouter({ provider, accounts, passwordAttempts: container.passwordAttempts, sessions, mfa: container.mfa, csrf, renderView, clock: container.clock }),
    createAccountRouter({ provider, accounts, passwordAttempts: container.passwordAttempts, sessions, csrf, renderView, mfa: container.mfa, clock: container.clock, config: container.config }),
    createAdminApiRouter({ provider, clients: container.clients, admin: container.admin }),
    createAdminConsoleRouter({
      admin: container.admin,
      signIn: createFirstPartySignIn({ provider, accounts, sessions, config: container.config, ...consoleSignInOptions() }),
      csrf,
      renderView,
      text: en,
      // Every console write passes these after admin authorization and CSRF, before its handler.
      writeGuards: [consoleRecentAuthentication({ sessions, mfa: container.mfa })],
    }),
  ]) {
    provider.use(router.routes());
    provider.use(router.allowedMethods());
  }
  return provider;
}
