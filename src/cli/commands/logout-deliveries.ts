import { CLI_ADMIN } from '../../domain/accounts/account-service.js';
import { checkDeliveryId, parseDeliveryQuery } from '../../domain/logout/delivery-query.js';
import { DELIVERY_LIST_DEFAULT, type LogoutNotification } from '../../domain/logout/logout-notification.js';
import { logoutDeliveryJson } from '../../http/admin-json.js';
import { type Command, parse, printJson } from '../context.js';
import { table } from '../output.js';

function row(n: LogoutNotification): string[] {
  const when = n.state === 'delivered' ? n.deliveredAt : n.state === 'failed' ? n.failedAt : n.nextAttemptAt;
  return [n.id, n.state, n.clientId, n.sessionId, n.reason, String(n.attempts), when?.toISOString() ?? '-', n.lastError ?? '-'];
}

const list: Command = async (ctx) => {
  const { values } = parse(
    ctx.args,
    { session: { type: 'string' }, client: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' } },
    { min: 0, max: 0, usage: 'logout-deliveries list [--session ID] [--client ID] [--state pending|delivered|failed] [--limit N]' },
  );
  const query = parseDeliveryQuery(values, DELIVERY_LIST_DEFAULT);
  const deliveries = await (await ctx.container()).logoutDeliveries.list(query);
  if (values.json) return printJson(ctx.io, deliveries.map(logoutDeliveryJson));
  if (deliveries.length === 0) return ctx.io.stdout('No logout deliveries match.\n');
  ctx.io.stdout(table([['ID', 'STATE', 'CLIENT', 'SESSION', 'REASON', 'ATTEMPTS', 'DUE/DONE AT', 'LAST ERROR'], ...deliveries.map(row)]) + '\n');
};

const retry: Command = async (ctx) => {
  const { values, positionals } = parse(ctx.args, {}, { min: 1, max: 1, usage: 'logout-deliveries retry ID' });
  const requeued = await (await ctx.container()).logoutDeliveries.retry(checkDeliveryId(positionals[0]!), CLI_ADMIN);
  if (values.json) return printJson(ctx.io, logoutDeliveryJson(requeued));
  ctx.io.stdout(`Logout delivery ${requeued.id} to ${requeued.clientId} is due now; the running server sends it.\n`);
};

export const logoutDeliveryCommands: Record<string, Command> = { list, retry };
