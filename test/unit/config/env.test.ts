import { ConfigError, loadConfig } from '../../../src/config/env.js';

const SECRET = 'a-production-secret-of-at-least-32-characters';

/** The ConfigError loadConfig throws for env; fails the test when it does not throw one. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('defaults to a localhost issuer and an embedded SQLite database', () => {
    const config = loadConfig({});
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.databaseProvider).toBe('sqlite');
    expect(config.databaseUrl).toBe('file:./data/gatehouse.db');
  });

  it('names the variable that is invalid', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^PORT: /);
  });

  it('uses the documented defaults for every optional setting', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 3000,
      host: undefined,
      dataDir: './data',
      secret: undefined,
      logLevel: 'info',
      trustProxy: false,
      ttl: { accessToken: 3600, idToken: 3600, refreshToken: 14 * 24 * 3600, interaction: 3600, authorizationCode: 60, clientCredentials: 600 },
      purgeIntervalSeconds: 600,
    });
  });

  it('returns a frozen configuration', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ttl)).toBe(true);
  });

  describe.each([
    ['PORT', ['eighty', '70000', '-1', '80.5', ' ', '0x50', '1e3']],
    ['ISSUER', ['not a url', 'id.example.com', 'https://id.example.com/?tenant=1', 'https://id.example.com/#top', 'ftp://id.example.com', 'https://user:pw@id.example.com']],
    ['DATABASE_URL', ['mysql://localhost/gatehouse', 'sqlite:gatehouse.db', 'gatehouse.db', 'postgres://[bad']],
    ['GATEHOUSE_SECRET', ['short', 'x'.repeat(31)]],
    ['LOG_LEVEL', ['verbose', 'INFO']],
    ['TRUST_PROXY', ['maybe', 'TRUE', 'on']],
    ['NODE_ENV', ['staging']],
    ['ACCESS_TOKEN_TTL', ['0', '-60', '1.5', 'an hour']],
    ['ID_TOKEN_TTL', ['0', '2.5']],
    ['REFRESH_TOKEN_TTL', ['-1', 'soon']],
    ['SESSION_IDLE_TIMEOUT', ['0']],
    ['INTERACTION_TTL', ['0.1']],
    ['AUTHORIZATION_CODE_TTL', ['0']],
    ['CLIENT_CREDENTIALS_TTL', ['-600']],
    ['PURGE_INTERVAL', ['0', String(11 * 365 * 24 * 3600)]],
  ] as const)('%s', (variable, invalidValues) => {
    it.each(invalidValues)('refuses %j and names the variable', (value) => {
      const error = configError({ [variable]: value });
      expect(error.variable).toBe(variable);
      expect(error.message.startsWith(`${variable}: `)).toBe(true);
      // The rest of the message says what is expected, not just that something failed.
      expect(error.message.length).toBeGreaterThan(`${variable}: `.length + 10);
    });
  });

  it('explains what a wrong TTL should look like', () => {
    expect(configError({ SESSION_IDLE_TIMEOUT: '0' }).message).toBe('SESSION_IDLE_TIMEOUT: must be greater than 0');
    expect(configError({ SESSION_IDLE_TIMEOUT: '1.5' }).message).toBe('SESSION_IDLE_TIMEOUT: must be a whole number of seconds');
  });

  it('accepts valid values', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      ACCESS_TOKEN_TTL: '300',
      REFRESH_TOKEN_TTL: '86400',
      AUTHORIZATION_CODE_TTL: '30',
      PURGE_INTERVAL: '60',
      DATA_DIR: '/var/lib/gatehouse',
    });
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', logLevel: 'debug', issuer: 'http://localhost:8080', purgeIntervalSeconds: 60 });
    expect(config.ttl).toMatchObject({ accessToken: 300, refreshToken: 86400, authorizationCode: 30 });
    expect(config.databaseUrl).toBe('file:/var/lib/gatehouse/gatehouse.db');
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads TRUST_PROXY=%s as %s', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toBe(expected);
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig({
      PORT: '',
      HOST: '',
      ISSUER: '',
      DATABASE_URL: '',
      GATEHOUSE_SECRET: '',
      LOG_LEVEL: '',
      TRUST_PROXY: '',
      SESSION_IDLE_TIMEOUT: '',
      NODE_ENV: '',
    });
    expect(config).toMatchObject({ port: 3000, host: undefined, issuer: 'http://localhost:3000', databaseProvider: 'sqlite', secret: undefined, logLevel: 'info', trustProxy: false, nodeEnv: 'development' });
    expect(config.sessions.idleTimeout).toBe(30 * 60);
  });

  it('does not read variables left undefined', () => {
    expect(loadConfig({ PORT: undefined, ISSUER: undefined }).issuer).toBe('http://localhost:3000');
  });

  describe('brand', () => {
    it('defaults to Gatehouse in its blue, without a logo', () => {
      expect(loadConfig({}).brand).toEqual({ name: 'Gatehouse', logoUrl: undefined, primaryColor: '#1f5fbf' });
    });

    it('takes a name, a logo (an http(s) URL) and a colour, normalised to #rrggbb', () => {
      expect(loadConfig({ BRAND_NAME: ' Acme ID ', BRAND_LOGO_URL: 'https://cdn.acme.example/logo.svg', BRAND_PRIMARY_COLOR: '#036' }).brand).toEqual({
        name: 'Acme ID',
        logoUrl: 'https://cdn.acme.example/logo.svg',
        primaryColor: '#003366',
      });
      expect(loadConfig({ BRAND_LOGO_URL: 'http://localhost:8080/logo.png' }).brand.logoUrl).toBe('http://localhost:8080/logo.png');
    });

    it.each([
      [{ BRAND_NAME: '<b>Acme</b>' }, 'BRAND_NAME', 'without < or >'],
      [{ BRAND_NAME: 'x'.repeat(61) }, 'BRAND_NAME', 'at most 60'],
      [{ BRAND_LOGO_URL: 'javascript:alert(1)' }, 'BRAND_LOGO_URL', 'must be an http(s) URL'],
      [{ BRAND_LOGO_URL: '//evil.example/logo.png' }, 'BRAND_LOGO_URL', 'must be an http(s) URL'],
      // Gatehouse serves no such file: a path is refused rather than shown as a broken image.
      [{ BRAND_LOGO_URL: '/assets/logo.svg' }, 'BRAND_LOGO_URL', 'does not serve files of its own'],
      [{ BRAND_LOGO_URL: 'https://user:pw@cdn.example/logo.svg' }, 'BRAND_LOGO_URL', 'must not contain credentials'],
      [{ BRAND_PRIMARY_COLOR: 'blue' }, 'BRAND_PRIMARY_COLOR', 'hex colour'],
      [{ BRAND_PRIMARY_COLOR: '#ffee88' }, 'BRAND_PRIMARY_COLOR', 'too light for white text'],
    ])('refuses %j', (env, variable, message) => {
      const error = configError(env as Record<string, string>);
      expect(error.variable).toBe(variable);
      expect(error.message).toContain(message);
    });
  });

  describe('password minimum length', () => {
    it('is 12 by default and configurable from 8 to 128', () => {
      expect(loadConfig({}).passwordMinLength).toBe(12);
      expect(loadConfig({ PASSWORD_MIN_LENGTH: '8' }).passwordMinLength).toBe(8);
      expect(loadConfig({ PASSWORD_MIN_LENGTH: '128' }).passwordMinLength).toBe(128);
    });

    it.each([['7', 'at least 8'], ['129', 'at most 128'], ['twelve', 'whole number'], ['-12', 'whole number']])('refuses %j', (value, message) => {
      const error = configError({ PASSWORD_MIN_LENGTH: value });
      expect(error.variable).toBe('PASSWORD_MIN_LENGTH');
      expect(error.message).toContain(message);
    });
  });

  describe('token endpoint rate limit', () => {
    it('is 600 tokens a minute per client by default, 0 turning it off', () => {
      expect(loadConfig({}).tokenRateLimit).toBe(600);
      expect(loadConfig({ TOKEN_RATE_LIMIT: '0' }).tokenRateLimit).toBe(0);
      expect(loadConfig({ TOKEN_RATE_LIMIT: '5000' }).tokenRateLimit).toBe(5000);
    });

    it.each([['-1', 'whole number'], ['ten', 'whole number'], ['2.5', 'whole number'], ['1000001', 'at most 1000000']])('refuses %j', (value, message) => {
      const error = configError({ TOKEN_RATE_LIMIT: value });
      expect(error.variable).toBe('TOKEN_RATE_LIMIT');
      expect(error.message).toContain(message);
    });
  });

  describe('issuer', () => {
    it('drops a trailing slash so relying parties can compare it as a string', () => {
      expect(loadConfig({ ISSUER: 'https://id.example.com/' }).issuer).toBe('https://id.example.com');
    });

    it('follows PORT when not configured', () => {
      expect(loadConfig({ PORT: '4000' }).issuer).toBe('http://localhost:4000');
    });

    it('says why an issuer is refused', () => {
      expect(configError({ ISSUER: 'https://id.example.com/?a=1' }).message).toMatch(/query or fragment/);
      expect(configError({ ISSUER: 'ftp://id.example.com' }).message).toMatch(/https/);
      expect(configError({ ISSUER: '/relative' }).message).toMatch(/absolute URL/);
    });
  });

  describe('database URL', () => {
    it.each([
      ['file:./data/gatehouse.db', 'sqlite'],
      ['file:/var/lib/gatehouse/gatehouse.db', 'sqlite'],
      ['postgres://gatehouse@db.internal:5432/gatehouse', 'postgresql'],
      ['postgresql://gatehouse:pw@db.internal/gatehouse?schema=auth', 'postgresql'],
    ])('detects %s as %s', (url, provider) => {
      const config = loadConfig({ DATABASE_URL: url });
      expect(config.databaseProvider).toBe(provider);
      expect(config.databaseUrl).toBe(url);
    });

    it('derives the SQLite file from DATA_DIR when DATABASE_URL is unset', () => {
      expect(loadConfig({ DATA_DIR: '/srv/gh/' }).databaseUrl).toBe('file:/srv/gh/gatehouse.db');
    });

    it('refuses other schemes with a message naming both accepted ones', () => {
      expect(configError({ DATABASE_URL: 'mysql://localhost/gatehouse' }).message).toMatch(/^DATABASE_URL: .*file:.*postgres:\/\//);
    });
  });

  describe('in production', () => {
    it('refuses a missing GATEHOUSE_SECRET (no generated development secret)', () => {
      const error = configError({ NODE_ENV: 'production', ISSUER: 'https://id.example.com' });
      expect(error.variable).toBe('GATEHOUSE_SECRET');
      expect(error.message).toMatch(/required in production/);
    });

    it('refuses an empty GATEHOUSE_SECRET, which counts as missing', () => {
      expect(configError({ NODE_ENV: 'production', ISSUER: 'https://id.example.com', GATEHOUSE_SECRET: '' }).variable).toBe('GATEHOUSE_SECRET');
    });

    it.each(['http://id.example.com', 'http://localhost.example.com', 'http://10.0.0.5:3000'])('refuses the plain http issuer %s', (issuer) => {
      const error = configError({ NODE_ENV: 'production', ISSUER: issuer, GATEHOUSE_SECRET: SECRET });
      expect(error.variable).toBe('ISSUER');
      expect(error.message).toMatch(/https/);
    });

    it.each(['https://id.example.com', 'http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000'])('accepts %s', (issuer) => {
      const config = loadConfig({ NODE_ENV: 'production', ISSUER: issuer, GATEHOUSE_SECRET: SECRET });
      expect(config.nodeEnv).toBe('production');
      expect(config.issuer).toBe(issuer);
      expect(config.secret).toBe(SECRET);
    });

    it('does not apply the production rules in development', () => {
      expect(loadConfig({ NODE_ENV: 'development', ISSUER: 'http://id.example.com' }).issuer).toBe('http://id.example.com');
    });
  });

  it('refuses an issuer with a path, since every endpoint is served at the root', () => {
    expect(() => loadConfig({ ISSUER: 'https://example.com/id' })).toThrow('ISSUER: must be an origin without a path');
    expect(loadConfig({ ISSUER: 'https://example.com/' }).issuer).toBe('https://example.com');
  });
});

describe('loadConfig: login throttle and Redis', () => {
  it('defaults to in-memory counters and the documented limits', () => {
    expect(loadConfig({})).toMatchObject({
      redisUrl: undefined,
      redisKeyPrefix: 'gatehouse',
      loginThrottle: { maxFailuresPerAccount: 10, maxFailuresPerIp: 50, failureWindow: 900, blockDuration: 900 },
    });
  });

  it('reads the limits and a redis:// or rediss:// URL', () => {
    const config = loadConfig({ REDIS_URL: 'rediss://cache.internal:6380/2', LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '7', LOGIN_FAILURE_WINDOW: '60', LOGIN_BLOCK_DURATION: '120' });
    expect(config.redisUrl).toBe('rediss://cache.internal:6380/2');
    expect(config.loginThrottle).toEqual({ maxFailuresPerAccount: 3, maxFailuresPerIp: 7, failureWindow: 60, blockDuration: 120 });
  });

  it.each([
    ['REDIS_URL', 'http://cache.internal'],
    ['REDIS_URL', 'redis://'],
    ['LOGIN_MAX_FAILURES_PER_ACCOUNT', '0'],
    ['LOGIN_MAX_FAILURES_PER_IP', 'many'],
    ['LOGIN_FAILURE_WINDOW', '-5'],
    ['LOGIN_BLOCK_DURATION', '1.5'],
  ])('names %s when it is invalid (%s)', (variable, value) => {
    expect(configError({ [variable]: value }).variable).toBe(variable);
  });
});

describe('loadConfig: back-channel logout and metrics', () => {
  it('defaults to a 5-second timeout, 24 hours of retries, 16 in flight, no allow-list and no /metrics', () => {
    expect(loadConfig({})).toMatchObject({
      backchannel: { timeout: 5, retryWindow: 86400, retryBaseDelay: 5, retryMaxDelay: 3600, pollInterval: 5, concurrency: 16, allowedHosts: [] },
      metricsToken: undefined,
    });
  });

  it('reads every setting; the allow-list is trimmed and lower-cased', () => {
    const config = loadConfig({
      BACKCHANNEL_TIMEOUT: '2', BACKCHANNEL_RETRY_WINDOW: '600', BACKCHANNEL_RETRY_BASE_DELAY: '1', BACKCHANNEL_RETRY_MAX_DELAY: '60',
      BACKCHANNEL_POLL_INTERVAL: '1', BACKCHANNEL_CONCURRENCY: '4', BACKCHANNEL_ALLOWED_HOSTS: ' Logout.Internal , 10.0.0.5,', METRICS_TOKEN: 'm'.repeat(32),
    });
    expect(config.backchannel).toEqual({ timeout: 2, retryWindow: 600, retryBaseDelay: 1, retryMaxDelay: 60, pollInterval: 1, concurrency: 4, allowedHosts: ['logout.internal', '10.0.0.5'] });
    expect(config.metricsToken).toBe('m'.repeat(32));
  });

  it.each([
    ['BACKCHANNEL_TIMEOUT', '0'],
    ['BACKCHANNEL_CONCURRENCY', '0'],
    ['BACKCHANNEL_RETRY_WINDOW', 'a day'],
    ['BACKCHANNEL_ALLOWED_HOSTS', 'https://logout.internal/'],
    ['METRICS_TOKEN', 'short'],
  ])('names %s when it is invalid (%s)', (variable, value) => {
    expect(configError({ [variable]: value }).variable).toBe(variable);
  });

  it('refuses a base delay longer than the cap', () => {
    expect(configError({ BACKCHANNEL_RETRY_BASE_DELAY: '100', BACKCHANNEL_RETRY_MAX_DELAY: '10' }).variable).toBe('BACKCHANNEL_RETRY_BASE_DELAY');
  });
});

describe('loadConfig: the host names served besides the issuer', () => {
  it('defaults to none', () => {
    expect(loadConfig({}).allowedHosts).toEqual([]);
  });

  it('reads a comma-separated list in canonical form: lower case, default port and final dot dropped, IPv6 compressed', () => {
    const config = loadConfig({ ISSUER: 'https://id.example.com', ALLOWED_HOSTS: ' ID.Example.NET , login.example.com:443,gatehouse.internal.:3000, [0:0::1]:8443, 10.0.0.5,' });
    expect(config.allowedHosts).toEqual(['id.example.net', 'login.example.com', 'gatehouse.internal:3000', '[::1]:8443', '10.0.0.5']);
  });

  it.each(['https://id.example.net', 'id.example.net/path', 'user@id.example.net', 'id example', 'id.example.net:70000', '[::1', '*.example.net'])(
    'refuses %s, naming ALLOWED_HOSTS',
    (entry) => {
      const error = configError({ ALLOWED_HOSTS: `ok.example.net,${entry}` });
      expect(error.variable).toBe('ALLOWED_HOSTS');
      expect(error.message).toContain('comma-separated list of host names');
    },
  );
});
