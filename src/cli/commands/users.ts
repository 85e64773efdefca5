import { CLI_ADMIN } from '../../domain/accounts/account-service.js';
import { UsageError } from '../errors.js';
import { type Command, parse, printJson, readPasswordFromStdin, requireString } from '../context.js';
import { table, userJson, userStatus, userText } from '../output.js';

const create: Command = async (ctx) => {
  const { values } = parse(ctx.args, { email: { type: 'string' }, name: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, { min: 0, max: 0, usage: 'users create --email E --password-stdin [--name N]' });
  const email = requireString(values.email, 'email');
  if (!values['password-stdin']) throw new UsageError('--password-stdin is required (passwords are never taken as arguments)');
  const password = await readPasswordFromStdin(ctx.io.stdin);
  const user = await (await ctx.container()).accounts.createUser({ email, password, name: values.name ?? null }, CLI_ADMIN);
  if (values.json) printJson(ctx.io, userJson(user));
  else ctx.io.stdout(`Created user ${user.email} (${user.id})\n`);
};

const list: Command = async (ctx) => {
  const { values } = parse(ctx.args, {}, { min: 0, max: 0, usage: 'users list' });
  const users = await (await ctx.container()).accounts.list();
  if (values.json) return printJson(ctx.io, users.map(userJson));
  if (users.length === 0) return ctx.io.stdout('No users yet. Create one with: gatehouse users create --email E --password-stdin\n');
  ctx.io.stdout(table([['EMAIL', 'NAME', 'STATUS', 'ID'], ...users.map((u) => [u.email, u.name ?? '-', userStatus(u), u.id])]) + '\n');
};

const show: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: 'users show EMAIL' });
  const user = await (await ctx.container()).accounts.getByEmail(positionals[0]!);
  if (values.json) printJson(ctx.io, userJson(user));
  else ctx.io.stdout(userText(user) + '\n');
};

const setPassword: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, { 'password-stdin': { type: 'boolean' } }, { min: 1, max: 1, usage: 'users set-password EMAIL --password-stdin' });
  if (!values['password-stdin']) throw new UsageError('--password-stdin is required (passwords are never taken as arguments)');
  const password = await readPasswordFromStdin(ctx.io.stdin);
  const user = await (await ctx.container()).accounts.setPassword(positionals[0]!, password);
  if (values.json) printJson(ctx.io, userJson(user));
  else ctx.io.stdout(`Password changed for ${user.email}\n`);
};

const setDisabled = (disabled: boolean): Command => async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: `users ${disabled ? 'disable' : 'enable'} EMAIL` });
  const { accounts } = await ctx.container();
  const user = disabled ? await accounts.disable(positionals[0]!) : await accounts.enable(positionals[0]!);
  if (values.json) printJson(ctx.io, userJson(user));
  else ctx.io.stdout(`${user.email} is ${disabled ? 'disabled' : 'enabled'}\n`);
};

const setAdmin = (admin: boolean): Command => async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: `users ${admin ? 'grant-admin' : 'revoke-admin'} EMAIL` });
  const user = await (await ctx.container()).accounts.setAdmin(positionals[0]!, admin);
  if (values.json) printJson(ctx.io, userJson(user));
  else ctx.io.stdout(admin ? `${user.email} may use the admin console\n` : `${user.email} may no longer use the admin console\n`);
};

const resetMfa: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: 'users reset-mfa EMAIL' });
  const { accounts, mfa } = await ctx.container();
  const user = await accounts.getByEmail(positionals[0]!);
  const { sessionsEnded } = await mfa.reset(user.id, CLI_ADMIN);
  if (values.json) printJson(ctx.io, { ...userJson(user), mfa_enabled: false, sessions_ended: sessionsEnded });
  else ctx.io.stdout(`Second factor removed for ${user.email}; ${sessionsEnded} session(s) ended\n`);
};

export const userCommands: Record<string, Command> = {
  'reset-mfa': resetMfa,
  create,
  list,
  show,
  'set-password': setPassword,
  disable: setDisabled(true),
  enable: setDisabled(false),
  'grant-admin': setAdmin(true),
  'revoke-admin': setAdmin(false),
};
