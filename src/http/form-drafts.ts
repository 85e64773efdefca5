import type { Context } from 'koa';

// What a form post typed, kept across a detour ("Confirm it is you") so the form can show it again instead of empty.
// One draft per browser, in a signed HttpOnly cookie scoped to the pages' prefix, bound to the SSO session and to the
// page it is for, taken (and removed) by the first visit of that page. Never passwords or CSRF tokens: they are left
// out when the draft is made. A draft too large for a cookie is not kept (the form then starts from its saved values).

export type DraftValues = Record<string, string | string[]>;

export interface FormDrafts {
  /** Keeps the posted form's values (all but passwords and the CSRF token) for `page` in this session. */
  keep(ctx: Context, sessionUid: string, page: string): void;
  /** The values kept for `page` in this session, once; undefined when there are none. */
  take(ctx: Context, sessionUid: string, page: string): DraftValues | undefined;
}

interface StoredDraft {
  readonly session: string;
  readonly page: string;
  readonly values: DraftValues;
}

// Below the 4 KB browsers keep per cookie, with room for the name, the signature cookie and the attributes.
const MAX_ENCODED = 3000;
const LEFT_OUT = /password|^csrf$/i;

function posted(ctx: Context): DraftValues {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const values: DraftValues = {};
  for (const [name, value] of Object.entries(body)) {
    if (LEFT_OUT.test(name)) continue;
    if (typeof value === 'string') values[name] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) values[name] = value as string[];
  }
  return values;
}

function isDraft(value: unknown): value is StoredDraft {
  if (typeof value !== 'object' || value === null) return false;
  const draft = value as Partial<StoredDraft>;
  if (typeof draft.session !== 'string' || typeof draft.page !== 'string' || typeof draft.values !== 'object' || draft.values === null) return false;
  return Object.values(draft.values).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')));
}

export function createFormDrafts(options: { readonly prefix: string; readonly secure: boolean; readonly maxAgeSeconds: number }): FormDrafts {
  const cookieName = `gatehouse_${options.prefix.replace(/^\//, '')}_draft`;
  const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, secure: options.secure, path: options.prefix, signed: true, overwrite: true };

  return {
    keep(ctx, sessionUid, page) {
      const encoded = Buffer.from(JSON.stringify({ session: sessionUid, page, values: posted(ctx) } satisfies StoredDraft)).toString('base64url');
      if (encoded.length > MAX_ENCODED) return;
      ctx.cookies.set(cookieName, encoded, { ...cookieOptions, maxAge: options.maxAgeSeconds * 1000 });
    },

    take(ctx, sessionUid, page) {
      const raw = ctx.cookies.get(cookieName, { signed: true });
      if (!raw) return undefined;
      let draft: unknown;
      try {
        draft = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
      } catch {
        draft = undefined;
      }
      if (!isDraft(draft) || draft.session !== sessionUid) {
        ctx.cookies.set(cookieName, null, cookieOptions);
        return undefined;
      }
      // A draft for another page waits for that page (until it expires).
      if (draft.page !== page) return undefined;
      ctx.cookies.set(cookieName, null, cookieOptions);
      return draft.values;
    },
  };
}
