import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { InvalidCredentialsError, NotFoundError, ValidationError } from '../errors.js';
import type { PasswordHasher, User, UserRepository } from './user.js';

export const PASSWORD_MIN_LENGTH = 8;
// Bounded so a megabyte "password" cannot be used to burn hashing time.
export const PASSWORD_MAX_LENGTH = 256;
const NAME_MAX_LENGTH = 200;
const EMAIL_MAX_LENGTH = 254;
// Deliberately simple: one @, something on each side, a dot in the domain, no spaces.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length === 0 || email.length > EMAIL_MAX_LENGTH || !EMAIL_PATTERN.test(email)) {
    throw new ValidationError('Enter a valid email address.', { field: 'email' });
  }
  return email;
}

export function validatePassword(password: string): string {
  if (password.length < PASSWORD_MIN_LENGTH) {
    throw new ValidationError(`The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`, { field: 'password' });
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    throw new ValidationError(`The password must be at most ${PASSWORD_MAX_LENGTH} characters long.`, { field: 'password' });
  }
  return password;
}

function normalizeName(raw: string | undefined | null): string | null {
  if (raw === undefined || raw === null) return null;
  const name = raw.trim();
  if (name.length === 0) return null;
  if (name.length > NAME_MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ValidationError(`The name must be at most ${NAME_MAX_LENGTH} printable characters.`, { field: 'name' });
  }
  return name;
}

export interface AccountServiceDeps {
  readonly users: UserRepository;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
}

export class AccountService {
  // Verifying against this hash when the user does not exist makes unknown users cost what known ones cost.
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: AccountServiceDeps) {}

  async createUser(input: { email: string; password: string; name?: string | null }): Promise<User> {
    const email = normalizeEmail(input.email);
    const name = normalizeName(input.name);
    const passwordHash = await this.deps.hasher.hash(validatePassword(input.password));
    return this.deps.users.create({ id: randomUUID(), email, name, passwordHash });
  }

  /** The user for these credentials, or InvalidCredentialsError with one message whatever went wrong. */
  async authenticate(login: string, password: string): Promise<User> {
    let email: string | undefined;
    try {
      email = normalizeEmail(login);
    } catch {
      email = undefined;
    }
    const tooLong = password.length > PASSWORD_MAX_LENGTH;
    const user = email ? await this.deps.users.findByEmail(email) : undefined;
    const hash = user?.passwordHash ?? (await this.dummy());
    const matches = await this.deps.hasher.verify(hash, tooLong ? '' : password);
    if (!user || !matches || tooLong) throw new InvalidCredentialsError({ debug: { reason: user ? 'password' : 'unknown-user' } });
    if (user.disabledAt) throw new InvalidCredentialsError({ debug: { reason: 'disabled', userId: user.id } });
    const { passwordHash: _omitted, ...publicUser } = user;
    return publicUser;
  }

  async findActiveById(id: string): Promise<User | undefined> {
    const user = await this.deps.users.findById(id);
    return user && !user.disabledAt ? user : undefined;
  }

  async getByEmail(rawEmail: string): Promise<User> {
    const user = await this.deps.users.findByEmail(normalizeEmail(rawEmail));
    if (!user) throw new NotFoundError(`No user with email ${rawEmail.trim().toLowerCase()}.`);
    const { passwordHash: _omitted, ...publicUser } = user;
    return publicUser;
  }

  list(): Promise<User[]> {
    return this.deps.users.list();
  }

  async setPassword(rawEmail: string, password: string): Promise<User> {
    const user = await this.getByEmail(rawEmail);
    const hash = await this.deps.hasher.hash(validatePassword(password));
    return this.deps.users.updatePasswordHash(user.id, hash);
  }

  async disable(rawEmail: string): Promise<User> {
    const user = await this.getByEmail(rawEmail);
    if (user.disabledAt) return user;
    return this.deps.users.setDisabledAt(user.id, this.deps.clock.now());
  }

  async enable(rawEmail: string): Promise<User> {
    const user = await this.getByEmail(rawEmail);
    if (!user.disabledAt) return user;
    return this.deps.users.setDisabledAt(user.id, null);
  }

  /** Computes the stand-in hash ahead of time, so the first unknown-user login costs what later ones cost. */
  async warmUp(): Promise<void> {
    await this.dummy();
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.deps.hasher.hash('gatehouse-timing-equaliser');
    return this.dummyHash;
  }
}
