import { ValidationError } from '../errors.js';
import { DELIVERY_LIST_MAX, DELIVERY_STATES, type DeliveryQuery, type DeliveryState } from './logout-notification.js';

const ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Checks the filters of a delivery listing as an admin gives them (CLI flags, admin API query parameters), with the
 * field names of the caller for messages; throws ValidationError.
 */
export function parseDeliveryQuery(raw: { session?: string; client?: string; state?: string; limit?: string }, limitDefault: number): DeliveryQuery {
  const id = (value: string | undefined, field: string) => {
    if (value === undefined) return undefined;
    if (!ID.test(value)) throw new ValidationError(`${field} must be an id (letters, digits, - and _).`, { field, reason: { code: 'filter_not_id', field } });
    return value;
  };
  if (raw.state !== undefined && !(DELIVERY_STATES as readonly string[]).includes(raw.state)) {
    throw new ValidationError(`state must be one of ${DELIVERY_STATES.join(', ')}.`, { field: 'state', reason: { code: 'filter_state', allowed: DELIVERY_STATES } });
  }
  let limit = limitDefault;
  if (raw.limit !== undefined) {
    limit = /^\d{1,7}$/.test(raw.limit) ? Number(raw.limit) : NaN;
    if (!(limit >= 1 && limit <= DELIVERY_LIST_MAX)) throw new ValidationError(`limit must be a whole number from 1 to ${DELIVERY_LIST_MAX}.`, { field: 'limit', reason: { code: 'filter_limit', max: DELIVERY_LIST_MAX } });
  }
  const sessionId = id(raw.session, 'session');
  const clientId = id(raw.client, 'client');
  return {
    ...(sessionId ? { sessionId } : {}),
    ...(clientId ? { clientId } : {}),
    ...(raw.state ? { state: raw.state as DeliveryState } : {}),
    limit,
  };
}

/** A delivery id as given by an admin (a UUID). */
export function checkDeliveryId(id: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new ValidationError('The delivery id is not valid.', { field: 'id', reason: { code: 'delivery_id_invalid' } });
  return id;
}
