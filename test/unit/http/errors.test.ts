import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { InvalidCredentialsError, ReauthenticationRequiredError, SecretMismatchError, TooManyAttemptsError, ValidationError } from '../../../src/domain/errors.js';
import { errorHandler, errorText } from '../../../src/http/errors.js';
import { en, type Text } from '../../../src/http/text/en.js';
import { createViewRenderer } from '../../../src/http/views.js';
import { createLogger } from '../../../src/infra/logger.js';

describe('errorHandler (the one mapping of thrown errors to responses)', () => {
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    const app = new Koa();
    app.use(errorHandler({ renderView: createViewRenderer({ productName: 'Gatehouse', logoUrl: null, t: en, passwordRule: '' }, false), logger: createLogger('silent'), text: en }));
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

describe('errorText (what a page says of an error, in the pages\' language)', () => {
  // Another language: the page words a domain error by its reason, never by the English message.
  const other: Text = {
    ...en,
    errors: {
      ...en.errors,
      generic: 'Bei uns ist etwas schiefgegangen.',
      reasons: { ...en.errors.reasons, email_invalid: 'Gib eine gültige E-Mail-Adresse ein.', too_many_attempts: ({ minutes }) => `Zu viele Versuche; in ${minutes} Minuten wieder.` },
    },
  };

  it('words a domain error by its reason and its parameters', () => {
    expect(errorText(new ValidationError('Enter a valid email address.', { field: 'email', reason: { code: 'email_invalid' } }), other)).toBe('Gib eine gültige E-Mail-Adresse ein.');
    expect(errorText(new TooManyAttemptsError(61), other)).toBe('Zu viele Versuche; in 2 Minuten wieder.');
  });

  it('says in English what the domain\'s message says, so the English pages read as before', () => {
    for (const error of [
      new InvalidCredentialsError(),
      new TooManyAttemptsError(900),
      new ReauthenticationRequiredError(false),
      new ValidationError('The password must be at least 8 characters long.', { reason: { code: 'password_too_short', min: 8 } }),
      new ValidationError('No session with id s-1 for this user.', { reason: { code: 'session_not_found', id: 's-1', ofUser: true } }),
      new ValidationError('x is not one of a, b.', { reason: { code: 'not_one_of', value: 'x', allowed: ['a', 'b'] } }),
    ]) {
      expect(errorText(error, en)).toBe(error.message);
    }
  });

  it('shows the page text an HTTP-layer error carries, and the generic text for a failure on our side', () => {
    expect(errorText(new ValidationError(other.interaction.stepComplete), other)).toBe(other.interaction.stepComplete);
    expect(errorText(new SecretMismatchError('Encrypted data has an unknown format.'), other)).toBe(other.errors.generic);
    expect(errorText(new Error('boom'), other)).toBe(other.errors.generic);
    expect(errorText(new oidcErrors.SessionNotFound('interaction session id cookie not found'), en)).toBe(en.errors.interactionExpired);
  });
});
