import { z } from 'zod';
import { DEFAULT_PASSWORD_MIN_LENGTH, PASSWORD_MIN_LENGTH_BOUNDS } from '../domain/accounts/password-policy.js';

// The only module that reads process.env. Everything else receives a frozen Config.

export type NodeEnv = 'development' | 'production' | 'test';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly port: number;
  /** Interface to listen on; undefined means every interface. */
  readonly host: string | undefined;
  readonly issuer: string;
  readonly databaseUrl: string;
  readonly databaseProvider: 'sqlite' | 'postgresql';
  readonly dataDir: string;
  /** GATEHOUSE_SECRET when set; otherwise undefined and a development secret is kept in dataDir. */
  readonly secret: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly trustProxy: boolean;
  readonly ttl: {
    readonly accessToken: number;
    readonly idToken: number;
    readonly refreshToken: number;
    readonly interaction: number;
    readonly authorizationCode: number;
    readonly clientCredentials: number;
  };
  readonly purgeIntervalSeconds: number;
  readonly sessions: {
    readonly idleTimeout: number;
    readonly absoluteLifetime: number;
    readonly rememberIdleTimeout: number;
    readonly rememberAbsoluteLifetime: number;
    /** Live sessions per user; 0 means no limit. */
    readonly limit: number;
    readonly limitPolicy: 'evict-oldest' | 'deny-new';
    readonly sweepInterval: number;
    /** Seconds a password or second-factor check counts as recent for sensitive actions. */
    readonly reauthenticationMaxAge: number;
  };
  /** Back-channel logout delivery (the outbox worker). */
  readonly backchannel: {
    /** Seconds one delivery attempt may take. */
    readonly timeout: number;
    /** Seconds after the session ended during which undelivered notifications are retried, then marked failed. */
    readonly retryWindow: number;
    /** Seconds: the first retry waits up to this long (full jitter), doubling per attempt up to retryMaxDelay. */
    readonly retryBaseDelay: number;
    readonly retryMaxDelay: number;
    /** Seconds between looks for due notifications (a session ending in this process wakes the worker at once). */
    readonly pollInterval: number;
    /** Deliveries in flight at once per process. */
    readonly concurrency: number;
    /** Hosts allowed to resolve to loopback, link-local or private addresses in production (lower case). */
    readonly allowedHosts: readonly string[];
  };
  /** Bearer token that /metrics requires; undefined turns /metrics off. */
  readonly metricsToken: string | undefined;
  /** Where shared state lives: REDIS_URL when set (rate-limit counters), else this process's memory. */
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  /** Development only: outgoing requests (back-channel logout) may go to localhost, as the demo apps need. */
  /** How the pages look: product name, logo and primary colour. */
  readonly brand: {
    readonly name: string;
    /** An https/http URL or a path on Gatehouse's origin; undefined shows the name only. */
    readonly logoUrl: string | undefined;
    /** #rrggbb, dark enough for white text on it (WCAG AA, 4.5:1). */
    readonly primaryColor: string;
  };
  readonly loginThrottle: {
    readonly maxFailuresPerAccount: number;
    readonly maxFailuresPerIp: number;
    readonly failureWindow: number;
    readonly blockDuration: number;
  };
  /**
   * Host names (normalized by normalizeHost) Gatehouse answers for in production besides the issuer's; an entry
   * without a port matches every port.
   */
  readonly allowedHosts: readonly string[];
  /** The fewest characters a new password may have (PasswordPolicy). */
  readonly passwordMinLength: number;
  /** Tokens the token endpoint issues per client and minute; 0 is no limit. */
  readonly tokenRateLimit: number;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const seconds = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .positive('must be greater than 0')
    .max(10 * 365 * 24 * 3600, 'must be at most ten years')
    .default(fallback);

