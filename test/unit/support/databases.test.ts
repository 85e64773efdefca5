import { databaseKinds, MISSING_DATABASE_IN_CI } from '../../support/databases.js';

// The test helpers decide which databases every database test runs on; CI must not lose PostgreSQL silently.
describe('databaseKinds', () => {
  it('runs on SQLite and PostgreSQL when TEST_DATABASE_URL is set, in CI or not', () => {
    expect(databaseKinds({ TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' })).toEqual(['sqlite', 'postgresql']);
    expect(databaseKinds({ TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', CI: 'true' })).toEqual(['sqlite', 'postgresql']);
  });

  it('locally skips PostgreSQL without TEST_DATABASE_URL', () => {
    expect(databaseKinds({})).toEqual(['sqlite']);
    expect(databaseKinds({ CI: 'false' })).toEqual(['sqlite']);
  });

  it('fails loudly in CI without TEST_DATABASE_URL', () => {
    expect(() => databaseKinds({ CI: 'true' })).toThrow(MISSING_DATABASE_IN_CI);
  });
});
