// Configuration for the Prisma CLI only (generate, migrate diff). It selects the JavaScript schema engine so the
// CLI never downloads a native engine. PRISMA_PROVIDER picks which generated schema the CLI works on.
import { defineConfig } from 'prisma/config';

const provider = process.env.PRISMA_PROVIDER === 'postgresql' ? 'postgresql' : 'sqlite';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: `prisma/${provider}/schema.prisma`,
  async adapter() {
    if (provider === 'postgresql') {
      const { PrismaPg } = await import('@prisma/adapter-pg');
      return new PrismaPg({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
    }
    const { PrismaBetterSQLite3 } = await import('@prisma/adapter-better-sqlite3');
    return new PrismaBetterSQLite3({ url: 'file::memory:' });
  },
});
