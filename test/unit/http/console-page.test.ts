import { ADMIN_RETURN_PATH, consolePageOf } from '../../../src/http/routes/admin-console.js';

describe('consolePageOf (where "Confirm it is you" returns to after a refused console write)', () => {
  it.each([
    ['/admin/clients', '/admin/clients/new'],
    ['/admin/clients/abc123', '/admin/clients/abc123/edit'],
    ['/admin/clients/abc123/rotate-secret', '/admin/clients/abc123'],
    ['/admin/clients/abc123/delete', '/admin/clients/abc123/delete'],
    ['/admin/users', '/admin/users/new'],
    ['/admin/users/u-1/disable', '/admin/users/u-1'],
    ['/admin/users/u-1/sessions/s-9/end', '/admin/users/u-1'],
    ['/admin/anything/else/entirely', '/admin'],
  ])('%s → %s', (write, page) => {
    expect(consolePageOf(write)).toBe(page);
    expect(ADMIN_RETURN_PATH.test(page)).toBe(true);
  });

  it('never accepts a path that leaves the console as a return path', () => {
    for (const path of ['//evil.example', '/admin/../account', '/admin/clients/x?y=1', 'https://evil.example/admin', '/admin/users/a/b/c']) {
      expect(ADMIN_RETURN_PATH.test(path)).toBe(false);
    }
  });
});
