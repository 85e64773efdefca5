import { CLI_ADMIN } from '../../domain/accounts/account-service.js';
import type { SsoSession } from '../../domain/sessions/session.js';
import { sessionJson } from '../../http/admin-json.js';
import { type Command, parse, printJson, requireString } from '../context.js';
import { table } from '../output.js';

function sessionRow(session: SsoSession): string[] {
  return [
    session.id,
    session.deviceLabel,
    session.ipLastSeen ?? '-',
    session.createdAt.toISOString(),
    session.lastSeenAt.toISOString(),
    session.amr.join(',') || '-',
    session.clients.length ? session.clients.map((c) => c.clientId).join(',') : '-',
  ];
}

const list: Command = async (ctx) => {
  const { values } = parse(ctx.args, { user: { type: 'string' } }, { min: 0, max: 0, usage: 'sessions list --user EMAIL' });
  const who = requireString(values.user, 'user');
  const { accounts, sessions } = await ctx.container();
  const user = await accounts.getByIdOrEmail(who);
  const live = await sessions.listLive(user.id);
  if (values.json) return printJson(ctx.io, { user_id: user.id, email: user.email, sessions: live.map(sessionJson) });
  if (live.length === 0) return ctx.io.stdout(`${user.email} has no live sessions.\n`);
  ctx.io.stdout(table([['SESSION', 'DEVICE', 'IP', 'CREATED', 'LAST SEEN', 'AMR', 'CLIENTS'], ...live.map(sessionRow)]) + '\n');
};

const revoke: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: 'sessions revoke SESSION_ID' });
  const id = positionals[0]!;
  const { sessions } = await ctx.container();
  const ended = await sessions.revokeByAdmin(id, CLI_ADMIN);
  if (values.json) return printJson(ctx.io, { session_id: id, ended });
  ctx.io.stdout(ended ? `Ended session ${id}; its clients are told by back-channel logout.\n` : `Session ${id} had already ended.\n`);
};

const revokeAll: Command = async (ctx) => {
  const { values } = parse(ctx.args, { user: { type: 'string' } }, { min: 0, max: 0, usage: 'sessions revoke-all --user EMAIL' });
  const who = requireString(values.user, 'user');
  const { accounts, sessions } = await ctx.container();
  const user = await accounts.getByIdOrEmail(who);
  const ended = await sessions.endAllForUser(user.id, 'revoked_by_admin', CLI_ADMIN);
  if (values.json) return printJson(ctx.io, { user_id: user.id, email: user.email, ended });
  ctx.io.stdout(`Ended ${ended} session${ended === 1 ? '' : 's'} of ${user.email}.\n`);
};

export const sessionCommands: Record<string, Command> = { list, revoke, 'revoke-all': revokeAll };
