import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { ReauthenticationRequiredError, ValidationError } from '../../../src/domain/errors.js';
import { errorHandler } from '../../../src/http/errors.js';
import { en } from '../../../src/http/text/en.js';
import { createViewRenderer } from '../../../src/http/views.js';
import { createLogger } from '../../../src/infra/logger.js';

describe('errorHandler (the one mapping of thrown errors to responses)', () => {
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    const app = new Koa();
    app.use(errorHandler({ renderView: createViewRenderer({ productName: 'Gatehouse', logoUrl: null, t: en }, false), logger: createLogger('silent') }));
    app.use(async (ctx) => {
      if (ctx.path === '/account/sessions/end-all') ctx.state.returnTo = '/account/sessions';
      if (ctx.path === '/invalid') throw new ValidationError('That is not a valid request.');
      throw new ReauthenticationRequiredError(true);
    });
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const request = (path: string, accept: string) => fetch(`${origin}${path}`, { method: 'POST', headers: { accept }, redirect: 'manual' });

  it('sends a browser refused a sensitive action by a service to "Confirm it is you", and back to the page it names', async () => {
    const named = await request('/account/sessions/end-all', 'text/html');
    expect(named.status).toBe(303);
    expect(named.headers.get('location')).toBe('/account/confirm?return_to=%2Faccount%2Fsessions');
    const unnamed = await request('/account/password', 'text/html');
    expect(unnamed.headers.get('location')).toBe('/account/confirm?return_to=%2Faccount%2Fpassword');
  });

  it('answers an API client with 403 access_denied instead', async () => {
    const response = await request('/account/password', 'application/json');
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: 'access_denied', error_description: 'Confirm it is you first: this change needs a recent two-step verification.' });
  });

  it('renders other errors as before', async () => {
    const response = await request('/invalid', 'text/html');
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('That is not a valid request.');
  });
});
