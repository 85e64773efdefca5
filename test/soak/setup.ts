import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/env.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/infra/logger.js';
import { totpCode } from '../support/mfa-fakes.js';
import { LogoutReceiver } from '../support/logout-receiver.js';
import { connectRelyingParty, type RelyingParty } from '../support/relying-party.js';
import type { SoakDatabase } from './database.js';

export const TOTP_STEP_MS = 30_000;

/** A relying application of the soak: its client, and (when it takes back-channel logout) its receiver. */
export interface SoakApp {
  readonly name: string;
  readonly clientId: string;
  readonly rp: RelyingParty;
  readonly receiver: LogoutReceiver | undefined;
  readonly sessionRequired: boolean;
  readonly alg: 'RS256' | 'ES256';
}

export interface SoakUser {
  readonly id: string;
  readonly email: string;
  password: string;
  /** The authenticator app's secret, for a user with a second factor. */
  totpSecret: string | undefined;
  /** The last TOTP step a code was used for (a code is accepted once). */
  lastStep: number;
}

const stepOf = (ms: number) => Math.floor(ms / TOTP_STEP_MS);

/**
 * A code the server accepts (it takes one step either side of its now) and that was not used yet; undefined if none.
 * Never the previous step's: the server's now may have moved on a step by the time it checks the code.
 */
export function nextTotpCode(user: SoakUser, now = Date.now()): string | undefined {
  const step = Math.max(user.lastStep + 1, stepOf(now));
  if (step > stepOf(now) + 1 || !user.totpSecret) return undefined;
  user.lastStep = step;
  return totpCode(user.totpSecret, step * TOTP_STEP_MS);
}

export const newPassword = () => `soak ${randomBytes(12).toString('base64url')} horse`;

/** The users one traffic worker owns (nobody else touches them, so its journeys know every session they have). */
export interface WorkerUsers {
  readonly plain: SoakUser;
  readonly totp: SoakUser;
  /** Signs in and walks away: its sessions end by the idle timeout. */
  readonly idle: SoakUser;
  /** Signs in more often than the session limit allows, then has every session revoked at once (the burst). */
  readonly crowd: SoakUser;
  /** Has an authenticator app that an administrator resets (a lost phone), then sets up a new one. */
  readonly lostPhone: SoakUser;
}

export interface SoakFixture {
  readonly apps: readonly SoakApp[];
  readonly workers: readonly WorkerUsers[];
  /** Keeps one session active until its absolute lifetime ends it (no traffic loop touches this user). */
  readonly steady: SoakUser;
  /** A confidential client with client_credentials only (a service calling an API). */
  readonly service: { readonly clientId: string; readonly secret: string };
  /** Gatehouse's services on the soak database (no worker runs in it): for the admin client and re-enrolments. */
  readonly container: Container;
}

/**
 * Sets up the user's authenticator app (a new secret: after a reset too) with Gatehouse's own service. Activated with
 * the previous step's code, so that the codes of this step and the next are usable for sign-in at once.
 */
export async function enrolTotp(container: Container, user: SoakUser): Promise<void> {
  const { secret } = await container.mfa.startEnrolment(user.id, user.email);
  const previous = stepOf(Date.now()) - 1;
  await container.mfa.activate(user.id, totpCode(secret, previous * TOTP_STEP_MS));
  user.totpSecret = secret;
  user.lastStep = previous;
}

const APPS: readonly { name: string; backchannel: boolean; sessionRequired: boolean; alg: SoakApp['alg'] }[] = [
  { name: 'notes', backchannel: true, sessionRequired: true, alg: 'RS256' },
  { name: 'calendar', backchannel: true, sessionRequired: true, alg: 'ES256' },
  { name: 'mail', backchannel: true, sessionRequired: false, alg: 'RS256' },
  { name: 'wiki', backchannel: false, sessionRequired: true, alg: 'RS256' },
];

/**
 * Everything the traffic needs, made with Gatehouse's own services on the soak database (as the tests do): the
 * applications with a receiver each, users with and without an authenticator app, a service client. The container
 * stays open for the admin client the caller creates and for closing at the end; it runs no worker.
 */
export async function createFixture(options: { database: SoakDatabase; secret: string; issuer: string; workers: number }): Promise<SoakFixture> {
  const config = loadConfig({ NODE_ENV: 'test', ISSUER: options.issuer, DATABASE_URL: options.database.url, DATA_DIR: options.database.dir, GATEHOUSE_SECRET: options.secret, LOG_LEVEL: 'warn' });
  const container = await createContainer(config, { logger: createLogger('warn', new Writable({ write: (_c, _e, done) => done() })), ensureInternalClients: false });
  const apps: SoakApp[] = [];
  for (const spec of APPS) {
    const receiver = spec.backchannel ? await new LogoutReceiver().up() : undefined;
    const redirectUri = `http://127.0.0.1:9/${spec.name}/callback`;
    const created = await container.clients.create({
      name: spec.name, redirectUris: [redirectUri], firstParty: true, idTokenSignedResponseAlg: spec.alg,
      ...(receiver ? { backchannelLogoutUri: receiver.uri, backchannelLogoutSessionRequired: spec.sessionRequired } : { backchannelLogoutSessionRequired: spec.sessionRequired }),
    });
    apps.push({ name: spec.name, clientId: created.client.clientId, receiver, sessionRequired: spec.sessionRequired, alg: spec.alg, rp: await connectRelyingParty({ issuer: options.issuer }, { clientId: created.client.clientId, secret: created.secret!, redirectUri }) });
  }
  const service = await container.clients.create({ name: 'reports service', grantTypes: ['client_credentials'], scope: 'openid' });

  const user = async (label: string, totp: boolean): Promise<SoakUser> => {
    const email = `${label}-${randomBytes(4).toString('hex')}@soak.example.com`;
    const password = newPassword();
    const created = await container.accounts.createUser({ email, password });
    const soakUser: SoakUser = { id: created.id, email, password, totpSecret: undefined, lastStep: 0 };
    if (totp) await enrolTotp(container, soakUser);
    return soakUser;
  };
  const workers: WorkerUsers[] = [];
  for (let i = 0; i < options.workers; i += 1) {
    workers.push({
      plain: await user(`plain${i}`, false), totp: await user(`totp${i}`, true), idle: await user(`idle${i}`, false), crowd: await user(`crowd${i}`, false),
      lostPhone: await user(`lostphone${i}`, true),
    });
  }
  return { apps, workers, steady: await user('steady', false), service: { clientId: service.client.clientId, secret: service.secret! }, container };
}
