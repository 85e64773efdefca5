import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/config/paths.js';
import type { TestDatabase } from './databases.js';

/** The built server (`node dist/src/main.js`, as `npm start` runs it) in a process of its own, which a test may kill. */
export interface ChildGatehouse {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The JSON log lines it has written so far. */
  logLines(): Record<string, unknown>[];
  /** Resolves with the first log line (already written or to come) that matches. */
  waitForLog(matches: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends the signal and resolves when the process has exited, with how it exited. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts Gatehouse from dist/ (the test run's global setup compiles it) on an ephemeral port, against an existing,
 * migrated database; resolves once it logs that it is listening. `issuer` is its ISSUER (another instance's, for
 * two instances of one deployment).
 */
export async function spawnGatehouse(options: { database: TestDatabase; secret: string; issuer: string; env?: Record<string, string> }): Promise<ChildGatehouse> {
  const child = spawn(process.execPath, [join(packageRoot, 'dist/src/main.js')], {
    cwd: options.database.dir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      ISSUER: options.issuer,
      DATABASE_URL: options.database.url,
      DATA_DIR: options.database.dir,
      GATEHOUSE_SECRET: options.secret,
      LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const line of complete) {
      // The development banner shares standard output with the JSON log.
      if (!line.startsWith('{')) continue;
      lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    for (const listener of [...listeners]) listener();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const waitForLog = (matches: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = lines.find(matches);
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`gatehouse (pid ${child.pid}) did not log the expected line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
      }, timeoutMs);
      const early = () => {
        done();
        reject(new Error(`gatehouse (pid ${child.pid}) exited; stderr: ${stderr.slice(-2000)}`));
      };
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', early);
      };
      listeners.add(check);
      child.once('exit', early);
      check();
    });

  const running: ChildGatehouse = {
    process: child,
    pid: child.pid!,
    logLines: () => [...lines],
    waitForLog,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  try {
    await waitForLog((line) => line.msg === 'gatehouse listening');
  } catch (error) {
    await running.kill('SIGKILL');
    throw error;
  }
  return running;
}
