import { ConfigError, loadConfig } from '../../../src/config/env.js';

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
});
