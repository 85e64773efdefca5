import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Source runs from src/ (tests) and compiled code from dist/src/: find the package root either way.
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'prisma'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('Gatehouse package root not found');
    dir = parent;
  }
  return dir;
}

export const packageRoot = findPackageRoot();
export const viewsDir = join(packageRoot, 'views');
export const publicDir = join(packageRoot, 'public');
export const migrationsDir = (provider: 'sqlite' | 'postgresql') => join(packageRoot, 'prisma', provider, 'migrations');
