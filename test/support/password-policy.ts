import { DEFAULT_PASSWORD_MIN_LENGTH, PasswordPolicy } from '../../src/domain/accounts/password-policy.js';
import { commonPasswords } from '../../src/infra/common-passwords.js';

/** The policy Gatehouse runs with by default: the real list of common passwords, the default minimum. */
export function defaultPasswordPolicy(minLength = DEFAULT_PASSWORD_MIN_LENGTH): PasswordPolicy {
  return new PasswordPolicy({ minLength, commonPasswords: commonPasswords() });
}
