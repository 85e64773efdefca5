import { migrateDatabase } from '../../store/prisma/migrate.js';
import { type Command, parse, printJson } from '../context.js';
import { keyJson, table } from '../output.js';

const migrate: Command = async (ctx) => {
  const { values } = parse(ctx.args, {}, { min: 0, max: 0, usage: 'db migrate' });
  const result = await migrateDatabase({ provider: ctx.config.databaseProvider, url: ctx.config.databaseUrl });
  if (values.json) return printJson(ctx.io, { applied: result.applied, already_applied: result.alreadyApplied });
  ctx.io.stdout(result.applied.length ? `Applied ${result.applied.join(', ')}\n` : `Database is up to date (${result.alreadyApplied} migrations)\n`);
};

const rotateKeys: Command = async (ctx) => {
  const { values } = parse(ctx.args, {}, { min: 0, max: 0, usage: 'keys rotate' });
  const created = await (await ctx.container()).keys.rotate();
  if (values.json) return printJson(ctx.io, created.map(keyJson));
  ctx.io.stdout(created.map((k) => `New ${k.alg} signing key ${k.kid}`).join('\n') + '\n');
  ctx.io.stderr('Restart every Gatehouse process to sign with the new keys; the previous keys stay published for 7 days.\n');
};

const listKeys: Command = async (ctx) => {
  const { values } = parse(ctx.args, {}, { min: 0, max: 0, usage: 'keys list' });
  const keys = await (await ctx.container()).keys.list();
  if (values.json) return printJson(ctx.io, keys.map(keyJson));
  ctx.io.stdout(table([['KID', 'ALG', 'STATUS', 'CREATED'], ...keys.map((k) => [k.kid, k.alg, k.retiredAt ? `retired ${k.retiredAt.toISOString()}` : 'current', k.createdAt.toISOString()])]) + '\n');
};

export const dbCommands: Record<string, Command> = { migrate };
export const keyCommands: Record<string, Command> = { rotate: rotateKeys, list: listKeys };