const count = (fallback: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number greater than 0').transform(Number).pipe(z.number().min(1, 'must be a whole number greater than 0').max(1_000_000, 'must be at most 1000000')).default(fallback);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'must be development, production or test' }).default('development'),
  // Digits only: Number(' ') is 0, which would silently mean "any free port".
  PORT: z.string().regex(/^\d+$/, 'must be a port number').transform(Number).pipe(z.number().max(65535, 'must be a port number')).default(3000),
  HOST: z.string().min(1).optional(),
  ISSUER: z.string().optional(),
  DATA_DIR: z.string().min(1, 'must not be empty').default('./data'),
  DATABASE_URL: z.string().optional(),
  GATEHOUSE_SECRET: z.string().min(32, 'must be at least 32 characters (use `openssl rand -base64 48`)').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be fatal, error, warn, info, debug, trace or silent' }).default('info'),
  TRUST_PROXY: booleanString.default(false),
  ACCESS_TOKEN_TTL: seconds(3600),
  ID_TOKEN_TTL: seconds(3600),
  REFRESH_TOKEN_TTL: seconds(14 * 24 * 3600),
  SESSION_IDLE_TIMEOUT: seconds(30 * 60),
  SESSION_ABSOLUTE_LIFETIME: seconds(12 * 3600),
  SESSION_REMEMBER_IDLE_TIMEOUT: seconds(7 * 24 * 3600),
  SESSION_REMEMBER_ABSOLUTE_LIFETIME: seconds(30 * 24 * 3600),
  SESSION_LIMIT: z.string().regex(/^\d+$/, 'must be a whole number (0 turns the limit off)').transform(Number).default(0),
  SESSION_LIMIT_POLICY: z.enum(['evict-oldest', 'deny-new'], { message: 'must be evict-oldest or deny-new' }).default('evict-oldest'),
  SESSION_SWEEP_INTERVAL: seconds(60),
  REAUTHENTICATION_MAX_AGE: seconds(300),
  INTERACTION_TTL: seconds(3600),
  AUTHORIZATION_CODE_TTL: seconds(60),
  CLIENT_CREDENTIALS_TTL: seconds(600),
  PURGE_INTERVAL: seconds(600),
  BACKCHANNEL_TIMEOUT: seconds(5),
  BACKCHANNEL_RETRY_WINDOW: seconds(24 * 3600),
  BACKCHANNEL_RETRY_BASE_DELAY: seconds(5),
  BACKCHANNEL_RETRY_MAX_DELAY: seconds(3600),
  BACKCHANNEL_POLL_INTERVAL: seconds(5),
  BACKCHANNEL_CONCURRENCY: count(16),
  BACKCHANNEL_ALLOWED_HOSTS: z
    .string()
    .transform((value) => value.split(',').map((host) => host.trim().toLowerCase()).filter(Boolean))
    .refine((hosts) => hosts.every((host) => /^[a-z0-9.:-]{1,253}$/.test(host)), 'must be a comma-separated list of host names or IP addresses')
    .default([]),
  METRICS_TOKEN: z.string().regex(/^[A-Za-z0-9._~+/=-]{32,256}$/, 'must be 32 to 256 token characters (openssl rand -base64 32)').optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .refine((value) => URL.canParse(value), 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1 to 64 letters, digits, colons, dots, dashes or underscores').default('gatehouse'),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: count(10),
  LOGIN_MAX_FAILURES_PER_IP: count(50),
  LOGIN_FAILURE_WINDOW: seconds(900),
  LOGIN_BLOCK_DURATION: seconds(900),
  BRAND_NAME: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(60, 'must be at most 60 characters')
    .regex(/^[^\u0000-\u001f\u007f<>]+$/, 'must be printable text without < or >')
    .default('Gatehouse'),
  BRAND_LOGO_URL: z.string().optional(),
  BRAND_PRIMARY_COLOR: z
    .string()
    .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a hex colour such as #1f5fbf')
    .default('#1f5fbf'),
  ALLOWED_HOSTS: z.string().transform((value) => value.split(',').map((host) => host.trim()).filter(Boolean)).default([]),
  PASSWORD_MIN_LENGTH: z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${PASSWORD_MIN_LENGTH_BOUNDS.min} to ${PASSWORD_MIN_LENGTH_BOUNDS.max}`)
    .transform(Number)
    .pipe(z.number().min(PASSWORD_MIN_LENGTH_BOUNDS.min, `must be at least ${PASSWORD_MIN_LENGTH_BOUNDS.min}`).max(PASSWORD_MIN_LENGTH_BOUNDS.max, `must be at most ${PASSWORD_MIN_LENGTH_BOUNDS.max}`))
    .default(DEFAULT_PASSWORD_MIN_LENGTH),
  TOKEN_RATE_LIMIT: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of tokens per minute (0 turns the limit off)')
    .transform(Number)
    .pipe(z.number().max(1_000_000, 'must be at most 1000000'))
    .default(600),
});

const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
/** A Host header: a DNS name (a final dot allowed), an IPv4 address or a bracketed IPv6 literal, and an optional port. */
const HOST_SYNTAX = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*\\.?|\\[[0-9a-f:.]+\\])(?::\\d{1,5})?$`, 'i');

/**
 * The canonical form of a host (name and port) as the issuer's scheme reads it: lower case, the scheme's default
 * port and a final dot dropped, an IPv6 literal compressed; undefined when it is not a host at all (user
 * information, a path, spaces...). Requests and configured names are compared in this form.
 */
export function normalizeHost(raw: string, protocol: string): string | undefined {
  if (raw.length > 300 || !HOST_SYNTAX.test(raw)) return undefined;
  try {
    return new URL(`${protocol}//${raw}`).host.replace(/\.(?=(?::\d+)?$)/, '');
  } catch {
    return undefined;
  }
}

function parseAllowedHosts(entries: readonly string[], issuer: string): string[] {
  const { protocol } = new URL(issuer);
  return entries.map((entry) => {
    const host = normalizeHost(entry, protocol);
    if (!host) throw new ConfigError('ALLOWED_HOSTS', `must be a comma-separated list of host names or IP addresses, each with an optional port (such as id.example.net,10.0.0.5:3000); "${entry.slice(0, 100)}" is not one`);
    return host;
  });
}

/**
 * The logo: an http(s) URL (its origin joins the CSP's img-src). Gatehouse serves no files of its own but its
 * stylesheets, so a path on its origin would show nothing: host the logo where your other assets are.
 */
function parseLogoUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const refused = 'must be an http(s) URL such as https://cdn.example.com/logo.svg (Gatehouse does not serve files of its own)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('BRAND_LOGO_URL', refused);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('BRAND_LOGO_URL', refused);
  if (url.username || url.password) throw new ConfigError('BRAND_LOGO_URL', 'must not contain credentials');
  return url.href;
}

