export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly disabledAt: Date | null;
  /** May use the admin console. */
  readonly admin: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface UserWithCredentials extends User {
  readonly passwordHash: string;
}

export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly passwordHash: string;
}

export interface UserRepository {
  /** Throws ConflictError when the email is taken. */
  create(user: NewUser): Promise<User>;
  findById(id: string): Promise<User | undefined>;
  findByEmail(email: string): Promise<UserWithCredentials | undefined>;
  list(): Promise<User[]>;
  /** Throws NotFoundError when there is no such user. */
  updatePasswordHash(id: string, passwordHash: string): Promise<User>;
  /** Throws NotFoundError when there is no such user. */
  setDisabledAt(id: string, disabledAt: Date | null): Promise<User>;
  /** Throws NotFoundError when there is no such user. */
  setAdmin(id: string, admin: boolean): Promise<User>;
  /** Throws NotFoundError when there is no such user. */
  setName(id: string, name: string | null): Promise<User>;
  /** Users whose email or name contains `text` (emails are lower case), by email, at most `limit`. */
  search(text: string, limit: number): Promise<User[]>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Resolves false for a wrong password or a malformed hash; never throws for either. */
  verify(hash: string, password: string): Promise<boolean>;
}
