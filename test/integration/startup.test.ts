import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/config/paths.js';

// The real entry point (dist/src/main.js, what `npm start` runs) as a child process.

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number>;
}

function run(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [join(packageRoot, 'dist/src/main.js')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(check: () => boolean, what: string, started: Started): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    if (check()) return;
    if (started.child.exitCode !== null) throw new Error(`exited before ${what}: ${started.stderr()} ${started.stdout()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}: ${started.stdout()}`);
}

describe('starting Gatehouse', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-start-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the data directory, database, secret and keys on first start and reuses them on the second', async () => {
    const port = await freePort();
    const dataDir = join(dir, 'data');
    const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' };

    const first = run(env);
    await waitFor(() => first.stdout().includes('Next steps'), 'the start banner', first);
    expect(first.stdout()).toContain(`Gatehouse is running at http://localhost:${port}`);
    expect(first.stdout()).toContain(`http://localhost:${port}/.well-known/openid-configuration`);
    expect(first.stdout()).toContain('development secret was generated');
    expect(existsSync(join(dataDir, 'gatehouse.db'))).toBe(true);
    expect(statSync(join(dataDir, 'secret')).mode & 0o777).toBe(0o600);
    const secret = readFileSync(join(dataDir, 'secret'), 'utf8');

    const discovery = await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json() as { issuer: string };
    expect(discovery.issuer).toBe(`http://localhost:${port}`);
    const jwks = await (await fetch(`http://127.0.0.1:${port}/jwks`)).json() as { keys: { kid: string; alg: string; d?: string }[] };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = run(env);
    await waitFor(() => second.stdout().includes('Next steps'), 'the second start banner', second);
    expect(second.stdout()).not.toContain('development secret was generated');
    expect(second.stdout()).not.toContain('Signing keys (ES256, RS256) were generated');
    const again = await (await fetch(`http://127.0.0.1:${port}/jwks`)).json() as { keys: { kid: string }[] };
    expect(again.keys.map((k) => k.kid).sort()).toEqual(jwks.keys.map((k) => k.kid).sort());
    expect(readFileSync(join(dataDir, 'secret'), 'utf8')).toBe(secret);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  describe('file permissions', () => {
    const modeOf = (path: string) => statSync(path).mode & 0o777;
    const databaseFiles = (dataDir: string) => ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm', 'secret'].map((name) => join(dataDir, name));

    async function startAndStop(env: Record<string, string>, whileRunning: (started: Started) => Promise<void> | void = () => undefined) {
      const started = run(env);
      await waitFor(() => started.stdout().includes('Next steps'), 'the start banner', started);
      await whileRunning(started);
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
      return started;
    }

    it('creates the data directory 0700 and the database, its -wal and -shm and the secret 0600', async () => {
      const port = await freePort();
      const dataDir = join(dir, 'data');
      await startAndStop({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' }, async () => {
        // A write while it runs (the keys were written at start; a discovery read opens nothing): WAL files exist.
        await fetch(`http://127.0.0.1:${port}/jwks`);
        expect(modeOf(dataDir)).toBe(0o700);
        for (const file of databaseFiles(dataDir)) expect([file, modeOf(file)]).toEqual([file, 0o600]);
      });
    });

    it('makes the files of an older version (0644 in a 0755 directory) private, and says so in the log once', async () => {
      const port = await freePort();
      const dataDir = join(dir, 'data');
      const env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' };
      await startAndStop(env);
      // As Gatehouse left them before: the database and its WAL files world-readable, in a world-readable directory.
      writeFileSync(join(dataDir, 'gatehouse.db-wal'), '', { flag: 'a' });
      writeFileSync(join(dataDir, 'gatehouse.db-shm'), '', { flag: 'a' });
      for (const file of databaseFiles(dataDir).slice(0, 3)) chmodSync(file, 0o644);
      chmodSync(dataDir, 0o755);

      const second = await startAndStop(env, () => {
        expect(modeOf(dataDir)).toBe(0o700);
        for (const file of databaseFiles(dataDir)) expect([file, modeOf(file)]).toEqual([file, 0o600]);
      });
      const warnings = second.stdout().split('\n').filter((line) => line.includes('made private to this user'));
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn', paths: expect.arrayContaining([join(dataDir, 'gatehouse.db'), join(dataDir, 'gatehouse.db-wal'), dataDir]) });
      const third = await startAndStop(env);
      expect(third.stdout()).not.toContain('made private to this user');
    });

    it('leaves a directory that holds other files than Gatehouse\'s alone, but still makes the database private', async () => {
      const project = join(dir, 'project');
      mkdirSync(project, { mode: 0o755 });
      chmodSync(project, 0o755);
      writeFileSync(join(project, 'notes.txt'), 'not ours');
      const port = await freePort();
      await startAndStop({ DATA_DIR: project, DATABASE_URL: `file:${join(project, 'gatehouse.db')}`, PORT: String(port), HOST: '127.0.0.1' });
      expect(modeOf(project)).toBe(0o755);
      expect(modeOf(join(project, 'gatehouse.db'))).toBe(0o600);
    });

    it('creates them private from the CLI too, before any server ran', () => {
      const dataDir = join(dir, 'cli-data');
      execFileSync(process.execPath, [join(packageRoot, 'bin/gatehouse.js'), 'users', 'list'], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir }, stdio: 'pipe' });
      expect(modeOf(dataDir)).toBe(0o700);
      for (const file of databaseFiles(dataDir)) if (existsSync(file)) expect([file, modeOf(file)]).toEqual([file, 0o600]);
      expect(modeOf(join(dataDir, 'gatehouse.db'))).toBe(0o600);
    });
  });

  it('refuses to start with a secret that did not set up the database', async () => {
    const port = await freePort();
    const env = { DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1' };
    const first = run({ ...env, GATEHOUSE_SECRET: 'a'.repeat(40) });
    await waitFor(() => first.stdout().includes('Next steps'), 'the start banner', first);
    first.child.kill('SIGTERM');
    await first.exited;

    const second = run({ ...env, GATEHOUSE_SECRET: 'b'.repeat(40) });
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain('GATEHOUSE_SECRET is not the secret this database was set up with');
    expect(second.stderr()).not.toMatch(/\n\s+at /);
  });

  it.each([
    [{ NODE_ENV: 'production' }, /^gatehouse: configuration error: GATEHOUSE_SECRET: is required in production/],
    [{ NODE_ENV: 'production', GATEHOUSE_SECRET: 'x'.repeat(40), ISSUER: 'http://id.example.com' }, /ISSUER: must use https in production/],
    [{ PORT: 'eighty' }, /PORT: must be a port number/],
    [{ ISSUER: 'not a url' }, /ISSUER: must be an absolute URL/],
    [{ DATABASE_URL: 'mysql://localhost/db' }, /DATABASE_URL: must start with file:/],
    [{ GATEHOUSE_SECRET: 'short' }, /GATEHOUSE_SECRET: must be at least 32 characters/],
    [{ ACCESS_TOKEN_TTL: '-5' }, /ACCESS_TOKEN_TTL: must be greater than 0/],
  ])('stops with a message naming the variable for %j', async (env, message) => {
    const started = run({ DATA_DIR: dir, ...env });
    expect(await started.exited).toBe(2);
    expect(started.stderr().trim()).toMatch(message);
    expect(started.stderr()).not.toMatch(/\n\s+at /);
    // Nothing was created for a configuration that was refused.
    expect(existsSync(join(dir, 'gatehouse.db'))).toBe(false);
  });

  it('starts in production with an https issuer and a configured secret, printing no development banner', async () => {
    const port = await freePort();
    const started = run({ NODE_ENV: 'production', GATEHOUSE_SECRET: 'p'.repeat(48), ISSUER: 'https://id.example.com', DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1' });
    await waitFor(() => started.stdout().includes('gatehouse listening'), 'the listening log line', started);
    expect(started.stdout()).not.toContain('Next steps');
    for (const line of started.stdout().trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(existsSync(join(dir, 'secret'))).toBe(false);
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });
});
