import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditEvent } from '../../domain/audit/audit.js';
import { auditEventJson, parseIsoInstant } from '../../http/admin-json.js';
import { type Command, parse, printJson, requireString } from '../context.js';
import { UsageError } from '../errors.js';
import { table } from '../output.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d{1,6})([smhdw])$/;

/** --since: an ISO 8601 date or time, or a duration back from now (90m, 24h, 7d, 2w). */
export function parseSince(raw: string, now: Date): Date {
  const duration = DURATION.exec(raw);
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2]!]!);
  const at = parseIsoInstant(raw);
  if (!at) {
    throw new UsageError(`--since must be an ISO 8601 date or time (2026-01-31T12:00:00Z) or a duration such as 30m, 24h or 7d, not "${raw}"`);
  }
  return at;
}

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return AUDIT_DEFAULT_LIMIT;
  const limit = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= AUDIT_MAX_LIMIT)) throw new UsageError(`--limit must be a whole number from 1 to ${AUDIT_MAX_LIMIT}, not "${raw}"`);
  return limit;
}

function eventRow(event: AuditEvent): string[] {
  const details = event.details ? JSON.stringify(event.details) : '';
  return [event.at.toISOString(), event.type, `${event.actor.type}${event.actor.id ? `:${event.actor.id}` : ''}`, event.sessionId ?? '-', event.ip ?? '-', details.length > 80 ? `${details.slice(0, 77)}...` : details];
}

/** gatehouse audit --user E [--since ISO|DURATION] [--limit N]: a user's audit events, newest first. */
export const auditCommand: Command = async (ctx) => {
  const { values } = parse(ctx.args, { user: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } }, { min: 0, max: 0, usage: 'audit --user EMAIL [--since ISO|24h|7d] [--limit N]' });
  const who = requireString(values.user, 'user');
  // Both are checked before the database is opened; --since is resolved against the clock afterwards.
  if (values.since !== undefined) parseSince(values.since, new Date());
  const limit = parseLimit(values.limit);
  const { accounts, audit, clock } = await ctx.container();
  const since = values.since === undefined ? undefined : parseSince(values.since, clock.now());
  const user = await accounts.getByIdOrEmail(who);
  const events = await audit.list({ userId: user.id, ...(since ? { since } : {}), limit });
  if (values.json) return printJson(ctx.io, { user_id: user.id, email: user.email, events: events.map(auditEventJson) });
  if (events.length === 0) return ctx.io.stdout(`No audit events for ${user.email}${since ? ` since ${since.toISOString()}` : ''}.\n`);
  ctx.io.stdout(table([['AT', 'EVENT', 'ACTOR', 'SESSION', 'IP', 'DETAILS'], ...events.map(eventRow)]) + '\n');
};
