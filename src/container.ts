import type { Config } from './config/env.js';
import { resolveSecret, type ResolvedSecret } from './config/secret.js';
import { AdminService } from './domain/admin/admin-service.js';
import { ensureInternalClients } from './domain/clients/internal-clients.js';
import { AccountService } from './domain/accounts/account-service.js';
import { PasswordAttempts } from './domain/accounts/login-throttle.js';
import { ClientService } from './domain/clients/client-service.js';
import { systemClock, systemTimers, type Clock } from './domain/clock.js';
import { SigningKeyService } from './domain/keys/signing-keys.js';
import { MfaService } from './domain/mfa/mfa-service.js';
import type { AuditLog } from './domain/audit/audit.js';
import type { PayloadStore } from './domain/sessions/payload-store.js';
import { SessionService } from './domain/sessions/session-service.js';
import { currentRequestMeta } from './http/middleware/request-context.js';
import { deviceLabel } from './infra/device-label.js';
import { PrismaAuditLog } from './store/prisma/audit-log.js';
import { PrismaSessionIndex } from './store/prisma/session-index.js';
import { createCsrf, type Csrf } from './http/middleware/csrf.js';
import { providerErrorText } from './http/errors.js';
import { en, type Text } from './http/text/en.js';
import { createViewRenderer, type RenderView } from './http/views.js';
import { PasswordPolicy } from './domain/accounts/password-policy.js';
import { TokenRateLimit } from './domain/clients/token-rate-limit.js';
import { RateLimiterTokenIssuanceCounter } from './infra/token-issuance-counter.js';
import { commonPasswords } from './infra/common-passwords.js';
import { Argon2PasswordHasher } from './infra/argon2-password-hasher.js';
import { connectRedis, RateLimiterLoginThrottle } from './infra/login-throttle.js';
import { HmacRecoveryCodeHasher } from './infra/hmac-code-hasher.js';
import type { Logger } from './infra/logger.js';
import { OtplibTotp } from './infra/otplib-totp.js';
import { AesGcmSecretBox, deriveKey } from './infra/secret-box.js';
import { ProviderClientValidator } from './oidc/client-validator.js';
import { createProvider, type Provider } from './oidc/provider.js';
import { isSecureIssuer } from './oidc/configuration.js';
import { PrismaClientRepository } from './store/prisma/client-repository.js';
import { createDb, isReachable, type Db } from './store/prisma/database.js';
import { PrismaPayloadStore } from './store/prisma/payload-store.js';
import { PrismaRecoveryCodeRepository } from './store/prisma/recovery-code-repository.js';
import { PrismaSigningKeyStore } from './store/prisma/signing-key-store.js';
import { PrismaTotpFactorRepository } from './store/prisma/totp-factor-repository.js';
import { PrismaUserRepository } from './store/prisma/user-repository.js';
import { PrismaLogoutOutbox } from './store/prisma/logout-outbox.js';
import { LogoutDelivery } from './domain/logout/delivery-worker.js';
import { LogoutDeliveryService } from './domain/logout/delivery-service.js';
import { checkDestination, type DestinationPolicy } from './domain/logout/destination.js';
import { JoseLogoutTokenSigner } from './infra/logout-token-signer.js';
import { HttpLogoutTransport } from './infra/logout-transport.js';
import { resolveAllAddresses } from './infra/dns.js';
import { randomBytes, randomInt } from 'node:crypto';

export interface Container {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly secret: ResolvedSecret;
  readonly accounts: AccountService;
  /** Password attempts under the login throttle (per account and per IP). */
  readonly passwordAttempts: PasswordAttempts;
  readonly sessions: SessionService;
  /** The second factor: authenticator app (TOTP) and recovery codes. */
  readonly mfa: MfaService;
  readonly audit: AuditLog;
  readonly clients: ClientService;
  /** The token endpoint's per-client rate limit; undefined when TOKEN_RATE_LIMIT is 0. */
  readonly tokenRateLimit: TokenRateLimit | undefined;
  /** What administrators do, for the admin console and the admin API alike. */
  readonly admin: AdminService;
  readonly keys: SigningKeyService;
  readonly payloads: PayloadStore;
  readonly provider: Provider;
  /** The pages' text, in the one language Gatehouse has (views get it as `t`, routes as `text`). */
  readonly text: Text;
  readonly renderView: RenderView;
  readonly csrf: Csrf;
  /** The back-channel logout worker; only the server starts it (the CLI only queues). */
  readonly logoutDelivery: LogoutDelivery;
  /** Listing and retrying back-channel logout deliveries (CLI, admin API). */
  readonly logoutDeliveries: LogoutDeliveryService;
  /** Kids of signing keys created by this start (the very first start creates them). */
  readonly createdKeys: string[];
  isDatabaseReachable(): Promise<boolean>;
  close(): Promise<void>;
}

