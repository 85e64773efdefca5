import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/config/paths.js';
import type { TestGatehouse } from './gatehouse.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real `gatehouse` bin, as an operator runs it, against a running test server's database. */
export function runCli(gatehouse: TestGatehouse, secret: string, args: string[], stdin = '', env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(packageRoot, 'bin/gatehouse.js'), ...args],
      {
        env: { PATH: process.env.PATH, DATABASE_URL: gatehouse.database.url, DATA_DIR: gatehouse.database.dir, GATEHOUSE_SECRET: secret, ISSUER: gatehouse.issuer, ...env },
        timeout: 30_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin);
  });
}
