import { Writable } from 'node:stream';
import { errors as oidcErrors } from 'oidc-provider';
import { UnavailableError, ValidationError } from '../../../src/domain/errors.js';
import { createLogger } from '../../../src/infra/logger.js';

const SECRET = 'pw-Zk4q9-correct-horse-secret';

function capture() {
  let raw = '';
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      raw += chunk.toString();
      callback();
    },
  });
  const logger = createLogger('debug', sink);
  return { logger, raw: () => raw, lines: () => raw.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** Errors that carry what was sent, as libraries and the engine build them. */
function errorsCarrying(secret: string): unknown[] {
  const parse = (() => {
    try {
      JSON.parse(`{"password":"${secret}"`);
    } catch (error) {
      return error;
    }
  })();
  // co-body's JSON error: the parse error with the raw body attached.
  const body = Object.assign(new SyntaxError(`Unexpected token in JSON at position 12: "${secret}"`), { status: 400, body: `{"password":"${secret}"` });
  const typeError = (() => {
    try {
      (secret as unknown as Record<string, unknown>).x = 1;
      'use strict';
      Object.defineProperty(secret, 'x', { value: 1 });
    } catch (error) {
      return error;
    }
  })();
  // A PostgreSQL constraint error as the driver adapter keeps it (the failing row in its detail).
  const prisma = Object.assign(new Error(`Invalid \`tx.oidcPayload.create()\` invocation: ${secret}`), {
    code: 'P2011',
    meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'postgres', code: '23502', detail: `Failing row contains (${secret}, AccessToken)` } } },
  });
  const domain = new ValidationError(`Unknown client setting ${secret}.`, { field: secret, debug: prisma });
  const provider = new oidcErrors.InvalidRequest(`parameter ${secret} is wrong`);
  const wrapped = new Error('outer', { cause: body });
  const headers = Object.assign(new Error('request failed'), { headers: { authorization: `Bearer ${secret}`, cookie: `gatehouse_session=${secret}` } });
  // A message of several lines that look like stack frames.
  const framed = new Error(`failed\n    at ${secret} (file.js:1:1)`);
  const named = { name: secret, error: secret.replace(/\W/g, ''), code: secret, message: secret };
  return [parse, body, typeError, prisma, domain, provider, wrapped, headers, framed, named];
}

describe('the logger (what an error may put in a log line)', () => {
  it('keeps no message, body, field, header or meta of an error, however carelessly it is logged', () => {
    const { logger, raw } = capture();
    for (const error of errorsCarrying(SECRET)) {
      logger.error({ err: error }, 'request failed');
      logger.error({ error }, 'request failed');
      if (error instanceof Error) logger.error(error);
      logger.warn({ err: { cause: error } }, 'wrapped');
    }
    for (const form of [SECRET, encodeURIComponent(SECRET), Buffer.from(SECRET).toString('base64')]) expect(raw()).not.toContain(form);
  });

  it('keeps what helps: the type, machine codes (EADDRINUSE, P1001, SQLSTATE), status, reason, stack frames and the cause', () => {
    const { logger, lines } = capture();
    const listen = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:3000'), { code: 'EADDRINUSE', errno: -98, syscall: 'listen', address: '127.0.0.1', port: 3000 });
    logger.fatal({ err: listen }, 'start-up failed');
    const driver = Object.assign(new Error("Can't reach database server at 127.0.0.1:5432"), { code: 'P1001', meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } } });
    logger.warn({ err: new UnavailableError({ debug: driver }) }, 'database unavailable');
    logger.info({ err: new oidcErrors.InvalidGrant('grant request is invalid') }, 'refused');
    const [start, outage, refused] = lines();
    expect(start!.err).toMatchObject({ type: 'Error', code: 'EADDRINUSE', message: 'listen EADDRINUSE: address already in use 127.0.0.1:3000' });
    expect(String((start!.err as { stack: string }).stack)).toMatch(/^\s+at .*logger\.test\.ts:\d+/);
    expect(String((start!.err as { stack: string }).stack)).not.toContain('EADDRINUSE');
    expect(outage!.err).toMatchObject({ type: 'UnavailableError', status: 503, reason: 'database_unavailable', cause: { type: 'Error', code: 'P1001' } });
    expect(outage!.err).not.toHaveProperty('message');
    expect(refused!.err).toMatchObject({ type: 'InvalidGrant', status: 400, error: 'invalid_grant' });
  });

  it('masks secret-named fields and request-shaped objects by path, but not an error\'s code', () => {
    const { logger, raw, lines } = capture();
    logger.info({ password: SECRET, client: { client_secret: SECRET }, headers: { authorization: SECRET }, body: { x: SECRET }, code: SECRET, query: { code: SECRET } }, 'careless');
    expect(raw()).not.toContain(SECRET);
    logger.error({ err: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }, 'redis connection error');
    expect(lines()[1]!.err).toMatchObject({ code: 'ECONNREFUSED' });
  });
});
