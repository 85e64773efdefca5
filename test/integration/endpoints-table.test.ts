import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGatehouse, type TestGatehouse } from '../support/gatehouse.js';

const METRICS_TOKEN = 'endpoints-table-metrics-token-0123456789';

/** The rows of the first Markdown table after a heading, as cells (backticks kept). */
function tableAfter(markdown: string, heading: string): string[][] {
  const section = markdown.slice(markdown.indexOf(`\n${heading}\n`));
  const lines = section.split('\n').slice(1);
  const start = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

const quoted = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** A concrete path for a documented one: placeholders filled with ids that exist nowhere, the query dropped. */
function concrete(path: string): string {
  return path.replace(/\?.*$/, '').replace(/<[a-z]+>|:[a-zA-Z]+/g, 'no-such-id-4711');
}

interface Documented {
  readonly method: string;
  readonly path: string;
}

const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');

/** The Endpoints table: every path of a row with every method of the row ("..." rows are other tables). */
function endpointsTable(): Documented[] {
  return tableAfter(readme, '## Endpoints').flatMap(([paths, methods]) =>
    quoted(paths!)
      .filter((path) => !path.includes('...'))
      .flatMap((path) => methods!.split(',').map((method) => ({ method: method.trim(), path }))),
  );
}

/** The admin API's table: `METHOD /path` (with `, /more` paths relative to the first one's parent). */
function adminApiTable(): Documented[] {
  return tableAfter(readme, '## Admin API').flatMap(([request]) => {
    const [first, ...more] = quoted(request!);
    const [method, path] = first!.split(' ') as [string, string];
    const parent = path.slice(0, path.lastIndexOf('/'));
    return [{ method, path }, ...more.map((tail) => ({ method, path: parent + tail }))];
  });
}

describe('the README tables of endpoints', () => {
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    gatehouse = await startTestGatehouse('sqlite', { env: { METRICS_TOKEN } });
  });

  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('lists the endpoints, each with the methods it has', () => {
    const documented = endpointsTable();
    expect(documented).toEqual(expect.arrayContaining([
      { method: 'GET', path: '/auth' },
      { method: 'GET', path: '/session/end' },
      { method: 'POST', path: '/token' },
      { method: 'GET', path: '/healthz' },
    ]));
    expect(documented.length).toBeGreaterThan(30);
    expect(adminApiTable()).toEqual(expect.arrayContaining([{ method: 'POST', path: '/admin/api/users/:id/reset-mfa' }, { method: 'PATCH', path: '/admin/api/clients/:clientId' }]));
  });

  it.each([...endpointsTable(), ...adminApiTable()].map((e) => [e.method, e.path] as const))(
    '%s %s answers (neither 404 nor 405)',
    async (method, path) => {
      const response = await fetch(`${gatehouse.issuer}${concrete(path)}`, {
        method,
        redirect: 'manual',
        headers: {
          accept: 'text/html',
          ...(path === '/metrics' ? { authorization: `Bearer ${METRICS_TOKEN}` } : {}),
          ...(method === 'GET' ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        ...(method === 'GET' ? {} : { body: '' }),
      });
      await response.arrayBuffer();
      expect([404, 405]).not.toContain(response.status);
    },
  );

  it('finds a method the table does not list refused (the check can fail)', async () => {
    for (const [method, path] of [['POST', '/auth'], ['POST', '/session/end'], ['POST', '/account']] as const) {
      const response = await fetch(`${gatehouse.issuer}${path}`, { method, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
      await response.arrayBuffer();
      expect([404, 405]).toContain(response.status);
    }
  });
});