export interface ContainerOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /**
   * Create or repair the internal clients of the account pages and the admin console (their redirect URIs follow ISSUER). The server does; the
   * CLI does not, as it may run with another ISSUER than the server's.
   */
  readonly ensureInternalClients?: boolean;
}

/** The one place that constructs Gatehouse's parts. The database must already be migrated. */
export async function createContainer(config: Config, options: ContainerOptions): Promise<Container> {
  const clock = options.clock ?? systemClock;
  const secret = resolveSecret(config);
  const box = new AesGcmSecretBox(secret.value);
  const db: Db = createDb({ provider: config.databaseProvider, url: config.databaseUrl });
  let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
  const disconnect = async () => {
    await db.$disconnect();
    if (redis) await redis.quit().catch(() => redis?.disconnect());
  };
  try {
    if (config.redisUrl) redis = await connectRedis(config.redisUrl, (error) => options.logger.warn({ err: error }, 'redis connection error'));
    const users = new PrismaUserRepository(db, config.databaseProvider);
    const clientRepository = new PrismaClientRepository(db, box);
    const payloads = new PrismaPayloadStore(db);
    const keys = new SigningKeyService(new PrismaSigningKeyStore(db, box), clock);
    const audit = new PrismaAuditLog(db);
    // The worker exists only once the provider's keys are known; sessions ending before that have nobody to wake.
    let wakeDelivery = () => {};
    const sessions = new SessionService({
      index: new PrismaSessionIndex(db, { onHandOff: () => wakeDelivery() }),
      audit,
      clock,
      deviceLabel,
      policy: {
        idleTimeoutMs: config.sessions.idleTimeout * 1000,
        absoluteLifetimeMs: config.sessions.absoluteLifetime * 1000,
        rememberIdleTimeoutMs: config.sessions.rememberIdleTimeout * 1000,
        rememberAbsoluteLifetimeMs: config.sessions.rememberAbsoluteLifetime * 1000,
        limit: config.sessions.limit,
        limitPolicy: config.sessions.limitPolicy,
        reauthenticationMaxAgeMs: config.sessions.reauthenticationMaxAge * 1000,
      },
    });
    const mfa = new MfaService({
      factors: new PrismaTotpFactorRepository(db, box),
      recoveryCodes: new PrismaRecoveryCodeRepository(db),
      totp: new OtplibTotp(),
      hasher: new HmacRecoveryCodeHasher(deriveKey(secret.value, 'recovery-codes')),
      clock,
      audit,
      sessions,
      issuerName: config.brand.name,
    });
    const passwordPolicy = new PasswordPolicy({ minLength: config.passwordMinLength, commonPasswords: commonPasswords() });
    // The sensitive-action rule needs to know who has a second factor.
    const accounts = new AccountService({ users, hasher: new Argon2PasswordHasher(), clock, sessions, secondFactor: mfa, passwordPolicy });
    const passwordAttempts = new PasswordAttempts({
      throttle: new RateLimiterLoginThrottle({ limits: config.loginThrottle, keyPrefix: config.redisKeyPrefix, ...(redis ? { redis } : {}) }),
      audit,
      clock,
      findUserId: async (email) => (await users.findByEmail(email))?.id,
    });
    // The one place the pages' language is chosen: a translation would be another `Text` (src/http/text).
    const text: Text = en;
    const renderView = createViewRenderer({ productName: config.brand.name, logoUrl: config.brand.logoUrl ?? null, t: text, passwordRule: text.passwordRule(passwordPolicy) }, config.nodeEnv === 'production');

    await accounts.warmUp();
    const createdKeys = await keys.ensureKeys();
    // One JWKS for oidc-provider (ID tokens, /jwks) and the logout-token signer, so both sign with the same keys.
    const jwks = await keys.signingJwks();
    const tokenRateLimit = config.tokenRateLimit > 0
      ? new TokenRateLimit({
          counter: new RateLimiterTokenIssuanceCounter({ perMinute: config.tokenRateLimit, keyPrefix: config.redisKeyPrefix, ...(redis ? { redis } : {}) }),
          findClient: (clientId) => clientRepository.findById(clientId),
        })
      : undefined;
    const provider = createProvider(config, {
      payloads,
      clock,
      findClient: (clientId) => clientRepository.findById(clientId),
      ...(tokenRateLimit ? { tokenRateLimit } : {}),
      findActiveUser: (id) => accounts.findActiveById(id),
      jwks,
      cookieKeys: [deriveKey(secret.value, 'cookie-signing').toString('base64url')],
      renderPage: renderView,
      describeError: (error) => providerErrorText(error, text),
      sessions: {
        recordSave: (snapshot) => sessions.recordSave(snapshot, currentRequestMeta()),
        isLive: (id) => sessions.isLive(id),
        cookieTtlSeconds: (transient) => sessions.cookieTtlSeconds(transient),
        endAtLogout: async ({ uid, accountId }) => {
          await sessions.end(uid, 'logged_out', { type: 'user', id: accountId, ...currentRequestMeta() });
        },
      },
    });
    const destinations: DestinationPolicy = { production: config.nodeEnv === 'production', allowedHosts: config.backchannel.allowedHosts };
    const validator = new ProviderClientValidator(provider);
    const clients = new ClientService({
      clients: clientRepository,
      clock,
      validator,
      checkBackchannelUri: (uri) => checkDestination(uri, destinations, resolveAllAddresses),
    });
    const outbox = new PrismaLogoutOutbox(db, config.databaseProvider);
    const logoutDelivery = new LogoutDelivery({
      outbox,
      async findTarget(clientId) {
        const client = await clientRepository.findById(clientId);
        if (!client?.backchannelLogoutUri) return undefined;
        return { uri: client.backchannelLogoutUri, sessionRequired: client.backchannelLogoutSessionRequired, alg: client.idTokenSignedResponseAlg };
      },
      signer: new JoseLogoutTokenSigner(jwks),
      transport: new HttpLogoutTransport(destinations),
      clock,
      timers: systemTimers,
      random: () => randomInt(0, 2 ** 32) / 2 ** 32,
      policy: {
        baseDelayMs: config.backchannel.retryBaseDelay * 1000,
        maxDelayMs: config.backchannel.retryMaxDelay * 1000,
        retryWindowMs: config.backchannel.retryWindow * 1000,
      },
      issuer: config.issuer,
      workerId: `${process.pid}-${randomBytes(6).toString('base64url')}`,
      concurrency: config.backchannel.concurrency,
      timeoutMs: config.backchannel.timeout * 1000,
      // A claim outlives every attempt of this worker by a wide margin; only a worker that died loses it.
      leaseMs: Math.max(4 * config.backchannel.timeout, 60) * 1000,
      log: options.logger.child({ component: 'logout-delivery' }),
    });
    wakeDelivery = () => logoutDelivery.wake();
    const logoutDeliveries = new LogoutDeliveryService({ outbox, clock, wake: () => logoutDelivery.wake() });
    if (options.ensureInternalClients) await ensureInternalClients({ clients: clientRepository, validator }, config.issuer);
    const admin = new AdminService({ accounts, clients, sessions, mfa, audit, logoutDeliveries });
    const csrf = createCsrf({ key: deriveKey(secret.value, 'csrf'), secure: isSecureIssuer(config), refusal: text.errors.formExpired });

    return {
      config,
      logger: options.logger,
      clock,
      secret,
      accounts,
      passwordAttempts,
      sessions,
      mfa,
      audit,
      clients,
      tokenRateLimit,
      admin,
      keys,
      payloads,
      provider,
      text,
      renderView,
      csrf,
      logoutDelivery,
      logoutDeliveries,
      createdKeys,
      isDatabaseReachable: () => isReachable(db),
      close: disconnect,
    };
  } catch (error) {
    await disconnect();
    throw error;
  }
}
