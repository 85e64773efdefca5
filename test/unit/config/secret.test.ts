import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/env.js';
import { resolveSecret } from '../../../src/config/secret.js';

const CONFIGURED = 'configured-secret-with-enough-characters-0123456789';

describe('resolveSecret', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-secret-'));
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('generates a development secret once, in DATA_DIR, readable by its owner only', () => {
    const config = loadConfig({ DATA_DIR: join(dataDir, 'nested') });
    const first = resolveSecret(config);
    expect(first).toMatchObject({ generated: true, createdNow: true });
    expect(first.value.length).toBeGreaterThanOrEqual(32);

    const file = join(dataDir, 'nested', 'secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.value);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('reuses the kept secret on the next start, so data sealed by the first start stays readable', () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    const first = resolveSecret(config);
    const second = resolveSecret(config);
    expect(second).toEqual({ value: first.value, generated: true, createdNow: false });
  });

  it('generates a different secret for a different data directory', () => {
    const other = mkdtempSync(join(tmpdir(), 'gatehouse-secret-'));
    try {
      expect(resolveSecret(loadConfig({ DATA_DIR: dataDir })).value).not.toBe(resolveSecret(loadConfig({ DATA_DIR: other })).value);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('uses GATEHOUSE_SECRET when set, and writes nothing', () => {
    const secret = resolveSecret(loadConfig({ DATA_DIR: dataDir, GATEHOUSE_SECRET: CONFIGURED }));
    expect(secret).toEqual({ value: CONFIGURED, generated: false, createdNow: false });
    expect(() => statSync(join(dataDir, 'secret'))).toThrow();
  });

  it('prefers GATEHOUSE_SECRET over a development secret already kept', () => {
    resolveSecret(loadConfig({ DATA_DIR: dataDir }));
    expect(resolveSecret(loadConfig({ DATA_DIR: dataDir, GATEHOUSE_SECRET: CONFIGURED })).value).toBe(CONFIGURED);
  });

  it('refuses to run in production without GATEHOUSE_SECRET, even when a development secret exists', () => {
    resolveSecret(loadConfig({ DATA_DIR: dataDir }));
    // loadConfig already refuses this; resolveSecret must not rely on it.
    const production = { ...loadConfig({ DATA_DIR: dataDir }), nodeEnv: 'production' as const };
    expect(() => resolveSecret(production)).toThrow(ConfigError);
    expect(() => resolveSecret(production)).toThrow(/^GATEHOUSE_SECRET: /);
  });

  it('refuses a damaged development secret rather than replacing it', () => {
    writeFileSync(join(dataDir, 'secret'), 'truncated\n');
    expect(() => resolveSecret(loadConfig({ DATA_DIR: dataDir }))).toThrow(ConfigError);
    expect(readFileSync(join(dataDir, 'secret'), 'utf8')).toBe('truncated\n');
  });
});
