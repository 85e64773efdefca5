import { dictionary } from '@zxcvbn-ts/language-common';
import type { CommonPasswords } from '../domain/accounts/password-policy.js';

let loaded: ReadonlySet<string> | undefined;

/**
 * zxcvbn-ts's offline list of common and breached passwords (about 49,000, from leaked password dumps), lower case,
 * loaded once per process. Nothing is sent anywhere: there is no online (k-anonymity) check.
 */
export function commonPasswords(): CommonPasswords {
  loaded ??= new Set((dictionary['passwords-common'] as readonly string[]).map((password) => password.toLowerCase()));
  return loaded;
}
