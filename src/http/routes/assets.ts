import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import type { Config } from '../../config/env.js';
import { publicDir } from '../../config/paths.js';

const ASSETS: Record<string, string> = { 'style.css': 'text/css; charset=utf-8' };

/** A darker shade of a #rrggbb colour (hover states), by scaling each channel. */
export function darker(color: string, factor = 0.78): string {
  const channels = [1, 3, 5].map((i) => Math.round(parseInt(color.slice(i, i + 2), 16) * factor));
  return `#${channels.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The brand colour as a stylesheet of its own (/assets/brand.css), generated from the configuration: the strict CSP
 * allows no inline style, so the colour cannot be put into the pages themselves.
 */
export function brandStylesheet(brand: Pick<Config['brand'], 'primaryColor'>): string {
  const primary = brand.primaryColor;
  return `:root {\n  --brand: ${primary};\n  --brand-dark: ${darker(primary)};\n  --focus: ${primary}73;\n}\n`;
}

/** The few static files the pages use, read once and served with an ETag (cached for an hour: middleware/cache-policy.ts). */
export function createAssetsRouter(options: { brand: Pick<Config['brand'], 'primaryColor'> }): Router {
  const router = new Router();
  const files = [
    ...Object.entries(ASSETS).map(([name, type]) => ({ name, type, body: readFileSync(join(publicDir, name)) })),
    { name: 'brand.css', type: 'text/css; charset=utf-8', body: Buffer.from(brandStylesheet(options.brand)) },
  ].map((file) => ({ ...file, etag: `"${createHash('sha256').update(file.body).digest('base64url').slice(0, 16)}"` }));
  for (const file of files) {
    router.get(`/assets/${file.name}`, (ctx) => {
      ctx.set('ETag', file.etag);
      if (ctx.get('If-None-Match') === file.etag) {
        ctx.status = 304;
        return;
      }
      ctx.type = file.type;
      ctx.body = file.body;
    });
  }
  return router;
}
