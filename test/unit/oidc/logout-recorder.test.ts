import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

// endSessionsAtProviderLogout ends Gatehouse's session record inside oidc-provider's Session#destroy, on the ground
// that only a confirmed logout destroys a Session. An oidc-provider upgrade that destroys Sessions elsewhere too (and
// would end Gatehouse sessions there unseen) fails this test, to be looked at.
const lib = join(dirname(createRequire(import.meta.url).resolve('oidc-provider/package.json')), 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.js') ? [join(dir, entry.name)] : [],
  );
}

describe('oidc-provider destroys a Session only at a confirmed logout', () => {
  it('has one caller of Session#destroy, the end_session action', () => {
    const callers = sources(lib).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) => (/\bsession\.destroy\(/.test(line) ? [`${relative(lib, file)}:${index + 1}`] : [])),
    );
    expect(callers).toHaveLength(1);
    expect(callers[0]).toMatch(/^actions\/end_session\.js:\d+$/);
  });
});
