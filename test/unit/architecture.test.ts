import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../src/config/paths.js';

// The layout is the architecture: these rules keep imports pointing inward.

const srcDir = join(packageRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'generated') return [];
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(srcDir).map((path) => ({
  path: relative(srcDir, path),
  imports: [...readFileSync(path, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!),
  text: readFileSync(path, 'utf8'),
}));

/** The text of a call's arguments, from just after its "(" to the matching ")". */
function argumentsAt(text: string, start: number): string {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(start, i);
  }
  return text.slice(start);
}

describe('architecture', () => {
  it('finds the source files', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('keeps the domain free of frameworks and outer layers', () => {
    const forbidden = /^(koa|@koa\/|oidc-provider|@prisma\/|prisma|argon2|otplib|pino|ejs|pg|better-sqlite3)|\/(store|http|oidc|infra|cli|config)\//;
    const offenders = files
      .filter((f) => f.path.startsWith('domain/'))
      .flatMap((f) => f.imports.filter((i) => forbidden.test(i)).map((i) => `${f.path} imports ${i}`));
    expect(offenders).toEqual([]);
  });

  it('keeps I/O out of the domain: of the node built-ins it uses node:crypto only (DNS, HTTP, files are ports)', () => {
    const offenders = files
      .filter((f) => f.path.startsWith('domain/'))
      .flatMap((f) => f.imports.filter((i) => i.startsWith('node:') && i !== 'node:crypto').map((i) => `${f.path} imports ${i}`));
    expect(offenders).toEqual([]);
    // Back-channel logout is a domain module like the others.
    expect(files.some((f) => f.path.startsWith('domain/logout/'))).toBe(true);
  });

  it('lets only src/store touch Prisma and the database drivers', () => {
    const offenders = files
      .filter((f) => !f.path.startsWith('store/'))
      .flatMap((f) => f.imports.filter((i) => /^(@prisma\/|pg$|better-sqlite3)|generated\//.test(i)).map((i) => `${f.path} imports ${i}`));
    expect(offenders).toEqual([]);
  });

  it('keeps the pages\' text (src/http/text) pure data, importing nothing', () => {
    const textFiles = files.filter((f) => f.path.startsWith('http/text/'));
    expect(textFiles.length).toBeGreaterThan(0);
    expect(textFiles.filter((f) => f.imports.length > 0).map((f) => f.path)).toEqual([]);
  });

  it('gives every error the domain, the store and src/oidc raise its reason, so a page can word it in its language', () => {
    // The errors whose constructor takes a message; the others (InvalidCredentialsError, ...) set their own reason.
    const raised = /new (ValidationError|ForbiddenError|NotFoundError|ConflictError)\(/g;
    const constructions = files
      .filter((f) => /^(domain|store|oidc)\//.test(f.path))
      .flatMap((f) => [...f.text.matchAll(raised)].map((m) => ({ path: f.path, args: argumentsAt(f.text, m.index! + m[0].length) })));
    expect(constructions.length).toBeGreaterThan(40);
    expect(constructions.filter((c) => !/\breason\b/.test(c.args)).map((c) => `${c.path}: ${c.args}`)).toEqual([]);
  });

  it('makes admin actors in one module only (one set of authorization rules for the admin console and API)', () => {
    const offenders = files.filter((f) => f.path !== 'http/admin-auth.ts' && /state\.adminActor\s*=/.test(f.text)).map((f) => f.path);
    expect(offenders).toEqual([]);
    const consoleAndApi = files.filter((f) => ['http/routes/admin-api.ts', 'http/routes/admin-console.ts'].includes(f.path));
    expect(consoleAndApi).toHaveLength(2);
    expect(consoleAndApi.every((f) => f.imports.includes('../admin-auth.js') && /AdminService/.test(f.text))).toBe(true);
    // Their write guards (CSRF, step-up) are applied there too, not by the routers themselves.
    expect(consoleAndApi.filter((f) => f.imports.some((i) => i.endsWith('/recent-authentication.js')) || /csrf\.verify\(/.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it('lets only src/config read the environment', () => {
    const offenders = files.filter((f) => !f.path.startsWith('config/') && /process\.env\b/.test(f.text.replace(/env: NodeJS\.ProcessEnv = process\.env/, ''))).map((f) => f.path);
    expect(offenders).toEqual([]);
  });
});
