import { DEFAULT_PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, PasswordPolicy } from '../../../../src/domain/accounts/password-policy.js';
import { ValidationError } from '../../../../src/domain/errors.js';
import { commonPasswords } from '../../../../src/infra/common-passwords.js';
import { defaultPasswordPolicy } from '../../../support/password-policy.js';

/** The reason and field of the refusal, or 'accepted'. */
function verdict(policy: PasswordPolicy, password: string, field?: string): string {
  try {
    policy.check(password, field);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return `${error.reason?.code} (${error.field})`;
  }
}

describe('the password policy (ASVS V2.1.1, V2.1.7)', () => {
  const policy = defaultPasswordPolicy();

  it('wants 12 to 256 characters by default, naming the limit', () => {
    expect(DEFAULT_PASSWORD_MIN_LENGTH).toBe(12);
    expect(verdict(policy, 'x7#Kq2!vWz9')).toBe('password_too_short (password)');
    expect(verdict(policy, 'x7#Kq2!vWz9m')).toBe('accepted');
    expect(verdict(policy, 'k'.repeat(PASSWORD_MAX_LENGTH - 3) + 'a1!')).toBe('accepted');
    expect(verdict(policy, 'k'.repeat(PASSWORD_MAX_LENGTH - 2) + 'a1!')).toBe('password_too_long (password)');
    expect(() => policy.check('short')).toThrow('at least 12 characters');
  });

  it('takes its minimum from the configuration', () => {
    const relaxed = defaultPasswordPolicy(8);
    expect(verdict(relaxed, 'x7#Kq2!v')).toBe('accepted');
    expect(verdict(defaultPasswordPolicy(20), 'correct horse battery')).toBe('accepted');
    expect(verdict(defaultPasswordPolicy(20), 'correct horse batter')).toBe('accepted');
    expect(verdict(defaultPasswordPolicy(21), 'correct horse batter')).toBe('password_too_short (password)');
  });

  it('loads the offline list once, in lower case', () => {
    const list = commonPasswords();
    expect(commonPasswords()).toBe(list);
    expect(list.has('password')).toBe(true);
    expect(list.has('qwertyuiop')).toBe(true);
    expect(list.has('correct horse battery staple')).toBe(false);
  });

  it.each([
    // On the list as they are (12 characters and more).
    '1qaz2wsx3edc', 'qwerty123456', 'leavemealone', '123456789012',
    // Case does not matter.
    'LeaveMeAlone', 'QWERTY123456',
    // A common password with digits or symbols before or after it.
    'Password123!', 'password2024', 'P@ssw0rd2024', 'Qwertyuiop1!', '2024football', '!!sunshine!!', 'iloveyou1234',
    // A common password repeated, or one or two characters over and over.
    'monkeymonkey', 'DragonDragon', 'aaaaaaaaaaaa', 'abababababab', '121212121212',
  ])('refuses %j as common, in the field the form names', (password) => {
    expect(verdict(policy, password, 'new_password')).toBe('password_common (new_password)');
  });

  it.each(['correct horse battery staple', 'demo password 123', 'x7#Kq2!vWz9m', 'tolerable-octopus-42', 'monkey84739201937', 'abcabcabcabd'])(
    'accepts %j',
    (password) => {
      expect(verdict(policy, password)).toBe('accepted');
    },
  );

  it('words its refusal clearly', () => {
    expect(() => policy.check('Password123!')).toThrow('This password is on a list of common or leaked passwords, which attackers try first. Choose another one.');
  });
});
