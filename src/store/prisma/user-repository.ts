import type { NewUser, User, UserRepository, UserWithCredentials } from '../../domain/accounts/user.js';
import type { Db } from './database.js';
import { mapPrismaError } from './errors.js';

const publicFields = { id: true, email: true, name: true, disabledAt: true, admin: true, createdAt: true, updatedAt: true } as const;

export class PrismaUserRepository implements UserRepository {
  constructor(private readonly db: Db) {}

  async create(user: NewUser): Promise<User> {
    try {
      return await this.db.user.create({ data: user, select: publicFields });
    } catch (error) {
      mapPrismaError(error, { conflict: `A user with email ${user.email} already exists.` });
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

  async updatePasswordHash(id: string, passwordHash: string): Promise<User> {
    try {
      return await this.db.user.update({ where: { id }, data: { passwordHash }, select: publicFields });
    } catch (error) {
      mapPrismaError(error, { notFound: 'No such user.' });
    }
  }

  async setAdmin(id: string, admin: boolean): Promise<User> {
    try {
      return await this.db.user.update({ where: { id }, data: { admin }, select: publicFields });
    } catch (error) {
      mapPrismaError(error, { notFound: 'No such user.' });
    }
  }

  async setName(id: string, name: string | null): Promise<User> {
    try {
      return await this.db.user.update({ where: { id }, data: { name }, select: publicFields });
    } catch (error) {
      mapPrismaError(error, { notFound: 'No such user.' });
    }
  }

  search(text: string, limit: number): Promise<User[]> {
    const words = text.trim();
    return this.db.user.findMany({
      where: words ? { OR: [{ email: { contains: words.toLowerCase() } }, { name: { contains: words } }] } : {},
      select: publicFields,
      orderBy: { email: 'asc' },
      take: limit,
    });
  }

  async setDisabledAt(id: string, disabledAt: Date | null): Promise<User> {
    try {
      return await this.db.user.update({ where: { id }, data: { disabledAt }, select: publicFields });
    } catch (error) {
      mapPrismaError(error, { notFound: 'No such user.' });
    }
  }
}
