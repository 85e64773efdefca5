import type { NewAuditEvent } from '../../domain/audit/audit.js';
import type { NewUser, User, UserRepository, UserWithCredentials } from '../../domain/accounts/user.js';
import { writeWithAudit, type Tx } from './audit-log.js';
import type { Db } from './database.js';
import { mapPrismaError } from './errors.js';

const publicFields = { id: true, email: true, name: true, disabledAt: true, admin: true, createdAt: true, updatedAt: true } as const;

type Change = Partial<Pick<UserWithCredentials, 'passwordHash' | 'disabledAt' | 'admin' | 'name'>>;

export class PrismaUserRepository implements UserRepository {
  /** `provider` decides how a search ignores case (PostgreSQL compares case-sensitively unless told otherwise). */
  constructor(private readonly db: Db, private readonly provider: 'sqlite' | 'postgresql') {}

  async create(user: NewUser, audit?: NewAuditEvent): Promise<User> {
    try {
      return await writeWithAudit(this.db, audit, (tx) => tx.user.create({ data: user, select: publicFields }));
    } catch (error) {
      mapPrismaError(error, { conflict: { message: `A user with email ${user.email} already exists.`, reason: { code: 'user_exists', email: user.email } } });
    }
  }

  async findById(id: string): Promise<User | undefined> {
    return (await this.db.user.findUnique({ where: { id }, select: publicFields })) ?? undefined;
  }

  async findByEmail(email: string): Promise<UserWithCredentials | undefined> {
    return (await this.db.user.findUnique({ where: { email }, select: { ...publicFields, passwordHash: true } })) ?? undefined;
  }

  list(): Promise<User[]> {
    return this.db.user.findMany({ select: publicFields, orderBy: { email: 'asc' } });
  }

  private async change(id: string, data: Change, audit: NewAuditEvent | undefined): Promise<User> {
    try {
      return await writeWithAudit(this.db, audit, (tx: Tx) => tx.user.update({ where: { id }, data, select: publicFields }));
    } catch (error) {
      mapPrismaError(error, { notFound: { message: 'No such user.', reason: { code: 'user_not_found' } } });
    }
  }

  updatePasswordHash(id: string, passwordHash: string, audit?: NewAuditEvent): Promise<User> {
    return this.change(id, { passwordHash }, audit);
  }

  setAdmin(id: string, admin: boolean, audit?: NewAuditEvent): Promise<User> {
    return this.change(id, { admin }, audit);
  }

  setName(id: string, name: string | null, audit?: NewAuditEvent): Promise<User> {
    return this.change(id, { name }, audit);
  }

  setDisabledAt(id: string, disabledAt: Date | null, audit?: NewAuditEvent): Promise<User> {
    return this.change(id, { disabledAt }, audit);
  }

  search(text: string, limit: number, offset = 0): Promise<User[]> {
    const words = text.trim();
    // SQLite's LIKE already ignores (ASCII) case; PostgreSQL needs ILIKE, which Prisma calls mode: 'insensitive'.
    const insensitive = this.provider === 'postgresql' ? ({ mode: 'insensitive' } as unknown as object) : {};
    return this.db.user.findMany({
      where: words ? { OR: [{ email: { contains: words.toLowerCase() } }, { name: { contains: words, ...insensitive } }] } : {},
      select: publicFields,
      orderBy: { email: 'asc' },
      take: limit,
      ...(offset > 0 ? { skip: offset } : {}),
    });
  }
}
