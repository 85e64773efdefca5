import { SecretMismatchError } from '../../../src/domain/errors.js';
import { AesGcmSecretBox, deriveKey } from '../../../src/infra/secret-box.js';

const SECRET = 'first-secret-with-enough-characters-0123456789';
const OTHER = 'other-secret-with-enough-characters-0123456789';

function flipFirstChar(part: string): string {
  return (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
}

describe('AesGcmSecretBox', () => {
  const box = new AesGcmSecretBox(SECRET);

  it.each(['client secret', '', '{"kty":"EC","d":"private"}', 'ünïcødé ✓'])('opens what it sealed: %j', (plaintext) => {
    expect(box.open(box.seal(plaintext))).toBe(plaintext);
  });

  it('opens with a new box built from the same secret (a restart)', () => {
    expect(new AesGcmSecretBox(SECRET).open(box.seal('kept'))).toBe('kept');
  });

  it('does not reveal the plaintext', () => {
    const sealed = box.seal('a-very-recognisable-plaintext');
    expect(sealed).not.toContain('a-very-recognisable-plaintext');
    expect(sealed).not.toContain(Buffer.from('a-very-recognisable-plaintext').toString('base64url'));
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]*\.[\w-]+$/);
  });

  it('seals the same text differently every time', () => {
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses data sealed with another secret, with SecretMismatchError', () => {
    const sealed = new AesGcmSecretBox(OTHER).seal('secret');
    expect(() => box.open(sealed)).toThrow(SecretMismatchError);
    expect(() => box.open(sealed)).toThrow(/GATEHOUSE_SECRET/);
  });

  it.each([0, 1, 2, 3])('refuses a sealed value whose part %i was tampered with', (index) => {
    const parts = box.seal('tamper with me').split('.');
    parts[index] = flipFirstChar(parts[index]!);
    expect(() => box.open(parts.join('.'))).toThrow(SecretMismatchError);
  });

  it('refuses a truncated authentication tag', () => {
    const [version, nonce, ciphertext, tag] = box.seal('tamper with me').split('.');
    const shortTag = Buffer.from(tag!, 'base64url').subarray(0, 4).toString('base64url');
    expect(() => box.open([version, nonce, ciphertext, shortTag].join('.'))).toThrow(SecretMismatchError);
  });

  it.each(['', 'plaintext', 'v1.only.three', 'v2.a.b.c', 'v3.a.b.c'])('refuses the malformed value %j with SecretMismatchError', (value) => {
    expect(() => box.open(value)).toThrow(SecretMismatchError);
    expect(() => box.open(value, 'totp:user-1')).toThrow(SecretMismatchError);
  });

  describe('with a context (associated data)', () => {
    it('opens only under the context it was sealed with', () => {
      const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:user-1');
      expect(sealed).toMatch(/^v2\.[\w-]+\.[\w-]*\.[\w-]+$/);
      expect(box.open(sealed, 'totp:user-1')).toBe('JBSWY3DPEHPK3PXP');
      expect(() => box.open(sealed, 'totp:user-2')).toThrow(SecretMismatchError);
      expect(() => box.open(sealed, 'totp:user-2')).toThrow(/belongs to another record/);
      expect(() => box.open(sealed)).toThrow(SecretMismatchError);
    });

    it('refuses, under any context, a value sealed without one (a client secret copied into a TOTP row)', () => {
      const unbound = box.seal('JBSWY3DPEHPK3PXP');
      expect(box.open(unbound)).toBe('JBSWY3DPEHPK3PXP');
      expect(() => box.open(unbound, 'totp:user-1')).toThrow(SecretMismatchError);
    });

    it('refuses a bound value relabelled as one without a context', () => {
      const relabelled = box.seal('JBSWY3DPEHPK3PXP', 'totp:user-1').replace(/^v2\./, 'v1.');
      expect(() => box.open(relabelled, 'totp:user-2')).toThrow(SecretMismatchError);
    });
  });
});

describe('deriveKey', () => {
  it('derives a 256-bit key that depends on the secret and the purpose', () => {
    const encryption = deriveKey(SECRET, 'data-encryption');
    expect(encryption).toHaveLength(32);
    expect(deriveKey(SECRET, 'data-encryption').equals(encryption)).toBe(true);
    expect(deriveKey(SECRET, 'cookie-signing').equals(encryption)).toBe(false);
    expect(deriveKey(SECRET, 'csrf').equals(encryption)).toBe(false);
    expect(deriveKey(SECRET, 'csrf').equals(deriveKey(SECRET, 'cookie-signing'))).toBe(false);
    expect(deriveKey(OTHER, 'data-encryption').equals(encryption)).toBe(false);
  });

  it('never uses the secret itself as a key', () => {
    expect(deriveKey(SECRET, 'cookie-signing').toString('utf8')).not.toContain(SECRET.slice(0, 16));
  });
});
