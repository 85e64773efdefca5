import { Argon2PasswordHasher } from '../../../src/infra/argon2-password-hasher.js';

describe('Argon2PasswordHasher', () => {
  const hasher = new Argon2PasswordHasher();
  let hash: string;

  beforeAll(async () => {
    hash = await hasher.hash('correct horse battery staple');
  });

  it('produces argon2id hashes with the OWASP parameters (m=19456, t=2, p=1)', () => {
    // PHC string format: $argon2id$v=19$<params>$<salt>$<hash>; the library decides the order of the parameters.
    const [, variant, version, params, salt, digest] = hash.split('$');
    expect(variant).toBe('argon2id');
    expect(version).toBe('v=19');
    expect(Object.fromEntries(params!.split(',').map((pair) => pair.split('=')))).toEqual({ m: '19456', t: '2', p: '1' });
    expect(salt!.length).toBeGreaterThanOrEqual(22);
    expect(digest!.length).toBeGreaterThanOrEqual(43);
  });

  it('salts every hash', async () => {
    expect(await hasher.hash('correct horse battery staple')).not.toBe(hash);
  });

  it('verifies the right password', async () => {
    expect(await hasher.verify(hash, 'correct horse battery staple')).toBe(true);
  });

  it('rejects a wrong password', async () => {
    expect(await hasher.verify(hash, 'correct horse battery stapler')).toBe(false);
    expect(await hasher.verify(hash, '')).toBe(false);
  });

  it.each(['', 'not-a-hash', '$argon2id$v=19$m=19456,t=2,p=1$broken', '$2b$10$abcdefghijklmnopqrstuv'])('resolves false for the malformed hash %j instead of throwing', async (malformed) => {
    await expect(hasher.verify(malformed, 'correct horse battery staple')).resolves.toBe(false);
  });
});
