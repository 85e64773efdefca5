import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Config } from './env.js';

export interface ResolvedSecret {
  readonly value: string;
  /** True when the secret was generated for development and kept in DATA_DIR. */
  readonly generated: boolean;
  readonly createdNow: boolean;
}

const SECRET_FILE = 'secret';

/**
 * GATEHOUSE_SECRET when configured. Outside production, a random secret generated once and kept (mode 0600) in
 * DATA_DIR so that a second start can still decrypt the keys and verify the cookies of the first.
 */
export function resolveSecret(config: Config): ResolvedSecret {
  if (config.secret) return { value: config.secret, generated: false, createdNow: false };
  if (config.nodeEnv === 'production') throw new ConfigError('GATEHOUSE_SECRET', 'is required in production');
  const file = join(config.dataDir, SECRET_FILE);
  if (existsSync(file)) {
    const value = readFileSync(file, 'utf8').trim();
    if (value.length < 32) throw new ConfigError('GATEHOUSE_SECRET', `the development secret in ${file} is damaged; restore it or remove it together with the database`);
    return { value, generated: true, createdNow: false };
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const value = randomBytes(48).toString('base64url');
  try {
    writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process (the CLI and the server started together) wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return resolveSecret(config);
    throw error;
  }
  chmodSync(file, 0o600);
  return { value, generated: true, createdNow: true };
}