/** #rgb or #rrggbb to #rrggbb, lower case. */
function fullHex(color: string): string {
  const hex = color.slice(1).toLowerCase();
  return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;
}

/** WCAG 2 contrast ratio of white text on this colour. */
export function contrastWithWhite(color: string): number {
  const hex = fullHex(color).slice(1);
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
  return 1.05 / (luminance + 0.05);
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function parseIssuer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('ISSUER', 'must be an absolute URL such as https://id.example.com');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('ISSUER', 'must use https (or http for localhost)');
  if (url.search || url.hash) throw new ConfigError('ISSUER', 'must not contain a query or fragment');
  if (url.username || url.password) throw new ConfigError('ISSUER', 'must not contain credentials');
  // Gatehouse serves its endpoints at the root of its origin.
  if (url.pathname !== '/') throw new ConfigError('ISSUER', 'must be an origin without a path, such as https://id.example.com');
  // Issuer identifiers are compared as strings by relying parties: no trailing slash.
  return url.href.replace(/\/$/, '');
}

function databaseProviderOf(url: string): Config['databaseProvider'] {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError('DATABASE_URL', 'is not a valid postgres:// URL');
    }
    return 'postgresql';
  }
  throw new ConfigError('DATABASE_URL', 'must start with file: (SQLite) or postgres:// (PostgreSQL)');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as in most .env files.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = parsed.data;
  const issuer = parseIssuer(e.ISSUER ?? `http://localhost:${e.PORT}`);
  const databaseUrl = e.DATABASE_URL ?? `file:${e.DATA_DIR.replace(/\/$/, '')}/gatehouse.db`;
  const databaseProvider = databaseProviderOf(databaseUrl);
  if (e.SESSION_IDLE_TIMEOUT > e.SESSION_ABSOLUTE_LIFETIME) {
    throw new ConfigError('SESSION_IDLE_TIMEOUT', 'must not be longer than SESSION_ABSOLUTE_LIFETIME');
  }
  if (e.SESSION_REMEMBER_IDLE_TIMEOUT > e.SESSION_REMEMBER_ABSOLUTE_LIFETIME) {
    throw new ConfigError('SESSION_REMEMBER_IDLE_TIMEOUT', 'must not be longer than SESSION_REMEMBER_ABSOLUTE_LIFETIME');
  }

  if (e.BACKCHANNEL_RETRY_BASE_DELAY > e.BACKCHANNEL_RETRY_MAX_DELAY) {
    throw new ConfigError('BACKCHANNEL_RETRY_BASE_DELAY', 'must not be longer than BACKCHANNEL_RETRY_MAX_DELAY');
  }

  if (e.NODE_ENV === 'production') {
    if (!e.GATEHOUSE_SECRET) {
      throw new ConfigError('GATEHOUSE_SECRET', 'is required in production (the generated development secret is refused)');
    }
    const url = new URL(issuer);
    if (url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname)) {
      throw new ConfigError('ISSUER', 'must use https in production');
    }
  }

  const primaryColor = fullHex(e.BRAND_PRIMARY_COLOR);
  if (contrastWithWhite(primaryColor) < 4.5) {
    throw new ConfigError('BRAND_PRIMARY_COLOR', `is too light for white text on it (contrast ${contrastWithWhite(primaryColor).toFixed(1)}:1, needs 4.5:1); choose a darker colour`);
  }

  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    issuer,
    databaseUrl,
    databaseProvider,
    dataDir: e.DATA_DIR,
    secret: e.GATEHOUSE_SECRET,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    ttl: Object.freeze({
      accessToken: e.ACCESS_TOKEN_TTL,
      idToken: e.ID_TOKEN_TTL,
      refreshToken: e.REFRESH_TOKEN_TTL,
      interaction: e.INTERACTION_TTL,
      authorizationCode: e.AUTHORIZATION_CODE_TTL,
      clientCredentials: e.CLIENT_CREDENTIALS_TTL,
    }),
    purgeIntervalSeconds: e.PURGE_INTERVAL,
    sessions: Object.freeze({
      idleTimeout: e.SESSION_IDLE_TIMEOUT,
      absoluteLifetime: e.SESSION_ABSOLUTE_LIFETIME,
      rememberIdleTimeout: e.SESSION_REMEMBER_IDLE_TIMEOUT,
      rememberAbsoluteLifetime: e.SESSION_REMEMBER_ABSOLUTE_LIFETIME,
      limit: e.SESSION_LIMIT,
      limitPolicy: e.SESSION_LIMIT_POLICY,
      sweepInterval: e.SESSION_SWEEP_INTERVAL,
      reauthenticationMaxAge: e.REAUTHENTICATION_MAX_AGE,
    }),
    backchannel: Object.freeze({
      timeout: e.BACKCHANNEL_TIMEOUT,
      retryWindow: e.BACKCHANNEL_RETRY_WINDOW,
      retryBaseDelay: e.BACKCHANNEL_RETRY_BASE_DELAY,
      retryMaxDelay: e.BACKCHANNEL_RETRY_MAX_DELAY,
      pollInterval: e.BACKCHANNEL_POLL_INTERVAL,
      concurrency: e.BACKCHANNEL_CONCURRENCY,
      allowedHosts: Object.freeze([...e.BACKCHANNEL_ALLOWED_HOSTS]),
    }),
    metricsToken: e.METRICS_TOKEN,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    brand: Object.freeze({ name: e.BRAND_NAME, logoUrl: parseLogoUrl(e.BRAND_LOGO_URL), primaryColor }),
    loginThrottle: Object.freeze({
      maxFailuresPerAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerIp: e.LOGIN_MAX_FAILURES_PER_IP,
      failureWindow: e.LOGIN_FAILURE_WINDOW,
      blockDuration: e.LOGIN_BLOCK_DURATION,
    }),
    allowedHosts: Object.freeze(parseAllowedHosts(e.ALLOWED_HOSTS, issuer)),
    passwordMinLength: e.PASSWORD_MIN_LENGTH,
    tokenRateLimit: e.TOKEN_RATE_LIMIT,
  });
}
