import { CLI_ADMIN } from '../../domain/accounts/account-service.js';
import type { ClientInput } from '../../domain/clients/client-service.js';
import { clientSettingFlags } from '../client-flags.js';
import { UsageError } from '../errors.js';
import { type Command, type CommandContext, parse, printJson, requireString } from '../context.js';
import { clientJson, clientText, clientType, table } from '../output.js';


type SettingValues = ReturnType<typeof parse<typeof clientSettingFlags>>['values'];

// Client writes go through the AdminService, as the console's and the admin API's do: audited with the CLI as actor.

// An empty value clears an optional setting on update (--backchannel-logout-uri "", --min-acr "").
const optionalValue = (value: string | undefined) => (value === undefined ? undefined : value.trim() === '' ? null : value.trim());

function toInput(values: SettingValues): ClientInput {
  if (values.public && values.confidential) throw new UsageError('--public and --confidential cannot be combined');
  if (values['first-party'] && values['no-first-party']) throw new UsageError('--first-party and --no-first-party cannot be combined');
  if (values.admin && values['no-admin']) throw new UsageError('--admin and --no-admin cannot be combined');
  if (values['token-rate-limit'] && values['no-token-rate-limit']) throw new UsageError('--token-rate-limit and --no-token-rate-limit cannot be combined');
  if (values['backchannel-logout-session-required'] && values['no-backchannel-logout-session-required']) {
    throw new UsageError('--backchannel-logout-session-required and --no-backchannel-logout-session-required cannot be combined');
  }
  const input: Record<string, unknown> = {
    name: values.name,
    redirectUris: values['redirect-uri'],
    postLogoutRedirectUris: values['post-logout-redirect-uri'],
    backchannelLogoutUri: optionalValue(values['backchannel-logout-uri']),
    backchannelLogoutSessionRequired: values['backchannel-logout-session-required'] ? true : values['no-backchannel-logout-session-required'] ? false : undefined,
    grantTypes: values['grant-type']?.flatMap((g) => g.split(',')).map((g) => g.trim()).filter(Boolean),
    public: values.public ? true : values.confidential ? false : undefined,
    tokenEndpointAuthMethod: values['token-endpoint-auth-method'],
    jwksUri: optionalValue(values['jwks-uri']),
    firstParty: values['first-party'] ? true : values['no-first-party'] ? false : undefined,
    admin: values.admin ? true : values['no-admin'] ? false : undefined,
    scope: values.scope,
    idTokenSignedResponseAlg: values['id-token-signed-response-alg'],
    // --min-acr "" removes the minimum on update.
    minAcr: optionalValue(values['min-acr']),
    tokenRateLimited: values['token-rate-limit'] ? true : values['no-token-rate-limit'] ? false : undefined,
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as ClientInput;
}

function printSecret(ctx: CommandContext, secret: string | null): void {
  if (!secret) return;
  ctx.io.stdout(`client_secret:              ${secret}\n`);
  ctx.io.stderr('This secret is shown once and cannot be shown again. Store it now.\n');
}

const USAGE_SETTINGS = '[--redirect-uri U ...] [--post-logout-redirect-uri U ...] [--backchannel-logout-uri U] [--backchannel-logout-session-required|--no-backchannel-logout-session-required] [--grant-type G ...] [--public|--confidential] [--token-endpoint-auth-method M] [--jwks-uri U] [--first-party|--no-first-party] [--admin|--no-admin] [--scope S] [--id-token-signed-response-alg RS256|ES256] [--min-acr urn:gatehouse:loa:1|urn:gatehouse:loa:2] [--token-rate-limit|--no-token-rate-limit]';

const create: Command = async (ctx) => {
  const { values } = parse(ctx.args, clientSettingFlags, { min: 0, max: 0, usage: `clients create --name N ${USAGE_SETTINGS}` });
  requireString(values.name, 'name');
  if (values.confidential || values['no-first-party'] || values['no-admin']) throw new UsageError('--confidential, --no-first-party and --no-admin are for clients update');
  const { client, secret } = await (await ctx.container()).admin.createClient(toInput(values), CLI_ADMIN);
  if (values.json) return printJson(ctx.io, { ...clientJson(client), ...(secret ? { client_secret: secret } : {}) });
  ctx.io.stdout(clientText(client) + '\n');
  printSecret(ctx, secret);
};

const list: Command = async (ctx) => {
  const { values } = parse(ctx.args, {}, { min: 0, max: 0, usage: 'clients list' });
  const clients = await (await ctx.container()).clients.list();
  if (values.json) return printJson(ctx.io, clients.map(clientJson));
  if (clients.length === 0) return ctx.io.stdout('No clients yet. Register one with: gatehouse clients create --name N --redirect-uri U\n');
  ctx.io.stdout(table([['CLIENT_ID', 'NAME', 'TYPE', 'GRANT TYPES'], ...clients.map((c) => [c.clientId, c.name, clientType(c), c.grantTypes.join(',')])]) + '\n');
};

const show: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: 'clients show CLIENT_ID' });
  const client = await (await ctx.container()).clients.get(positionals[0]!);
  if (values.json) printJson(ctx.io, clientJson(client));
  else ctx.io.stdout(clientText(client) + '\n');
};

const update: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, clientSettingFlags, { min: 1, max: 1, usage: `clients update CLIENT_ID [--name N] ${USAGE_SETTINGS}` });
  const input = toInput(values);
  if (Object.keys(input).length === 0) throw new UsageError('nothing to update: give at least one setting flag');
  const { client, secret } = await (await ctx.container()).admin.updateClient(positionals[0]!, input, CLI_ADMIN);
  if (values.json) return printJson(ctx.io, { ...clientJson(client), ...(secret ? { client_secret: secret } : {}) });
  ctx.io.stdout(clientText(client) + '\n');
  printSecret(ctx, secret);
};

const rotateSecret: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: 'clients rotate-secret CLIENT_ID' });
  const { client, secret } = await (await ctx.container()).admin.rotateClientSecret(positionals[0]!, CLI_ADMIN);
  if (values.json) return printJson(ctx.io, { client_id: client.clientId, client_secret: secret });
  ctx.io.stdout(`client_id:                  ${client.clientId}\n`);
  printSecret(ctx, secret);
  ctx.io.stderr('The previous secret stopped working now.\n');
};

const remove: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: 'clients delete CLIENT_ID' });
  await (await ctx.container()).admin.deleteClient(positionals[0]!, CLI_ADMIN);
  if (values.json) printJson(ctx.io, { client_id: positionals[0], deleted: true });
  else ctx.io.stdout(`Deleted client ${positionals[0]}\n`);
};

export const clientCommands: Record<string, Command> = { create, list, show, update, 'rotate-secret': rotateSecret, delete: remove };
