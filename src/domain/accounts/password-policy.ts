import { ValidationError } from '../errors.js';

/** ASVS V2.1.1: at least 12 characters by default; an operator may ask for more, or for as few as 8. */
export const DEFAULT_PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MIN_LENGTH_BOUNDS = { min: 8, max: 128 } as const;
// Bounded so a megabyte "password" cannot be used to burn hashing time.
export const PASSWORD_MAX_LENGTH = 256;

/** A list of common and breached passwords, lower case (the list is loaded by infra and injected). */
export interface CommonPasswords {
  has(lowercasePassword: string): boolean;
}

export interface PasswordPolicyOptions {
  readonly minLength: number;
  readonly commonPasswords: CommonPasswords;
}

// A run of digits and symbols people put before or after a word to pass composition rules ("Password123!"): at most
// this long, so that a long random tail is not taken for decoration.
const DECORATION = /^[^\p{L}]{1,6}|[^\p{L}]{1,6}$/gu;
// Repeating one or two characters ("aaaaaaaaaaaa", "abababababab") is no password, whatever its length.
const SHORTEST_ALLOWED_UNIT = 3;

/** The shortest string that the password is made of, repeated (the password itself when it repeats nothing). */
function repeatedUnit(password: string): string {
  for (let size = 1; size <= password.length / 2; size += 1) {
    if (password.length % size === 0 && password.slice(0, size).repeat(password.length / size) === password) return password.slice(0, size);
  }
  return password;
}

/**
 * The rule every new password follows (ASVS V2.1.1, V2.1.7), wherever it is set: user creation, an administrator's
 * reset, the user's own change. Existing passwords are not re-checked at sign-in. A password is refused when it is
 * shorter than the minimum or longer than the maximum, or when it, ignoring case, is on the list of common passwords,
 * is such a password with up to six digits or symbols before or after it ("Password123!", "2024qwerty"), or repeats
 * one such password or a unit of one or two characters ("monkeymonkey", "abababababab").
 */
export class PasswordPolicy {
  constructor(private readonly options: PasswordPolicyOptions) {}

  get minLength(): number {
    return this.options.minLength;
  }

  get maxLength(): number {
    return PASSWORD_MAX_LENGTH;
  }

  /** The password, or a ValidationError about `field` saying why it is refused. */
  check(password: string, field = 'password'): string {
    const { minLength } = this.options;
    if (password.length < minLength) {
      throw new ValidationError(`The password must be at least ${minLength} characters long.`, { field, reason: { code: 'password_too_short', min: minLength } });
    }
    if (password.length > PASSWORD_MAX_LENGTH) {
      throw new ValidationError(`The password must be at most ${PASSWORD_MAX_LENGTH} characters long.`, { field, reason: { code: 'password_too_long', max: PASSWORD_MAX_LENGTH } });
    }
    if (this.isCommon(password)) {
      throw new ValidationError('This password is on a list of common or leaked passwords, which attackers try first. Choose another one.', {
        field,
        reason: { code: 'password_common' },
      });
    }
    return password;
  }

  private isCommon(password: string): boolean {
    const lower = password.toLowerCase();
    const unit = repeatedUnit(lower);
    if (unit.length < SHORTEST_ALLOWED_UNIT) return true;
    const candidates = new Set([lower, lower.replace(DECORATION, ''), unit, unit.replace(DECORATION, '')]);
    candidates.delete('');
    return [...candidates].some((candidate) => this.options.commonPasswords.has(candidate));
  }
}
